using Constellation.Core.Plans;
using Constellation.Core.Results;

namespace Constellation.Core.Gate;

/// <summary>A run's seconds in order, with their latency: one scenario's (scenario-relative) or, for null, the whole run's (run-relative).</summary>
public delegate IEnumerable<SecondData> SecondsOf(string? scenario);

/// <summary>
/// Judges a finished run against its plan's thresholds (and, for regressions, a baseline run): the CI gate.
/// Also says when the run cannot be trusted at all (a saturated generator, observer gaps beyond tolerance).
/// </summary>
public static class GateEvaluator
{
    /// <summary>
    /// Null when the plan gates nothing (no thresholds and no explicit validity section) and the run is not a
    /// degraded distributed run — one whose agents did not all deliver their share is always invalid.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="plan">Its plan.</param>
    /// <param name="baseline">The run regressions are judged against, if any.</param>
    /// <param name="abortedBy">The abortOnFail threshold that stopped the run, if one did.</param>
    /// <param name="seconds">The run's seconds with their histograms (its journal); default: the record's own points.</param>
    /// <param name="baselineSeconds">The same for the baseline.</param>
    /// <param name="history">The plan's stored runs' values of a metric, for change thresholds (this run last).</param>
    public static GateResult? Evaluate(RunRecord run, Plan plan, RunRecord? baseline, string? abortedBy = null, SecondsOf? seconds = null, SecondsOf? baselineSeconds = null, Trends.HistoryOf? history = null)
    {
        var thresholds = plan.AllThresholds.ToList();
        if (thresholds.Count == 0 && plan.Validity is null && run.Distribution is not { Degraded: true })
        {
            return null;
        }

        seconds ??= scope => SecondData.Of(run, scope);
        var results = thresholds.Select(x => (x.Threshold.Change || x.Threshold.Regression) && Unreached(run, x.Threshold) is { } missed
            ? Result(x.Scope, x.Threshold, passed: false, "not reached", null, missed)
            : x.Threshold.Change
            ? EvaluateChange(x.Scope, x.Threshold, history)
            : EvaluateOne(run, plan, x.Scope, x.Threshold, baseline, seconds, baselineSeconds ?? (baseline is null ? null : scope => SecondData.Of(baseline, scope)))).ToList();
        var invalid = InvalidReasons(run, plan.Validity ?? new ValiditySpec());
        var verdict = invalid.Count > 0 ? GateResult.Invalid
            : results.Any(r => !r.Passed && !r.Skipped) || run.Status == RunStatus.Failed ? GateResult.Failed
            : GateResult.Passed;
        return new GateResult
        {
            Verdict = verdict,
            Thresholds = results,
            InvalidReasons = invalid,
            BaselineRunId = baseline?.RunId,
            AbortedBy = abortedBy,
        };
    }

    /// <summary>Which seconds a threshold counts in its scope: after the warm-up, or inside the named stage.</summary>
    public static Func<int, bool>? SecondFilter(Threshold t, Plan plan, string scope)
    {
        switch (t.Window.Kind)
        {
            case WindowKind.After:
                var from = (int)Math.Ceiling(t.Window.Length.TotalSeconds - 1e-9);
                return s => s >= from;
            case WindowKind.DuringStage:
                var ranges = StageRanges(plan, scope, t.Window.Stage!);
                return s => ranges.Any(r => s >= r.From && s < r.To);
            default:
                return null;
        }
    }

    /// <summary>The seconds [From, To) of a named stage: scenario-relative for a scenario, run-relative for the run (any scenario's stage of that name).</summary>
    public static IReadOnlyList<(int From, int To)> StageRanges(Plan plan, string scope, string stage)
    {
        var result = new List<(int, int)>();
        foreach (var s in plan.Scenarios.Where(s => scope == "run" || s.Name == scope))
        {
            var at = scope == "run" ? s.StartAfter : TimeSpan.Zero;
            foreach (var seg in s.Load.Segments)
            {
                if (seg.Name == stage)
                {
                    result.Add(((int)Math.Round(at.TotalSeconds), (int)Math.Round((at + seg.Duration).TotalSeconds)));
                }

                at += seg.Duration;
            }
        }

        return result;
    }

