using System.Globalization;
using Constellation.Core.Gate;
using Constellation.Core.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Constellation.Core.Plans;

/// <summary>
/// Writes a <see cref="Plan"/> as YAML through YamlDotNet's emitter — which quotes and escapes every value as YAML
/// needs, so no text is ever quoted by hand — with comment lines at the top. What it writes reads back to the same
/// plan (<see cref="PlanLoader.Parse"/>): the load's shape as it was given (a constant, stages or steps), defaults
/// left out.
/// </summary>
public static class PlanYamlWriter
{
    /// <param name="plan">The plan.</param>
    /// <param name="headerComments">Comment lines at the top of the file.</param>
    /// <param name="scenarioComments">Comment lines above a scenario, by the scenario's name (where it came from).</param>
    public static string Write(Plan plan, IEnumerable<string>? headerComments = null, IReadOnlyDictionary<string, IReadOnlyList<string>>? scenarioComments = null)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var e = new Emitter(text, new EmitterSettings(bestIndent: 2, bestWidth: 120, isCanonical: false, maxSimpleKeyLength: 1024));
        e.Emit(new StreamStart());
        e.Emit(new DocumentStart());
        Comments(e, headerComments);

        e.Emit(new MappingStart());
        Pair(e, "name", plan.Name);
        if (plan.Description is { } description)
        {
            Pair(e, "description", description);
        }

        Key(e, "targets");
        e.Emit(new MappingStart());
        foreach (var t in plan.Targets.Values)
        {
            Key(e, t.Name);
            WriteTarget(e, t);
        }

        e.Emit(new MappingEnd());
        if (plan.Observe is { } observe)
        {
            Key(e, "observe");
            WriteObserve(e, observe);
        }

        Key(e, "scenarios");
        e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
        foreach (var s in plan.Scenarios)
        {
            Comments(e, scenarioComments?.GetValueOrDefault(s.Name));
            WriteScenario(e, s);
        }

        e.Emit(new SequenceEnd());
        if (plan.Thresholds.Count > 0)
        {
            Key(e, "thresholds");
            WriteThresholds(e, plan.Thresholds);
        }

        if (plan.Baseline is { } baseline)
        {
            Pair(e, "baseline", baseline);
        }

        if (plan.Validity is { } validity)
        {
            Key(e, "validity");
            e.Emit(new MappingStart());
            Pair(e, "maxObserverGap", Durations.FormatExact(validity.MaxObserverGap));
            Pair(e, "generatorSaturatedIsInvalid", validity.GeneratorSaturatedIsInvalid);
            e.Emit(new MappingEnd());
        }

        e.Emit(new MappingEnd());
        e.Emit(new DocumentEnd(isImplicit: true));
        e.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void WriteTarget(IEmitter e, TargetSpec t)
    {
        e.Emit(new MappingStart());
        if (t.BaseUrl is { } url)
        {
            Pair(e, "baseUrl", url.OriginalString);
        }

        if (t.Launch is { } launch)
        {
            Key(e, "launch");
            e.Emit(new MappingStart());
            Pair(e, "role", launch.Role);
            if (launch.Env.Count > 0)
            {
                Key(e, "env");
                StringMap(e, launch.Env);
            }

            if (launch.ReadyTimeout != TimeSpan.FromSeconds(30))
            {
                Pair(e, "readyTimeout", Durations.FormatExact(launch.ReadyTimeout));
            }

            e.Emit(new MappingEnd());
        }

        if (t.InsecureSkipTlsVerify)
        {
            Pair(e, "insecureSkipTlsVerify", true);
        }

        e.Emit(new MappingEnd());
    }

