using Constellation.Core.Plans;

namespace Constellation.Core.Results;

/// <summary>
/// What the scale-reaction waterfall needs of a scenario, from its plan: the deployment its load lands on (plan key
/// <c>deployment</c>, else the deployment named like its target), the p95 its answers must get back under, and
/// where its load steps up. Kept in the run's journal, so a killed run's record still gets its waterfall.
/// </summary>
public sealed record ReactionScope
{
    public required string Deployment { get; init; }

    /// <summary>The scenario's p95 limit: its <c>p(95) &lt; X</c> threshold, else its <c>p95 &gt; X</c> stop condition.</summary>
    public double? P95LimitMs { get; init; }

    /// <summary>Where the load steps up, in seconds from the scenario's start.</summary>
    public IReadOnlyList<LoadStep> Steps { get; init; } = [];

    public static ReactionScope For(ScenarioSpec spec) => new()
    {
        Deployment = spec.Deployment ?? spec.Target,
        P95LimitMs = spec.Thresholds
            .Where(t => t is { Kind: Gate.ThresholdMetricKind.Percentile, Percentile: 95, Operator: "<" or "<=", Regression: false, Change: false })
            .Select(t => (double?)t.Limit)
            .FirstOrDefault()
            ?? spec.StopWhen.Where(c => c is { Metric: Load.StopMetric.Percentile, Percentile: 95 }).Select(c => (double?)c.Threshold).FirstOrDefault(),
        Steps = LoadStep.Of(spec.Load.Segments),
    };
}

/// <summary>One rise of the load: from <see cref="From"/> to <see cref="To"/>, starting <see cref="StartSeconds"/> into the scenario.</summary>
public sealed record LoadStep(string Stage, double StartSeconds, double From, double To)
{
    /// <summary>
    /// Every rise of a curve: a jump up at a stage's start, or a ramp up (consecutive rising stages are one step).
    /// The load's start is a step from 0. At most <see cref="ScaleReactionAnalyzer.MaxSteps"/>.
    /// </summary>
    public static IReadOnlyList<LoadStep> Of(IReadOnlyList<LoadSegment> segments)
    {
        var steps = new List<LoadStep>();
        double t = 0, level = 0;
        bool rising = false;
        for (int i = 0; i < segments.Count && steps.Count <= ScaleReactionAnalyzer.MaxSteps; i++)
        {
            var s = segments[i];
            bool jump = s.From > level, ramp = s.To > s.From;
            if (jump || ramp)
            {
                if (rising && !jump)
                {
                    steps[^1] = steps[^1] with { To = s.To }; // the rise goes on
                }
                else
                {
                    steps.Add(new LoadStep(s.Name ?? $"stage {i + 1}", Math.Round(t, 3), level, Math.Max(s.From, s.To)));
                }
            }

            rising = ramp;
            level = s.To;
            t += s.Duration.TotalSeconds;
        }

        return steps;
    }
}

/// <summary>
/// How a deployment reacted to each step of a scenario's load (run.json <c>scaling.reactions</c>): the waterfall.
/// </summary>
public sealed record ScaleReaction
{
    public required string Scenario { get; init; }
    public required string Namespace { get; init; }
    public required string Deployment { get; init; }

    /// <summary>The HPA's target utilization (%), when the plan watches its HPA and it has one.</summary>
    public double? HpaTarget { get; init; }

    public double? P95LimitMs { get; init; }

    /// <summary>The control app's calm p95 the control phase is judged against.</summary>
    public double? ControlBaselineP95Ms { get; init; }

    public IReadOnlyList<ReactionStep> Steps { get; init; } = [];

    /// <summary>p50, p95 and max of each phase over the steps it applies to.</summary>
    public IReadOnlyList<PhaseStats> Phases { get; init; } = [];

    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>
/// One step's phases, each in seconds from the step's start (run timeline <see cref="StartSeconds"/>): null when it
/// does not apply to this step (nothing to react to); <see cref="Unreached"/> lists those that applied but did not
/// happen before the next step (or the end of observing).
/// </summary>
public sealed record ReactionStep
{
    public required int Number { get; init; }
    public required string Stage { get; init; }

    /// <summary>Run-timeline seconds: the step's start and the end of its window (the next step, or the end of observing).</summary>
    public required double StartSeconds { get; init; }

    public required double EndSeconds { get; init; }
    public required double From { get; init; }
    public required double To { get; init; }