    /// <summary>The stage names a plan's scope has, to check thresholds against.</summary>
    public static IReadOnlyCollection<string> StageNames(Plan plan, string scope) =>
        plan.Scenarios.Where(s => scope == "run" || s.Name == scope).SelectMany(s => s.Load.Segments).Select(s => s.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Why a change or regression threshold on a reaction phase fails outright: this run has steps that did not reach
    /// the phase, so its statistic is unknown — the worst night must not go unjudged for lack of a number.
    /// </summary>
    private static string? Unreached(RunRecord run, Threshold t)
    {
        if (t.Kind != ThresholdMetricKind.Scaling || ScalingName.Parse(t.ScalingName!) is not { IsReaction: true } name || run.Scaling is null || ScalingValue(run.Scaling, t.ScalingName!) is not null)
        {
            return null;
        }

        var missed = run.Scaling.Reactions.Where(r => r.Deployment == name.Subject).SelectMany(r => r.Steps.Where(s => s.Unreached.Contains(name.Metric)).Select(s => $"{r.Scenario} step {s.Number}")).ToList();
        return missed.Count == 0 ? null : $"{string.Join(", ", missed.Take(5))}{(missed.Count > 5 ? $" and {missed.Count - 5} more" : string.Empty)} did not reach {name.Metric}: its {name.Stat} is unknown in this run";
    }

    /// <summary>A scaling metric by its threshold name; null when it did not happen or was not observed.</summary>
    public static double? ScalingValue(ScalingMetrics? m, string name)
    {
        if (m is null)
        {
            return null;
        }

        switch (ScalingName.Parse(name))
        {
            case { IsReaction: true, Subject: var deployment, Metric: var phase, Stat: var stat }:
                // Over the steps of every scenario aimed at the deployment; a step that did not reach the phase counts
                // as longer than any, so the max (and a p95 once over 5% of the steps missed it) is unknown: a failure.
                var steps = m.Reactions.Where(r => r.Deployment == deployment).SelectMany(r => r.Steps).ToList();
                var stats = ScaleReactionAnalyzer.Stats(phase, steps);
                return stats.Steps == 0 ? null : stat switch { "p50" => stats.P50, "p95" => stats.P95, "max" => stats.Max, _ => null };
            case { Kind: "scale", Subject: var deployment, Metric: var metric }:
                var w = m.Workloads.FirstOrDefault(x => x.Deployment == deployment);
                return w is null ? null : metric switch
                {
                    "first_hpa_increase" => w.FirstDesiredIncreaseSeconds,
                    "first_pod_ready" => w.FirstNewPodReadySeconds,
                    "time_to_peak" => w.PeakSeconds,
                    "peak_replicas" => w.PeakReplicas,
                    "longest_pending" => w.LongestPendingSeconds ?? 0,
                    "scale_in_start" => w.ScaleInStartSeconds,
                    "scale_in" => w.ScaleInSeconds,
                    _ => null,
                };
            case { Kind: "nodes", Metric: var metric }:
                var n = m.Nodes;
                return n is null ? null : metric switch
                {
                    "first_ready" => n.FirstNewNodeReadySeconds,
                    "peak" => n.PeakReady,
                    "minutes" => n.NodeMinutes,
                    "scale_in" => n.ScaleInSeconds,
                    _ => null,
                };
            case { Kind: "control", Subject: var target, Metric: var metric }:
                var c = m.Control.FirstOrDefault(x => x.Target == target);
                return c is null ? null : metric switch
                {
                    "p95_delta" => c.P95DeltaPercent / 100,
                    "p95" => c.WindowP95Ms,
                    "baseline_p95" => c.BaselineP95Ms,
                    "errors" => c.WindowErrors,
                    _ => null,
                };
            default:
                return null;
        }
    }

    /// <summary>The metric's value over the whole scope (with its window filter), for regressions and compare.</summary>
    public static double? ValueOf(RunRecord run, Plan? plan, string scope, Threshold t, SecondsOf? seconds = null)
    {
        if (t.Kind == ThresholdMetricKind.Scaling)
        {
            return ScalingValue(run.Scaling, t.ScalingName!);
        }

        if (scope != "run" && run.Scenarios.All(s => s.Name != scope))
        {
            return null;
        }

        var whole = t with { Window = t.Window.Kind == WindowKind.OverAny ? ThresholdWindow.Whole : t.Window, Regression = false };
        var tracker = new ThresholdTracker(whole, plan is null ? null : SecondFilter(whole, plan, scope));
        foreach (var s in (seconds ?? (x => SecondData.Of(run, x)))(scope == "run" ? null : t.Request is { } r ? RequestLabels.Key(scope, r) : scope))
        {
            tracker.Add(s);
        }

        return tracker.Current().Value;
    }

    /// <summary>A change threshold: change points over the plan's runs; fails when the latest runs start a shift worse than the limit.</summary>
    private static ThresholdResult EvaluateChange(string scope, Threshold t, Trends.HistoryOf? history)
    {
        var metric = Trends.TrendMetrics.KeyOf(t);
        var values = history?.Invoke(scope, metric);
        if (values is null || values.Count < Trends.TrendMetrics.MinRuns)
        {
            return Result(scope, t, passed: false, "n/a", null, $"{values?.Count ?? 0} runs of this plan have {metric}{(scope == "run" ? string.Empty : $" for {scope}")}: a change needs at least {Trends.TrendMetrics.MinRuns}; not judged") with { Skipped = true };
        }

        var (_, latest, worse, detail) = Trends.TrendMetrics.Judge(values, metric, t.MetricUnit);
        if (latest is null)
        {
            return Result(scope, t, t.Holds(0), "no shift", 0, detail);
        }

        return worse is { } w
            ? Result(scope, t, t.Holds(w), w >= 0 ? $"{Threshold.Format(w, ThresholdUnit.Fraction)} worse" : $"{Threshold.Format(-w, ThresholdUnit.Fraction)} better", w, detail)
            : Result(scope, t, passed: false, "from 0", null, $"{detail}: the level before was 0, so a change in % cannot be judged") with { Skipped = true };
    }

    private static ThresholdResult EvaluateOne(RunRecord run, Plan plan, string scope, Threshold t, RunRecord? baseline, SecondsOf seconds, SecondsOf? baselineSeconds)
    {
        var unit = t.MetricUnit;
        if (t.Regression)
        {
            if (baseline is null)
            {
                return Result(scope, t, passed: false, "n/a", null, $"no baseline run ({plan.Baseline ?? "the plan names none"}): not judged") with { Skipped = true };
            }

            var current = ValueOf(run, plan, scope, t, seconds);
            var before = ValueOf(baseline, BaselinePlan(baseline) ?? plan, scope, t, baselineSeconds);
            if (current is null || before is null || before == 0)
            {
                return Result(scope, t, passed: false, "n/a", null, $"nothing to compare (this run {Fmt(current, unit)}, baseline {baseline.RunId} {Fmt(before, unit)})") with { Skipped = true };
            }

            // Worse is higher for latency and times, lower for a rate.
            var change = t.Kind == ThresholdMetricKind.Rate ? (before.Value - current.Value) / before.Value : (current.Value - before.Value) / before.Value;
            return Result(scope, t, t.Holds(change), $"{(change >= 0 ? "+" : string.Empty)}{Threshold.Format(change, ThresholdUnit.Fraction)}", change, $"{Threshold.Format(current.Value, unit)} against {Threshold.Format(before.Value, unit)} in baseline {baseline.RunId}");
        }

        if (t.Kind == ThresholdMetricKind.Scaling)
        {
            var value = ScalingValue(run.Scaling, t.ScalingName!);
            return value is { } v
                ? Result(scope, t, t.Holds(v), Threshold.Format(v, unit), v, null)
                : Result(scope, t, passed: false, "not observed", null, run.Scaling is null ? "the run observed no scaling (no observe section)" : "it did not happen while observed");
        }

        if (scope != "run" && run.Scenarios.All(s => s.Name != scope))
        {
            return Result(scope, t, passed: false, "n/a", null, "the scenario did not run");
        }

        if (t.Request is { } request && !run.Scenarios.Any(s => s.Name == scope && s.Requests.Any(r => r.Name == request)))
        {
            return Result(scope, t, passed: false, "n/a", null, $"no request '{request}' ran in {scope}");
        }

        var tracker = new ThresholdTracker(t, SecondFilter(t, plan, scope));
        foreach (var s in seconds(scope == "run" ? null : t.Request is { } r ? RequestLabels.Key(scope, r) : scope))
        {
            tracker.Add(s);
        }

        var (observed, holds, detail) = tracker.Current();
        return Result(scope, t, holds, observed is { } o ? Threshold.Format(o, unit) : "no data", observed, detail);
    }

    private static Plan? BaselinePlan(RunRecord baseline)
    {
        if (baseline.PlanText is null)
        {
            return null;
        }

        var loaded = PlanLoader.Parse(baseline.PlanText);
        return loaded.Plan;
    }

    private static ThresholdResult Result(string scope, Threshold t, bool passed, string observed, double? value, string? detail) => new()
    {
        Scope = scope,
        Threshold = t.Text,
        Passed = passed,
        Observed = observed,
        Value = value,
        Detail = detail,
        AbortOnFail = t.AbortOnFail,
    };

    private static string Fmt(double? v, ThresholdUnit unit) => v is { } x ? Threshold.Format(x, unit) : "n/a";

    private static List<string> InvalidReasons(RunRecord run, ValiditySpec validity)
    {
        var reasons = new List<string>();
        var g = run.Generator;
        if (g.Bottleneck && validity.GeneratorSaturatedIsInvalid)
        {
            reasons.Add($"the load generator was saturated (max CPU {g.MaxCpuPercent:0}% of all cores, max pacer lag {g.MaxPacerLagMs:0.#} ms): the result measures the generator, not the target");
        }

        if (run.Distribution is { Degraded: true } d)
        {
            reasons.AddRange(d.Problems.Select(p => $"the planned load was not fully sent: {p}"));
        }

        var gaps = run.Scaling?.GapSeconds ?? run.Observation?.Gaps.Sum(x => x.Seconds) ?? 0;
        if (gaps > validity.MaxObserverGap.TotalSeconds)
        {
            reasons.Add($"the observer saw nothing for {gaps:0.#} s in total, beyond the tolerance of {Text.Durations.Format(validity.MaxObserverGap)} (validity.maxObserverGap)");
        }

        return reasons;
    }
}

/// <summary>
/// The thresholds marked abortOnFail, followed second by second while the run goes: says when one is lost (after
/// its grace delay), so the run can stop early instead of burning the rest of a nightly slot.
/// </summary>
public sealed class LiveGate
{
    private readonly List<(string Scope, Threshold Threshold, ThresholdTracker Tracker)> _watched;