    private static void WriteScenario(IEmitter e, ScenarioSpec s)
    {
        e.Emit(new MappingStart());
        Pair(e, "name", s.Name);
        Pair(e, "target", s.Target);
        if (s.Deployment is not null)
        {
            Pair(e, "deployment", s.Deployment);
        }
        if (s.StartAfter != TimeSpan.Zero)
        {
            Pair(e, "startAfter", Durations.FormatExact(s.StartAfter));
        }

        if (s.Sequence.Count == 1 && s.Sequence[0].Name is null)
        {
            if (!IsDefault(s.Request))
            {
                Key(e, "request");
                WriteRequest(e, s.Request);
            }
        }
        else
        {
            Key(e, "requests");
            e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
            foreach (var r in s.Sequence)
            {
                WriteRequest(e, r);
            }

            e.Emit(new SequenceEnd());
        }

        if (s.Cookies is { ClearEachIteration: false } plain)
        {
            Pair(e, "cookies", plain.Enabled);
        }
        else if (s.Cookies is { } cookies)
        {
            Key(e, "cookies");
            e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
            if (!cookies.Enabled)
            {
                Pair(e, "enabled", false);
            }

            Pair(e, "clearEachIteration", true);
            e.Emit(new MappingEnd());
        }

        if (s.Data is { } data)
        {
            Key(e, "data");
            e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
            Pair(e, "file", data.File);
            Pair(e, "bind", data.Bind.ToString().ToLowerInvariant());
            Pair(e, "order", data.Order.ToString().ToLowerInvariant());
            Pair(e, "atEnd", data.Recycle ? "recycle" : "stop");
            if (data.Columns.Count > 0)
            {
                Key(e, "columns");
                e.Emit(new SequenceStart(null, null, true, SequenceStyle.Flow));
                foreach (var c in data.Columns)
                {
                    Text(e, c);
                }

                e.Emit(new SequenceEnd());
            }

            if (data.SkipFirstLine)
            {
                Pair(e, "skipFirstLine", true);
            }

            e.Emit(new MappingEnd());
        }

        Key(e, "load");
        WriteLoad(e, s.Load);
        if (s.StopWhen.Count > 0)
        {
            Key(e, "stopWhen");
            e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
            foreach (var c in s.StopWhen)
            {
                Text(e, c.Text);
            }

            e.Emit(new SequenceEnd());
        }

        if (s.Thresholds.Count > 0)
        {
            Key(e, "thresholds");
            WriteThresholds(e, s.Thresholds);
        }

        e.Emit(new MappingEnd());
    }

    private static bool IsDefault(RequestSpec r) =>
        r.Method == "GET" && r.Path == "/" && r.Headers.Count == 0 && r.Body is null && r.Timeout == TimeSpan.FromSeconds(10) && r.Expect is null && r.Extract.Count == 0;

    private static void WriteRequest(IEmitter e, RequestSpec r)
    {
        e.Emit(new MappingStart());
        if (r.Name is { } name)
        {
            Pair(e, "name", name);
        }

        if (r.Method != "GET")
        {
            Pair(e, "method", r.Method);
        }

        Pair(e, "path", r.Path);
        if (r.Headers.Count > 0)
        {
            Key(e, "headers");
            StringMap(e, r.Headers);
        }

        if (r.Body is { } body)
        {
            Pair(e, "body", body);
        }

        if (r.Timeout != TimeSpan.FromSeconds(10))
        {
            Pair(e, "timeout", Durations.FormatExact(r.Timeout));
        }

        if (r.Expect is { } expect)
        {
            Key(e, "expect");
            e.Emit(new MappingStart());
            if (expect.Status.Count > 0)
            {
                Key(e, "status");
                e.Emit(new SequenceStart(null, null, true, SequenceStyle.Flow));
                foreach (var code in expect.Status)
                {
                    Number(e, code);
                }

                e.Emit(new SequenceEnd());
            }

            foreach (var (key, texts) in new[] { ("bodyContains", expect.BodyContains), ("bodyNotContains", expect.BodyNotContains) })
            {
                if (texts.Count > 0)
                {
                    Key(e, key);
                    e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
                    foreach (var t in texts)
                    {
                        Text(e, t);
                    }

                    e.Emit(new SequenceEnd());
                }
            }

            e.Emit(new MappingEnd());
        }

        if (r.Extract.Count > 0)
        {
            Key(e, "extract");
            e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
            foreach (var x in r.Extract)
            {
                e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(e, "name", x.Name);
                if (x.Kind == ExtractKind.Boundary)
                {
                    Key(e, "between");
                    e.Emit(new SequenceStart(null, null, true, SequenceStyle.Flow));
                    Text(e, x.Expression);
                    Text(e, x.Right ?? string.Empty);
                    e.Emit(new SequenceEnd());
                }
                else
                {
                    Pair(e, x.Kind.ToString().ToLowerInvariant(), x.Expression);
                }

                if (x.Kind == ExtractKind.Regex && x.Group != 1)
                {
                    Pair(e, "group", x.Group);
                }

                if (x.Default is { } d)
                {
                    Pair(e, "default", d);
                }

                e.Emit(new MappingEnd());
            }

            e.Emit(new SequenceEnd());
        }

        e.Emit(new MappingEnd());
    }