    public required int DesiredBefore { get; init; }
    public int DesiredPeak { get; init; }
    public int NewPods { get; init; }

    public double? MetricAbove { get; init; }
    public double? DesiredRaised { get; init; }
    public double? PodCreated { get; init; }

    /// <summary>The longest a new pod waited to be scheduled (a duration, not a moment), and why.</summary>
    public double? Pending { get; init; }

    public string? PendingReason { get; init; }
    public double? NodeReady { get; init; }

    /// <summary>Every new pod Ready: the deployment has reacted.</summary>
    public double? Reaction { get; init; }

    /// <summary>The scenario's p95 back under its limit (0: it never went over).</summary>
    public double? Recovered { get; init; }

    /// <summary>The control app's p95 (over 10 s) back within 25% of its calm baseline (0: it never left it).</summary>
    public double? ControlRecovered { get; init; }

    public IReadOnlyList<string> Unreached { get; init; } = [];

    /// <summary>The load ended in this step while its p95 was over the limit: the recovery phase does not apply.</summary>
    public bool LoadEndedOver { get; init; }
}

/// <summary>A phase over the steps: how many it applied to, how many reached it, and its p50/p95/max (null when a step that should have reached it did not).</summary>
public sealed record PhaseStats(string Phase, int Steps, int Reached, double? P50, double? P95, double? Max);

/// <summary>Derives the waterfall of every scenario aimed at a watched deployment: pure code, no I/O.</summary>
public static class ScaleReactionAnalyzer
{
    /// <summary>Most steps analysed per scenario.</summary>
    public const int MaxSteps = 1000;

    /// <summary>The phases in waterfall order, by their threshold names (<c>scale.DEPLOYMENT.PHASE.p95</c>).</summary>
    public static readonly IReadOnlyList<(string Name, string Label)> PhaseNames =
    [
        ("metric_above", "HPA metric above target"),
        ("desired_raised", "desired replicas raised"),
        ("pod_created", "first new pod created"),
        ("pending", "pods Pending (longest)"),
        ("node_ready", "new node Ready"),
        ("reaction", "new pods Ready"),
        ("recovered", "p95 back under its limit"),
        ("control_recovered", "control app p95 back to baseline"),
    ];

    /// <summary>The control app's p95 is judged over this many seconds, against its baseline times <see cref="ControlTolerance"/>.</summary>
    public const double ControlWindowSeconds = 10;

    public const double ControlTolerance = 1.25;

    /// <summary>The value of one phase in one step (null: not applicable or not reached).</summary>
    public static double? Value(ReactionStep s, string phase) => phase switch
    {
        "metric_above" => s.MetricAbove,
        "desired_raised" => s.DesiredRaised,
        "pod_created" => s.PodCreated,
        "pending" => s.Pending,
        "node_ready" => s.NodeReady,
        "reaction" => s.Reaction,
        "recovered" => s.Recovered,
        "control_recovered" => s.ControlRecovered,
        _ => null,
    };

    /// <summary>The reactions of every scenario whose <see cref="ReactionScope"/> names a watched deployment.</summary>
    public static IReadOnlyList<ScaleReaction> Derive(RunRecord run, IReadOnlyList<ControlLatency> control)
    {
        if (run.Observation is not { Kubernetes: { } k8s } obs)
        {
            return [];
        }

        var aimed = run.Scenarios
            .Where(s => s.Reaction is { Steps.Count: > 0 })
            .Select(s => (Scenario: s, Scope: s.Reaction!, Workload: k8s.Workloads.FirstOrDefault(w => w.Deployment == s.Reaction!.Deployment)))
            .Where(x => x.Workload is not null)
            .ToList();
        var result = new List<ScaleReaction>();
        foreach (var (scenario, scope, workload) in aimed)
        {
            // A step's window ends at the next step of any scenario aimed at the same deployment: a later scenario's
            // rise is its own, not a slow part of this one's.
            var others = aimed.Where(x => x.Scenario != scenario && x.Workload == workload)
                .SelectMany(x => Started(x.Scenario, x.Scope).Select(st => x.Scenario.StartOffsetSeconds + st.StartSeconds))
                .ToList();
            result.Add(Derive(scenario, scope, workload!, k8s, obs, control, others));
        }

        return result;
    }

