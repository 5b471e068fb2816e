namespace Constellation.Core.Results;

/// <summary>
/// Everything the observer saw beside the load, on the run's timeline (seconds since the run started; samples
/// taken before the load, in the calm baseline, have negative seconds).
/// </summary>
public sealed record Observation
{
    /// <summary>Seconds (run timeline) when the observer started: before the load when the plan asks for a baseline.</summary>
    public required double FromSeconds { get; init; }

    /// <summary>Seconds when it stopped: after the load when the plan asks for a cooldown (scale-in).</summary>
    public required double ToSeconds { get; init; }

    /// <summary>The samplers that ran and how each fared.</summary>
    public IReadOnlyList<SamplerReport> Samplers { get; init; } = [];

    /// <summary>Stretches in which a sampler saw nothing (API down, 503 from metrics.k8s.io, a broken watch).</summary>
    public IReadOnlyList<ObservationGap> Gaps { get; init; } = [];

    /// <summary>The control-app probes: "did the other apps stay fast".</summary>
    public IReadOnlyList<ProbeResult> Probes { get; init; } = [];

    /// <summary>Deployments, their pods and the nodes, when a Kubernetes sampler ran.</summary>
    public KubernetesTimeline? Kubernetes { get; init; }
}

/// <summary>One sampler's account: how many samples it took, how many errors it met.</summary>
public sealed record SamplerReport(string Name, string Kind, long Samples, long Errors)
{
    /// <summary>Seconds without data in total.</summary>
    public double GapSeconds { get; init; }

    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>A stretch without data from one sampler and why; <see cref="ToSeconds"/> is the observation end when it never closed.</summary>
public sealed record ObservationGap(string Sampler, double FromSeconds, double ToSeconds, string Reason)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public double Seconds => ToSeconds - FromSeconds;
}

/// <summary>A low fixed-rate probe of a control app, separate from the load.</summary>
public sealed record ProbeResult(string Target, string Url, double RatePerSecond, IReadOnlyList<ProbeSample> Samples);

/// <summary>One probe: when it was sent, its latency, and the status (0 when no response came).</summary>
public sealed record ProbeSample(double Seconds, double LatencyMs, int Status)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Ok => Status is >= 200 and < 400;
}

/// <summary>What the Kubernetes sampler saw: replica counts per deployment, each pod's and node's life.</summary>
public sealed record KubernetesTimeline
{
    public IReadOnlyList<WorkloadTimeline> Workloads { get; init; } = [];
    public IReadOnlyList<PodLife> Pods { get; init; } = [];
    public IReadOnlyList<NodeLife> Nodes { get; init; } = [];
}

/// <summary>One watched deployment (and its HPA): replica counts whenever they changed.</summary>
public sealed record WorkloadTimeline(string Namespace, string Deployment, string? Hpa, IReadOnlyList<ReplicaPoint> Replicas)
{
    /// <summary>The HPA's target utilization (%) for the metric in <see cref="ReplicaPoint.HpaMetric"/>, when it has one.</summary>
    public double? HpaTarget { get; init; }

    /// <summary>The HPA's maximum replicas.</summary>
    public int? HpaMax { get; init; }
}

/// <summary>
/// Replica counts from a moment on: desired (the HPA's desired replicas, or the deployment's spec without an HPA),
/// ready (the deployment's ready replicas) and the HPA's current metric (e.g. CPU utilization %), if any.
/// </summary>
public sealed record ReplicaPoint(double Seconds, int Desired, int Ready, double? HpaMetric = null);

/// <summary>A pod of a watched deployment: when it was created, scheduled, Ready and gone (null: not in the observed window).</summary>
public sealed record PodLife
{
    public required string Namespace { get; init; }
    public required string Name { get; init; }
    public required string Deployment { get; init; }
    public string? Node { get; init; }

    /// <summary>Creation time; for pods that existed before the observer started, their real creation time (may be long before).</summary>
    public required double CreatedSeconds { get; init; }

    public double? ScheduledSeconds { get; init; }
    public double? ReadySeconds { get; init; }
    public double? DeletedSeconds { get; init; }

    /// <summary>Why the pod waited to be scheduled (e.g. "Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.").</summary>
    public string? PendingReason { get; init; }
}

/// <summary>A node: where it is, what it is, when it joined, became Ready and left.</summary>
public sealed record NodeLife
{
    public required string Name { get; init; }
    public string Zone { get; init; } = "unknown";
    public string? InstanceType { get; init; }

    /// <summary>on-demand or spot, when the node says.</summary>
    public string? CapacityType { get; init; }

    /// <summary>EKS node group, eksctl node group or Karpenter node pool.</summary>
    public string? NodeGroup { get; init; }

    public required double CreatedSeconds { get; init; }
    public double? ReadySeconds { get; init; }

    /// <summary>When it stopped being Ready (or was deleted), if it did.</summary>
    public double? GoneSeconds { get; init; }
}
