namespace Constellation.Core.Results;

/// <summary>Derives <see cref="ScalingMetrics"/> from a run's observation and scenarios: pure code, no I/O.</summary>
public static class ScalingAnalyzer
{
    /// <summary>Null when the run observed nothing.</summary>
    public static ScalingMetrics? Derive(RunRecord run)
    {
        if (run.Observation is not { } obs)
        {
            return null;
        }

        double loadStart = run.Scenarios.Count == 0 ? 0 : run.Scenarios.Min(s => s.StartOffsetSeconds);
        double loadEnd = run.Scenarios.Count == 0 ? obs.ToSeconds : run.Scenarios.Max(s => s.StartOffsetSeconds + s.DurationSeconds);
        var notes = new List<string>();

        var workloads = new List<WorkloadScaling>();
        NodeScaling? nodes = null;
        if (obs.Kubernetes is { } k8s)
        {
            foreach (var w in k8s.Workloads)
            {
                workloads.Add(Workload(w, k8s.Pods, obs, loadStart, loadEnd));
            }

            if (k8s.Nodes.Count > 0)
            {
                nodes = Nodes(k8s.Nodes, obs, loadStart, loadEnd);
            }

            if (loadEnd >= obs.ToSeconds - 1 && (workloads.Any(w => w.PeakReplicas > w.InitialReady) || nodes?.PeakReady > nodes?.InitialReady))
            {
                notes.Add("scale-in not observed: the observer stopped with the load (set observe.cooldown to watch it)");
            }
        }

        var control = new List<ControlLatency>();
        foreach (var probe in obs.Probes)
        {
            control.Add(Control(probe, workloads, obs, loadStart, loadEnd));
        }

        if (control.Count > 0 && control.All(c => c.BaselineP95Ms is null))
        {
            notes.Add("no calm baseline for the control app: the observer started with the load (set observe.baseline)");
        }

        var gapSeconds = obs.Gaps.Sum(g => g.Seconds);
        if (gapSeconds > 0)
        {
            notes.Add($"the observer missed {gapSeconds:0.#} s in {obs.Gaps.Count} gap(s): {string.Join("; ", obs.Gaps.Select(g => g.Reason).Distinct().Take(3))}");
        }

        if (run.Generator.Bottleneck)
        {
            notes.Add("the load generator was saturated: the load it offered, and so the scaling it caused, is suspect");
        }

        return new ScalingMetrics
        {
            LoadStartSeconds = loadStart,
            LoadEndSeconds = loadEnd,
            Workloads = workloads,
            Nodes = nodes,
            Control = control,
            Reactions = ScaleReactionAnalyzer.Derive(run, control),
            GeneratorSaturated = run.Generator.Bottleneck,
            GapSeconds = gapSeconds,
            Notes = notes,
        };
    }

    /// <summary>Nearest-rank percentile (p in 0..100) of the values; null when there are none.</summary>
    public static double? Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static WorkloadScaling Workload(WorkloadTimeline w, IReadOnlyList<PodLife> allPods, Observation obs, double loadStart, double loadEnd)
    {
        var points = w.Replicas.OrderBy(p => p.Seconds).ToList();
        var initial = At(points, loadStart);
        int initialDesired = initial?.Desired ?? 0, initialReady = initial?.Ready ?? 0;
        var during = points.Where(p => p.Seconds >= loadStart).ToList();

        double? firstIncrease = during.FirstOrDefault(p => p.Desired > initialDesired)?.Seconds - loadStart;
        int peak = Math.Max(initialReady, during.Count == 0 ? 0 : during.Max(p => p.Ready));
        int peakDesired = Math.Max(initialDesired, during.Count == 0 ? 0 : during.Max(p => p.Desired));
        double? peakAt = peak > initialReady ? during.First(p => p.Ready == peak).Seconds - loadStart : null;

        var pods = allPods.Where(p => p.Namespace == w.Namespace && p.Deployment == w.Deployment).ToList();
        double? firstNewReady = pods.Where(p => p.CreatedSeconds >= loadStart)
            .Select(p => p.ReadySeconds - loadStart)
            .Min();

        PodLife? longest = null;
        double longestPending = 0;
        foreach (var pod in pods.Where(p => p.CreatedSeconds >= obs.FromSeconds))
        {
            var pending = Pending(pod, obs.ToSeconds).Seconds;
            if (pending > longestPending)
            {
                longestPending = pending;
                longest = pod;
            }
        }

        double? scaleInStart = null, scaleIn = null;
        if (peakDesired > initialDesired)
        {
            var after = points.Where(p => p.Seconds >= loadEnd).ToList();
            var peakDesiredSoFar = At(points, loadEnd)?.Desired ?? initialDesired;
            scaleInStart = after.FirstOrDefault(p => p.Desired < peakDesiredSoFar)?.Seconds - loadEnd;
        }

        if (peak > initialReady)
        {
            var reached = points.First(p => p.Seconds >= loadStart && p.Ready == peak).Seconds;
            scaleIn = points.FirstOrDefault(p => p.Seconds >= Math.Max(loadEnd, reached) && p.Ready <= initialReady && p.Desired <= initialDesired)?.Seconds - loadEnd;
            if (scaleIn < 0)
            {
                scaleIn = 0;
            }
        }

        return new WorkloadScaling
        {
            Namespace = w.Namespace,
            Deployment = w.Deployment,
            InitialDesired = initialDesired,
            InitialReady = initialReady,
            FirstDesiredIncreaseSeconds = firstIncrease,
            FirstNewPodReadySeconds = firstNewReady,
            PeakReplicas = peak,
            PeakSeconds = peakAt,
            PeakDesired = peakDesired,
            LongestPendingSeconds = longest is null ? null : longestPending,
            LongestPendingPod = longest?.Name,
            LongestPendingReason = longest?.PendingReason,
            LongestPendingUnfinished = longest is { ScheduledSeconds: null, DeletedSeconds: null },
            ScaleInStartSeconds = scaleInStart,
            ScaleInSeconds = scaleIn,
        };
    }