    /// <summary>The steps of a scenario that ran: those that started before its load ended, at most <see cref="MaxSteps"/>.</summary>
    private static List<LoadStep> Started(ScenarioResult scenario, ReactionScope scope) =>
        [.. scope.Steps.Where(s => s.StartSeconds < scenario.DurationSeconds).Take(MaxSteps)];

    private static ScaleReaction Derive(ScenarioResult scenario, ReactionScope scope, WorkloadTimeline w, KubernetesTimeline k8s, Observation obs, IReadOnlyList<ControlLatency> control, List<double> otherSteps)
    {
        var notes = new List<string>();
        var points = w.Replicas.OrderBy(p => p.Seconds).ToList();
        var pods = k8s.Pods.Where(p => p.Namespace == w.Namespace && p.Deployment == w.Deployment).ToList();
        var probes = obs.Probes.Count > 0 ? obs.Probes[0] : null;
        var baseline = probes is null ? null : control.FirstOrDefault(c => c.Target == probes.Target)?.BaselineP95Ms;
        if (w.HpaTarget is null)
        {
            notes.Add(w.Hpa is null ? "no HPA watched for this deployment (observe.kubernetes.workloads[].hpa): the metric phase is not measured" : "the HPA has no utilization target: the metric phase is not measured");
        }

        if (scope.P95LimitMs is null)
        {
            notes.Add("the scenario has no p95 limit (a p(95) < X threshold or a p95 > X stopWhen): the recovery phase is not measured");
        }

        if (probes is not null && baseline is null)
        {
            notes.Add("the control app has no calm baseline (observe.baseline): its recovery phase is not measured");
        }

        var taken = Started(scenario, scope);
        if (taken.Count < scope.Steps.Count)
        {
            notes.Add($"{scope.Steps.Count - taken.Count} step(s) of the plan never ran (the load ended first) or were past the first {MaxSteps}");
        }

        var steps = new List<ReactionStep>();
        var context = new StepContext(w, points, pods, k8s.Nodes, scenario, scope.P95LimitMs, probes, baseline, obs.ToSeconds);
        for (int i = 0; i < taken.Count; i++)
        {
            double start = scenario.StartOffsetSeconds + taken[i].StartSeconds;
            double next = i + 1 < taken.Count ? scenario.StartOffsetSeconds + taken[i + 1].StartSeconds : double.PositiveInfinity;
            next = Math.Min(next, otherSteps.Where(t => t > start).DefaultIfEmpty(double.PositiveInfinity).Min());
            var step = Step(i + 1, taken[i], start, Math.Max(start, Math.Min(next, obs.ToSeconds)), context);
            steps.Add(step);
            if (step.LoadEndedOver)
            {
                notes.Add($"step {step.Number} ({step.Stage}): the load ended while the p95 was over its limit (its breaking point, or the end of the plan): nothing to recover from in the run");
            }
        }

        if (otherSteps.Count > 0)
        {
            notes.Add("other scenarios load this deployment too: each step's window ends at the next step of any of them");
        }

        return new ScaleReaction
        {
            Scenario = scenario.Name,
            Namespace = w.Namespace,
            Deployment = w.Deployment,
            HpaTarget = w.HpaTarget,
            P95LimitMs = scope.P95LimitMs,
            ControlBaselineP95Ms = baseline,
            Steps = steps,
            Phases = [.. PhaseNames.Select(p => Stats(p.Name, steps))],
            Notes = notes,
        };
    }

    private sealed record StepContext(WorkloadTimeline Workload, List<ReplicaPoint> Points, List<PodLife> Pods, IReadOnlyList<NodeLife> Nodes, ScenarioResult Scenario, double? LimitMs, ProbeResult? Probes, double? BaselineMs, double ObservedTo);

