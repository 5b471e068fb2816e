namespace Constellation.Core.Results;

/// <summary>
/// What the scale test is about, derived from the observation: how fast each deployment and the nodes scaled out
/// under the load and back in after it, and whether the control app stayed fast. Times are seconds from the load
/// start (scale-out) or from the load end (scale-in); null when it did not happen in the observed window.
/// </summary>
public sealed record ScalingMetrics
{
    /// <summary>Run-timeline seconds when the first scenario started and the last one ended.</summary>
    public required double LoadStartSeconds { get; init; }

    public required double LoadEndSeconds { get; init; }

    public IReadOnlyList<WorkloadScaling> Workloads { get; init; } = [];
    public NodeScaling? Nodes { get; init; }
    public IReadOnlyList<ControlLatency> Control { get; init; } = [];

    /// <summary>The scale-reaction waterfall of every scenario aimed at a watched deployment.</summary>
    public IReadOnlyList<ScaleReaction> Reactions { get; init; } = [];

    /// <summary>The load generator was the limit: the numbers describe the generator, not the cluster.</summary>
    public bool GeneratorSaturated { get; init; }

    /// <summary>Seconds the observer saw nothing, over all samplers.</summary>
    public double GapSeconds { get; init; }

    /// <summary>Why a metric is missing or to be read with care.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>How one deployment scaled.</summary>
public sealed record WorkloadScaling
{
    public required string Namespace { get; init; }
    public required string Deployment { get; init; }

    /// <summary>Desired and ready replicas when the load started.</summary>
    public required int InitialDesired { get; init; }

    public required int InitialReady { get; init; }

    /// <summary>Load start to the first increase of the desired replicas (the HPA's decision).</summary>
    public double? FirstDesiredIncreaseSeconds { get; init; }

    /// <summary>Load start to the first pod created after it being Ready.</summary>
    public double? FirstNewPodReadySeconds { get; init; }

    /// <summary>Most ready replicas seen, and load start to the moment it was first reached (null when it never grew).</summary>
    public required int PeakReplicas { get; init; }

    public double? PeakSeconds { get; init; }
    public required int PeakDesired { get; init; }

    /// <summary>The pod that waited longest to be scheduled, how long, and why.</summary>
    public double? LongestPendingSeconds { get; init; }

    public string? LongestPendingPod { get; init; }
    public string? LongestPendingReason { get; init; }

    /// <summary>True when that pod was still pending when observing stopped (the time is a lower bound).</summary>
    public bool LongestPendingUnfinished { get; init; }

    /// <summary>Load end to the first decrease of the desired replicas.</summary>
    public double? ScaleInStartSeconds { get; init; }

    /// <summary>Load end to ready replicas back at the initial count.</summary>
    public double? ScaleInSeconds { get; init; }
}

/// <summary>How the nodes scaled.</summary>
public sealed record NodeScaling
{
    public required int InitialReady { get; init; }
    public required int PeakReady { get; init; }

    /// <summary>Load start to the first node created after it being Ready.</summary>
    public double? FirstNewNodeReadySeconds { get; init; }

    public required IReadOnlyDictionary<string, int> PeakPerZone { get; init; }

    /// <summary>Ready node-minutes over the observed window.</summary>
    public required double NodeMinutes { get; init; }

    /// <summary>Load end to ready nodes back at the initial count.</summary>
    public double? ScaleInSeconds { get; init; }
}

/// <summary>The control app's probe latency while things scaled, against its calm baseline.</summary>
public sealed record ControlLatency
{
    public required string Target { get; init; }

    /// <summary>p95 of the probes before the load (null without an observe.baseline).</summary>
    public double? BaselineP95Ms { get; init; }

    public required int BaselineSamples { get; init; }

    /// <summary>"scale-out" (first HPA increase to peak replicas) or "load" (the whole load, when nothing scaled).</summary>
    public required string Window { get; init; }

    public required double WindowFromSeconds { get; init; }
    public required double WindowToSeconds { get; init; }
    public double? WindowP95Ms { get; init; }
    public required int WindowSamples { get; init; }

    /// <summary>Probes in the window that failed (no answer, or 4xx/5xx).</summary>
    public required int WindowErrors { get; init; }

    /// <summary>(window p95 − baseline p95) / baseline p95, in percent.</summary>
    public double? P95DeltaPercent { get; init; }
}