    private static void WriteLoad(IEmitter e, LoadSpec l)
    {
        bool open = l.Model == LoadModel.Open;
        string unit = open ? "rate" : "users";
        e.Emit(new MappingStart());
        Pair(e, "model", open ? "open" : "closed");
        switch (l.Shape ?? StagesShape.From(l.Segments))
        {
            case ConstantShape c:
                Pair(e, unit, c.Value);
                Pair(e, "duration", Durations.FormatExact(c.Duration));
                break;
            case StepsShape sp:
                Key(e, "steps");
                e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(e, "from", sp.From);
                Pair(e, "step", sp.Step);
                Pair(e, "every", Durations.FormatExact(sp.Every));
                Pair(e, "to", sp.To);
                e.Emit(new MappingEnd());
                break;
            case CyclesShape cy:
                Key(e, "cycles");
                e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(e, "base", cy.Base);
                Pair(e, "peak", cy.Peak);
                Pair(e, "baseFor", Durations.FormatExact(cy.BaseFor));
                Pair(e, "peakFor", Durations.FormatExact(cy.PeakFor));
                Pair(e, "count", cy.Count);
                if (cy.Ramp > TimeSpan.Zero)
                {
                    Pair(e, "ramp", Durations.FormatExact(cy.Ramp));
                }

                e.Emit(new MappingEnd());
                break;
            case StagesShape st:
                if (st.Start != 0)
                {
                    Pair(e, open ? "startRate" : "startUsers", st.Start);
                }

                Key(e, "stages");
                e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
                foreach (var stage in st.Stages)
                {
                    e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                    Pair(e, "duration", Durations.FormatExact(stage.Duration));
                    Pair(e, unit, stage.Value);
                    if (stage.Name is { } name)
                    {
                        Pair(e, "name", name);
                    }

                    e.Emit(new MappingEnd());
                }

                e.Emit(new SequenceEnd());
                break;
        }

        if (open && l.MaxInFlight != 1000)
        {
            Pair(e, "maxInFlight", l.MaxInFlight);
        }

        if (!open && l.ThinkTime != TimeSpan.Zero)
        {
            Pair(e, "thinkTime", Durations.FormatExact(l.ThinkTime));
        }

        if (!open && l.ThinkTimeMax is { } max)
        {
            Pair(e, "thinkTimeMax", Durations.FormatExact(max));
        }

        if (!open && l.Iterations is { } iterations)
        {
            Pair(e, "iterations", iterations);
        }

        e.Emit(new MappingEnd());
    }

    private static void WriteThresholds(IEmitter e, IReadOnlyList<Threshold> thresholds)
    {
        e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
        foreach (var t in thresholds)
        {
            if (!t.AbortOnFail && t.AbortGrace == TimeSpan.Zero)
            {
                Text(e, t.Text);
                continue;
            }

            e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
            Pair(e, "threshold", t.Text);
            Pair(e, "abortOnFail", t.AbortOnFail);
            if (t.AbortGrace != TimeSpan.Zero)
            {
                Pair(e, "delayAbortEval", Durations.FormatExact(t.AbortGrace));
            }

            e.Emit(new MappingEnd());
        }

        e.Emit(new SequenceEnd());
    }

