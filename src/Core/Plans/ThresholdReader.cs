using Constellation.Core.Gate;
using Constellation.Core.Text;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>Reads <c>thresholds</c> lists (run level and per scenario), <c>baseline</c> and <c>validity</c>.</summary>
internal static class ThresholdReader
{
    /// <summary>
    /// Each entry is the threshold text, or a map <c>{ threshold: "...", abortOnFail: true, delayAbortEval: 10s }</c>
    /// as in k6. Every parse error is reported with the entry's path, line and the column in the text.
    /// </summary>
    public static List<Threshold> Read(YamlMap map, YamlErrors errors)
    {
        var result = new List<Threshold>();
        var seq = map.Sequence("thresholds");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var node = seq.Children[i];
            var path = $"{map.Child("thresholds")}[{i}]";
            string? text;
            bool abort = false;
            TimeSpan grace = TimeSpan.Zero;
            if (node is YamlScalarNode scalar)
            {
                text = scalar.Value;
            }
            else if (YamlMap.From(node, path, errors) is { } m)
            {
                text = m.String("threshold", required: true);
                abort = m.Bool("abortOnFail") ?? false;
                grace = m.Duration("delayAbortEval") ?? TimeSpan.Zero;
                if (grace < TimeSpan.Zero)
                {
                    errors.Add(m.Child("delayAbortEval"), $"must be >= 0, got {Durations.Format(grace)}", m.Get("delayAbortEval"));
                }

                m.RejectUnknown();
            }
            else
            {
                continue;
            }

            if (text is null)
            {
                continue;
            }

            if (ThresholdParser.TryParse(text, out var t, out var err))
            {
                result.Add(t! with { AbortOnFail = abort, AbortGrace = grace });
            }
            else
            {
                errors.Add(path, $"{err} in '{text}'", node);
            }
        }

        return result;
    }

    /// <summary>Checks what a single threshold cannot know: stage names, observed deployments and probes, a baseline for regressions.</summary>
    public static void Check(Plan plan, YamlErrors errors)
    {
        var observedDeployments = plan.Observe?.Kubernetes?.Workloads.Select(w => w.Deployment).ToHashSet(StringComparer.Ordinal) ?? [];
        var probed = plan.Observe?.Probes.Select(p => p.Target).ToHashSet(StringComparer.Ordinal) ?? [];
        var scenarioIndex = plan.Scenarios.Select((s, i) => (s.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        foreach (var (scope, t) in plan.AllThresholds)
        {
            var list = scope == "run" ? "thresholds" : $"scenarios[{scenarioIndex[scope]}].thresholds";
            var path = $"{list}: '{t.Text}'";
            if (t.Window.Kind == WindowKind.DuringStage && !GateEvaluator.StageNames(plan, scope).Contains(t.Window.Stage!))
            {
                var names = GateEvaluator.StageNames(plan, scope);
                errors.Add(path, $"no stage named \"{t.Window.Stage}\" in {(scope == "run" ? "any scenario" : $"scenario {scope}")} ({(names.Count == 0 ? "its stages have no names: add name: to a stage" : "stages: " + string.Join(", ", names))})");
            }

            if (t.Kind == ThresholdMetricKind.Scaling)
            {
                if (scope != "run")
                {
                    errors.Add(path, "scaling thresholds belong to the run: put them in the top-level thresholds list");
                }

                var parts = t.ScalingName!.Split('.');
                if (parts[0] == "scale" && !observedDeployments.Contains(parts[1]))
                {
                    errors.Add(path, $"'{parts[1]}' is not a deployment the observer watches (observe.kubernetes.workloads{(observedDeployments.Count == 0 ? " is empty" : ": " + string.Join(", ", observedDeployments))})");
                }
                else if (parts[0] == "nodes" && plan.Observe?.Kubernetes is null)
                {
                    errors.Add(path, "node metrics need the Kubernetes sampler (observe.kubernetes)");
                }
                else if (parts[0] == "control" && !probed.Contains(parts[1]))
                {
                    errors.Add(path, $"'{parts[1]}' is not a probed control app (observe.probes{(probed.Count == 0 ? " is empty" : ": " + string.Join(", ", probed))})");
                }
            }

            if (t.Regression && plan.Baseline is null)
            {
                errors.Add(path, "a regression threshold needs a baseline: set baseline: latest-passed, tag:NAME or a run id");
            }

            if (t.AbortOnFail && (t.Regression || t.Kind == ThresholdMetricKind.Scaling))
            {
                errors.Add(path, "abortOnFail works on load metrics while the run goes; scaling and regression thresholds are judged at the end");
            }
        }
    }

    public static string? ReadBaseline(YamlMap root, YamlErrors errors)
    {
        var text = root.String("baseline");
        if (text is null)
        {
            return null;
        }

        if (text.Length == 0 || text.Any(char.IsWhiteSpace) || (text.StartsWith("tag:", StringComparison.Ordinal) && text.Length == 4))
        {
            errors.Add("baseline", $"must be latest-passed, tag:NAME or a run id, got '{text}'", root.Get("baseline"));
        }

        return text;
    }

    public static ValiditySpec? ReadValidity(YamlMap root, YamlErrors errors)
    {
        if (!root.Has("validity"))
        {
            return null;
        }

        var v = YamlMap.From(root.Get("validity"), "validity", errors);
        if (v is null)
        {
            return null;
        }

        var gap = v.Duration("maxObserverGap") ?? TimeSpan.FromSeconds(60);
        if (gap < TimeSpan.Zero)
        {
            errors.Add(v.Child("maxObserverGap"), $"must be >= 0, got {Durations.Format(gap)}", v.Get("maxObserverGap"));
        }

        var saturated = v.Bool("generatorSaturatedIsInvalid") ?? true;
        v.RejectUnknown();
        return new ValiditySpec { MaxObserverGap = gap, GeneratorSaturatedIsInvalid = saturated };
    }
}