    public LiveGate(Plan plan)
    {
        _watched = plan.AllThresholds
            .Where(x => x.Threshold.AbortOnFail && !x.Threshold.Regression && x.Threshold.Kind != ThresholdMetricKind.Scaling)
            .Select(x => (x.Scope, x.Threshold, new ThresholdTracker(x.Threshold, GateEvaluator.SecondFilter(x.Threshold, plan, x.Scope))))
            .ToList();
    }

    public bool IsEmpty => _watched.Count == 0;

    /// <summary>
    /// Feeds one run second: each scenario's sample (with its own second number). Returns the first threshold now
    /// lost, as "scope: threshold (observed …)", or null.
    /// </summary>
    public string? Observe(int runSecond, IReadOnlyList<(string Scenario, int Second, SecondSample Sample)> samples)
    {
        if (_watched.Count == 0 || samples.Count == 0)
        {
            return null;
        }

        var perScenario = samples.ToDictionary(s => s.Scenario, s => SecondData.From(s.Second, s.Sample), StringComparer.Ordinal);
        SecondData? merged = null;
        foreach (var (scope, threshold, tracker) in _watched)
        {
            SecondData? data;
            if (scope == "run")
            {
                merged ??= new SecondData(runSecond, samples.Aggregate(new OutcomeCounts(), (a, s) => a + s.Sample.Outcomes), perScenario.Values.SelectMany(d => d.Latency).ToList());
                data = merged;
            }
            else
            {
                data = perScenario.GetValueOrDefault(scope);
            }

            if (data is null)
            {
                continue;
            }

            tracker.Add(data);
            if (runSecond + 1 < threshold.AbortGrace.TotalSeconds)
            {
                continue;
            }

            // A sliding window is lost once any window broke it; any other threshold, as k6 does, when it fails now.
            var (value, holds, _) = tracker.Current();
            if (tracker.Lost || (threshold.Window.Kind != WindowKind.OverAny && !holds && value is not null))
            {
                return $"{scope}: {threshold.Text} (observed {(value is { } v ? Threshold.Format(v, threshold.Unit) : "n/a")})";
            }
        }

        return null;
    }
}