    /// <summary>
    /// One step: the HPA's decisions in its window [start, end) (until the next step); the pods that decision created
    /// and the nodes created in the window are followed to the end of observing, so a reaction slower than the steps
    /// is measured, not cut off.
    /// </summary>
    private static ReactionStep Step(int number, LoadStep step, double start, double end, StepContext c)
    {
        var w = c.Workload;
        var unreached = new List<string>();
        double? Since(double? at) => at is { } t ? Math.Round(Math.Max(0, t - start), 3) : null;
        double? Applies(string phase, bool applies, double? at)
        {
            if (!applies)
            {
                return null;
            }

            if (at is null)
            {
                unreached.Add(phase);
            }

            return Since(at);
        }

        var before = ScalingAnalyzer.At(c.Points, start);
        int desiredBefore = before?.Desired ?? 0;
        var inWindow = c.Points.Where(p => p.Seconds >= start && p.Seconds < end).ToList();
        var current = before is null ? inWindow : inWindow.Prepend(before).ToList();

        // The HPA saw the load: its metric over its target (already over at the step's start counts as 0).
        double? metricAbove = w.HpaTarget is { } target ? current.FirstOrDefault(p => p.HpaMetric > target)?.Seconds : null;
        double? desiredRaised = inWindow.FirstOrDefault(p => p.Desired > desiredBefore)?.Seconds;
        int desiredPeak = inWindow.Select(p => p.Desired).Append(desiredBefore).Max();

        // The HPA owed a rise when, in the window, its metric was beyond its tolerance (10%) with every desired pod
        // Ready and below its maximum: a rise that did not come is a failure. Else (within tolerance, at the maximum,
        // capacity still coming from the step before) there was nothing for it to do.
        bool owed = w.HpaTarget is { } t2 && inWindow.Any(p => p.HpaMetric > t2 * (1 + HpaTolerance) && p.Ready >= p.Desired && (w.HpaMax is not { } max || p.Desired < max));
        bool scaled = desiredRaised is not null;

        // The pods the rise created: from the second before it (the API server's timestamps are whole seconds) to the
        // end of the window; each followed to the end of observing.
        var fresh = desiredRaised is { } raised ? c.Pods.Where(p => p.CreatedSeconds >= Math.Max(start, raised - 1) && p.CreatedSeconds < end).ToList() : [];
        double? podCreated = fresh.Count == 0 ? null : Math.Max(fresh.Min(p => p.CreatedSeconds), desiredRaised!.Value);
        var longest = fresh.Select(p => (Pod: p, Wait: ScalingAnalyzer.Pending(p, c.ObservedTo))).OrderByDescending(x => x.Wait.Seconds).FirstOrDefault();

        // A node was needed when a new pod waited for room; the node is the first created since the step that one of them landed on.
        bool nodeNeeded = fresh.Any(p => p.PendingReason is { } r && (r.Contains("Insufficient", StringComparison.OrdinalIgnoreCase) || r.Contains("Too many pods", StringComparison.OrdinalIgnoreCase)));
        var hosts = fresh.Select(p => p.Node).OfType<string>().ToHashSet(StringComparer.Ordinal);
        double? nodeReady = c.Nodes.Where(n => n.CreatedSeconds >= start && hosts.Contains(n.Name)).Select(n => n.ReadySeconds).Min();

        // Reacted: every new pod that was not deleted before it was Ready is Ready, and as many as the desired count asked.
        var live = fresh.Where(p => p.ReadySeconds is not null || p.DeletedSeconds is null).ToList();
        double? reaction = live.Count > 0 && live.All(p => p.ReadySeconds is not null) && live.Count >= desiredPeak - desiredBefore
            ? live.Max(p => p.ReadySeconds)
            : null;

        var recovered = c.LimitMs is { } limit ? Recovery(c.Scenario, start, end, limit) : default;
        var controlBack = c.Probes is not null && c.BaselineMs is { } b ? ControlRecovery(c.Probes, start, end, b) : default;
        return new ReactionStep
        {
            Number = number,
            Stage = step.Stage,
            StartSeconds = Math.Round(start, 3),
            EndSeconds = Math.Round(end, 3),
            From = step.From,
            To = step.To,
            DesiredBefore = desiredBefore,
            DesiredPeak = desiredPeak,
            NewPods = fresh.Count,
            MetricAbove = Applies("metric_above", w.HpaTarget is not null && (scaled || metricAbove is not null), metricAbove),
            DesiredRaised = Applies("desired_raised", scaled || owed, desiredRaised),
            PodCreated = Applies("pod_created", scaled, podCreated),
            Pending = scaled && longest.Pod is not null ? Math.Round(longest.Wait.Seconds, 3) : null,
            PendingReason = longest.Pod is null ? null : longest.Wait.Unfinished ? $"still pending when observing stopped{(longest.Pod.PendingReason is { } why ? ": " + why : string.Empty)}" : longest.Pod.PendingReason,
            NodeReady = Applies("node_ready", scaled && nodeNeeded, nodeReady),
            Reaction = Applies("reaction", scaled, reaction),
            Recovered = Applies("recovered", c.LimitMs is not null && !recovered.EndedOver, recovered.At),
            ControlRecovered = Applies("control_recovered", c.Probes is not null && c.BaselineMs is not null, controlBack.At),
            LoadEndedOver = recovered.EndedOver,
            Unreached = unreached,
        };
    }