    private static NodeScaling Nodes(IReadOnlyList<NodeLife> nodes, Observation obs, double loadStart, double loadEnd)
    {
        static bool ReadyAt(NodeLife n, double t) => n.ReadySeconds <= t && (n.GoneSeconds is null || n.GoneSeconds > t);

        // The ready count only changes when a node becomes Ready or goes: evaluate it at those moments.
        var changes = nodes.SelectMany(n => new[] { n.ReadySeconds, n.GoneSeconds })
            .OfType<double>()
            .Append(obs.FromSeconds)
            .Where(t => t >= obs.FromSeconds && t <= obs.ToSeconds)
            .Distinct()
            .Order()
            .ToList();

        int initial = nodes.Count(n => ReadyAt(n, loadStart));
        int peak = changes.Count == 0 ? initial : changes.Max(t => nodes.Count(n => ReadyAt(n, t)));
        var perZone = nodes.GroupBy(n => n.Zone)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => changes.Count == 0 ? 0 : changes.Max(t => g.Count(n => ReadyAt(n, t))), StringComparer.Ordinal);

        double? firstNew = nodes.Where(n => n.CreatedSeconds >= loadStart).Select(n => n.ReadySeconds - loadStart).Min();

        double nodeSeconds = 0;
        foreach (var n in nodes.Where(n => n.ReadySeconds is not null))
        {
            var from = Math.Max(n.ReadySeconds!.Value, obs.FromSeconds);
            var to = Math.Min(n.GoneSeconds ?? obs.ToSeconds, obs.ToSeconds);
            nodeSeconds += Math.Max(0, to - from);
        }

        double? scaleIn = null;
        if (peak > initial)
        {
            var peakAt = changes.First(t => nodes.Count(n => ReadyAt(n, t)) == peak);
            var back = changes.FirstOrDefault(t => t >= Math.Max(loadEnd, peakAt) && nodes.Count(n => ReadyAt(n, t)) <= initial, double.NaN);
            scaleIn = double.IsNaN(back) ? null : Math.Max(0, back - loadEnd);
        }

        return new NodeScaling
        {
            InitialReady = initial,
            PeakReady = peak,
            FirstNewNodeReadySeconds = firstNew,
            PeakPerZone = perZone,
            NodeMinutes = Math.Round(nodeSeconds / 60, 2),
            ScaleInSeconds = scaleIn,
        };
    }

    private static ControlLatency Control(ProbeResult probe, IReadOnlyList<WorkloadScaling> workloads, Observation obs, double loadStart, double loadEnd)
    {
        // Scale-out window: the first HPA decision to the last deployment reaching its peak. Without scaling, the load.
        var scaled = workloads.Where(w => w.FirstDesiredIncreaseSeconds is not null && w.PeakSeconds is not null).ToList();
        string window = "load";
        double from = loadStart, to = loadEnd;
        if (scaled.Count > 0)
        {
            var f = loadStart + scaled.Min(w => w.FirstDesiredIncreaseSeconds!.Value);
            var t = loadStart + scaled.Max(w => w.PeakSeconds!.Value);
            if (t - f >= 1)
            {
                (window, from, to) = ("scale-out", f, t);
            }
        }

        var baseline = probe.Samples.Where(s => s.Seconds >= obs.FromSeconds && s.Seconds < loadStart).ToList();
        var during = probe.Samples.Where(s => s.Seconds >= from && s.Seconds <= to).ToList();
        var baseP95 = Percentile(baseline.Where(s => s.Ok).Select(s => s.LatencyMs).ToList(), 95);
        var windowP95 = Percentile(during.Where(s => s.Ok).Select(s => s.LatencyMs).ToList(), 95);
        return new ControlLatency
        {
            Target = probe.Target,
            BaselineP95Ms = baseP95,
            BaselineSamples = baseline.Count,
            Window = window,
            WindowFromSeconds = from,
            WindowToSeconds = to,
            WindowP95Ms = windowP95,
            WindowSamples = during.Count,
            WindowErrors = during.Count(s => !s.Ok),
            P95DeltaPercent = baseP95 is > 0 && windowP95 is { } w ? Math.Round((w - baseP95.Value) / baseP95.Value * 100, 1) : null,
        };
    }

    /// <summary>How long a pod waited to be scheduled: until it was, or was deleted, or (unfinished) observing stopped.</summary>
    internal static (double Seconds, bool Unfinished) Pending(PodLife pod, double observedTo) =>
        (Math.Max(0, (pod.ScheduledSeconds ?? pod.DeletedSeconds ?? observedTo) - pod.CreatedSeconds), pod is { ScheduledSeconds: null, DeletedSeconds: null });

    /// <summary>The replica counts in force at <paramref name="t"/> (the first known, before any).</summary>
    internal static ReplicaPoint? At(List<ReplicaPoint> points, double t)
    {
        ReplicaPoint? last = null;
        foreach (var p in points)
        {
            if (p.Seconds > t)
            {
                break;
            }

            last = p;
        }

        return last ?? points.FirstOrDefault();
    }
}