    private static void WriteObserve(IEmitter e, ObserveSpec o)
    {
        e.Emit(new MappingStart());
        if (o.Baseline != TimeSpan.Zero)
        {
            Pair(e, "baseline", Durations.FormatExact(o.Baseline));
        }

        if (o.Cooldown != TimeSpan.Zero)
        {
            Pair(e, "cooldown", Durations.FormatExact(o.Cooldown));
        }

        if (o.Local is { } local)
        {
            Key(e, "local");
            e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
            Pair(e, "interval", Durations.FormatExact(local.Interval));
            e.Emit(new MappingEnd());
        }

        if (o.Probes.Count > 0)
        {
            Key(e, "probes");
            e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
            foreach (var p in o.Probes)
            {
                e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(e, "target", p.Target);
                Pair(e, "path", p.Path);
                Pair(e, "rate", p.Rate);
                Pair(e, "timeout", Durations.FormatExact(p.Timeout));
                e.Emit(new MappingEnd());
            }

            e.Emit(new SequenceEnd());
        }

        if (o.Kubernetes is { } k)
        {
            Key(e, "kubernetes");
            e.Emit(new MappingStart());
            Optional(e, "kubeconfig", k.Kubeconfig);
            Optional(e, "context", k.Context);
            if (k.InCluster)
            {
                Pair(e, "inCluster", true);
            }

            Key(e, "workloads");
            e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
            foreach (var w in k.Workloads)
            {
                e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(e, "namespace", w.Namespace);
                Pair(e, "deployment", w.Deployment);
                Optional(e, "hpa", w.Hpa);
                Optional(e, "selector", w.Selector);
                e.Emit(new MappingEnd());
            }

            e.Emit(new SequenceEnd());
            Optional(e, "nodeSelector", k.NodeSelector);
            if (k.EventNamespaces.Count > 0)
            {
                Key(e, "eventNamespaces");
                e.Emit(new SequenceStart(null, null, true, SequenceStyle.Flow));
                foreach (var ns in k.EventNamespaces)
                {
                    Text(e, ns);
                }

                e.Emit(new SequenceEnd());
            }

            Pair(e, "metricsInterval", Durations.FormatExact(k.MetricsInterval));
            Pair(e, "requestTimeout", Durations.FormatExact(k.RequestTimeout));
            e.Emit(new MappingEnd());
        }

        if (o.Prometheus is { } prom)
        {
            Key(e, "prometheus");
            e.Emit(new MappingStart());
            Optional(e, "url", prom.Url?.OriginalString);
            Pair(e, "step", Durations.FormatExact(prom.Step));
            Key(e, "queries");
            e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
            foreach (var q in prom.Queries)
            {
                e.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(e, "name", q.Name);
                Pair(e, "query", q.Query);
                if (q.Unit.Length > 0)
                {
                    Pair(e, "unit", q.Unit);
                }

                e.Emit(new MappingEnd());
            }

            e.Emit(new SequenceEnd());
            e.Emit(new MappingEnd());
        }

        e.Emit(new MappingEnd());
    }

    /// <summary>Comment lines; a line break inside one starts another comment line (a comment never ends early).</summary>
    private static void Comments(IEmitter e, IEnumerable<string>? lines)
    {
        foreach (var line in lines ?? [])
        {
            foreach (var part in line.ReplaceLineEndings("\n").Split('\n'))
            {
                e.Emit(new Comment(part, isInline: false));
            }
        }
    }

    private static void StringMap(IEmitter e, IReadOnlyDictionary<string, string> map)
    {
        e.Emit(new MappingStart());
        foreach (var (k, v) in map)
        {
            Pair(e, k, v);
        }

        e.Emit(new MappingEnd());
    }

    private static void Optional(IEmitter e, string key, string? value)
    {
        if (value is not null)
        {
            Pair(e, key, value);
        }
    }

    private static void Key(IEmitter e, string key) => Text(e, key);

    private static void Pair(IEmitter e, string key, string value)
    {
        Key(e, key);
        Text(e, value);
    }

    private static void Pair(IEmitter e, string key, double value)
    {
        Key(e, key);
        Number(e, value);
    }

    private static void Pair(IEmitter e, string key, bool value)
    {
        Key(e, key);
        e.Emit(new Scalar(null, null, value ? "true" : "false", ScalarStyle.Plain, true, false));
    }

    private static void Number(IEmitter e, double value) =>
        e.Emit(new Scalar(null, null, value.ToString("R", CultureInfo.InvariantCulture), ScalarStyle.Plain, true, false));

    /// <summary>
    /// A text value. The emitter picks a style that keeps it a string; a plain scalar that would read back as "no
    /// value" (empty, null, ~) is quoted, since the plan reader treats those as absent.
    /// </summary>
    private static void Text(IEmitter e, string value)
    {
        bool reserved = value.Length == 0 || value is "null" or "Null" or "NULL" or "~";
        e.Emit(new Scalar(null, null, value, reserved ? ScalarStyle.DoubleQuoted : ScalarStyle.Any, true, true));
    }
}