    /// <summary>The HPA's default tolerance: it acts when its metric is more than 10% off target.</summary>
    public const double HpaTolerance = 0.1;

    /// <summary>A second is over when its p95 is over the limit or more than this share of its answers failed (fast errors are not health).</summary>
    public const double ErrorShareOver = 0.05;

    /// <summary>
    /// When the scenario was back under its limit for good within the window: the start of the first second after the
    /// last one over it (the step's start when none was); null while the window's last second was still over. When
    /// the load itself ended over the limit in the window, <c>EndedOver</c>: there is nothing to recover from.
    /// </summary>
    private static (double? At, bool EndedOver) Recovery(ScenarioResult scenario, double start, double end, double limitMs)
    {
        var judged = new List<(double From, double To, bool Over)>();
        foreach (var s in scenario.Seconds)
        {
            double from = scenario.StartOffsetSeconds + s.Second, to = Math.Min(from + scenario.SecondsPerPoint, end);
            if (to <= start || from >= end || s.Outcomes.Completed == 0)
            {
                continue;
            }

            judged.Add((Math.Max(from, start), to, s.Latency.P95Ms > limitMs || s.Outcomes.Errors > ErrorShareOver * s.Outcomes.Completed));
        }

        bool loadEnded = scenario.StartOffsetSeconds + scenario.DurationSeconds < end;
        var back = BackForGood(judged, start);
        return (back, back is null && loadEnded && judged.Count > 0);
    }

    /// <summary>Like <see cref="Recovery"/> for the control app: its p95 over the last 10 s within 25% of the baseline at each probe (a failed probe is over).</summary>
    private static (double? At, bool EndedOver) ControlRecovery(ProbeResult probes, double start, double end, double baselineMs)
    {
        var samples = probes.Samples.Where(s => s.Seconds >= start - ControlWindowSeconds && s.Seconds < end).OrderBy(s => s.Seconds).ToList();
        var judged = new List<(double From, double To, bool Over)>();
        for (int i = 0; i < samples.Count; i++)
        {
            var t = samples[i].Seconds;
            if (t < start)
            {
                continue;
            }

            var window = samples.Where(s => s.Seconds > t - ControlWindowSeconds && s.Seconds <= t).Select(s => s.Ok ? s.LatencyMs : double.PositiveInfinity).ToList();
            var nextAt = i + 1 < samples.Count ? samples[i + 1].Seconds : end;
            judged.Add((t, nextAt, ScalingAnalyzer.Percentile(window, 95) > baselineMs * ControlTolerance));
        }

        return (BackForGood(judged, start), false);
    }

    /// <summary>
    /// From judged stretches in time order: when the last stretch that was over ended (the step's start when none
    /// was), or null when the last one was still over (or there were none).
    /// </summary>
    private static double? BackForGood(List<(double From, double To, bool Over)> judged, double start)
    {
        if (judged.Count == 0 || judged[^1].Over)
        {
            return null;
        }

        var lastOver = judged.FindLastIndex(j => j.Over);
        return lastOver < 0 ? start : judged[lastOver].To;
    }

    /// <summary>p50/p95/max of a phase over the steps it applies to; a step that did not reach it counts as longer than any, so a max or p95 that includes it is null.</summary>
    public static PhaseStats Stats(string phase, IReadOnlyList<ReactionStep> steps)
    {
        var values = new List<double>();
        int reached = 0;
        foreach (var s in steps)
        {
            if (Value(s, phase) is { } v)
            {
                values.Add(v);
                reached++;
            }
            else if (s.Unreached.Contains(phase))
            {
                values.Add(double.PositiveInfinity);
            }
        }

        static double? Finite(double? v) => v is { } x && double.IsFinite(x) ? x : null;
        return new PhaseStats(phase, values.Count, reached, Finite(ScalingAnalyzer.Percentile(values, 50)), Finite(ScalingAnalyzer.Percentile(values, 95)), Finite(values.Count == 0 ? null : values.Max()));
    }

}
