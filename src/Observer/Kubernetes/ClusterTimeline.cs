using Constellation.Core.Plans;
using Constellation.Core.Results;
using k8s;
using k8s.Models;

namespace Constellation.Observer.Kubernetes;

/// <summary>
/// What the cluster did during the run, built from its objects as the watches deliver them: each deployment's desired
/// and ready replicas and HPA metric over time, every pod's life (created, scheduled, ready, deleted, why it waited),
/// every node's (created, ready, gone) and the events worth a mark. No I/O and no clock of its own: it is fed
/// <c>(type, object)</c> pairs and lists, and times them with the recorder, so it is tested without any API server.
/// Thread-safe: the watches call it concurrently.
/// </summary>
public sealed class ClusterTimeline
{
    /// <summary>Event reasons worth a mark on the timeline.</summary>
    public static readonly IReadOnlySet<string> InterestingReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "SuccessfulRescale", "FailedGetResourceMetric", "FailedComputeMetricsReplicas", "ScalingReplicaSet",
        "TriggeredScaleUp", "NotTriggerScaleUp", "ScaleDown", "ScaleDownEmpty", "FailedScheduling", "Preempted", "Evicted",
        "Nominated", "Launched", "Registered", "Initialized", "DisruptionTerminating", "Unconsolidatable",
    };

    private readonly ObservationRecorder _recorder;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, WorkloadState> _workloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodState> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeState> _nodes = new(StringComparer.Ordinal);
    private bool _nodesListed;

    public ClusterTimeline(IEnumerable<WorkloadSpec> workloads, ObservationRecorder recorder)
    {
        _recorder = recorder;
        foreach (var w in workloads)
        {
            _workloads[Key(w.Namespace, w.Deployment)] = new WorkloadState(w);
        }
    }

    /// <summary>The pod selector of a workload: the plan's, else the deployment's own once a deployment event taught it.</summary>
    public string? SelectorOf(WorkloadSpec workload)
    {
        lock (_gate)
        {
            return _workloads[Key(workload.Namespace, workload.Deployment)].Selector;
        }
    }

    /// <summary>A deployment of the plan changed (or was listed: <see cref="WatchEventType.Modified"/>).</summary>
    public void Deployment(WatchEventType type, V1Deployment d)
    {
        lock (_gate)
        {
            var w = _workloads.Values.FirstOrDefault(w => w.Spec.Deployment == d.Metadata?.Name && SameNamespace(w, d.Metadata));
            if (w is null)
            {
                return; // not one the plan watches
            }

            if (type == WatchEventType.Deleted)
            {
                _recorder.Event(_recorder.Now, "DeploymentDeleted", $"deployment {w.Spec.Namespace}/{w.Spec.Deployment} was deleted", $"deployment/{w.Spec.Namespace}/{w.Spec.Deployment}");
                w.SpecReplicas = 0;
                w.Ready = 0;
            }
            else
            {
                w.SpecReplicas = d.Spec?.Replicas ?? 1;
                w.Ready = d.Status?.ReadyReplicas ?? 0;
                if (w.Selector is null && d.Spec?.Selector?.MatchLabels is { Count: > 0 } labels)
                {
                    w.Selector = string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
                }
            }

            w.Append(_recorder.Now);
        }
    }

    /// <summary>An HPA of the plan changed: its desired replicas and first utilization metric.</summary>
    public void Hpa(V2HorizontalPodAutoscaler h)
    {
        lock (_gate)
        {
            foreach (var w in _workloads.Values.Where(w => w.Spec.Hpa is not null && w.Spec.Hpa == h.Metadata?.Name && SameNamespace(w, h.Metadata)))
            {
                w.HpaDesired = h.Status?.DesiredReplicas;
                var metric = h.Status?.CurrentMetrics?.FirstOrDefault(m => m.Resource?.Current?.AverageUtilization is not null);
                w.HpaMetric = metric?.Resource?.Current?.AverageUtilization;

                // The target of the same resource (CPU, say), for the waterfall's "metric above target".
                var resource = metric?.Resource?.Name;
                w.HpaMax = h.Spec?.MaxReplicas ?? w.HpaMax;
                w.HpaTarget = h.Spec?.Metrics?.FirstOrDefault(m => m.Resource?.Target?.AverageUtilization is not null && (resource is null || m.Resource.Name == resource))?.Resource.Target.AverageUtilization ?? w.HpaTarget;
                if (w.HpaMetric is { } m)
                {
                    _recorder.Point("HPA metric", $"{h.Metadata!.Name} {metric!.Resource.Name} utilization", "%", _recorder.Now, m);
                }

                w.Append(_recorder.Now);
            }
        }
    }

    /// <summary>A fresh list of a workload's pods: each is applied, and one missing from it was deleted while nobody watched.</summary>
    public void PodsListed(WorkloadSpec workload, IEnumerable<V1Pod> items)
    {
        lock (_gate)
        {
            var w = _workloads[Key(workload.Namespace, workload.Deployment)];
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pod in items)
            {
                present.Add(PodKey(pod));
                OnPod(WatchEventType.Modified, pod, w);
            }

            // Gone while we were not watching: deleted some time in the gap; now is the best we know.
            foreach (var p in _pods.Where(kv => kv.Value.Workload == w && kv.Value.Deleted is null && !present.Contains(kv.Key)))
            {
                p.Value.Deleted = _recorder.Now;
            }
        }
    }

    /// <summary>A pod of a workload (the watch of its selector delivered it) changed.</summary>
    public void Pod(WatchEventType type, V1Pod pod, WorkloadSpec workload)
    {
        lock (_gate)
        {
            OnPod(type, pod, _workloads[Key(workload.Namespace, workload.Deployment)]);
        }
    }

    /// <summary>A fresh list of the nodes: the first one is the cluster as it was; a node missing from a later one is gone.</summary>
    public void NodesListed(IEnumerable<V1Node> items)
    {
        lock (_gate)
        {
            var present = new HashSet<string>(StringComparer.Ordinal);
            var first = !_nodesListed;
            _nodesListed = true;
            foreach (var node in items)
            {
                present.Add(node.Metadata.Name);
                OnNode(WatchEventType.Modified, node, first);
            }

            foreach (var n in _nodes.Values.Where(n => n.Gone is null && !present.Contains(n.Name)))
            {
                n.Gone = _recorder.Now;
                _recorder.Event(n.Gone.Value, "NodeRemoved", $"node {n.Name} ({n.Zone}) is gone", $"node/{n.Name}");
            }
        }
    }

    /// <summary>A node changed.</summary>
    public void Node(WatchEventType type, V1Node node)
    {
        lock (_gate)
        {
            OnNode(type, node, firstList: false);
        }
    }

    /// <summary>A Kubernetes event: kept when its reason is one of <see cref="InterestingReasons"/> and it happened during the run.</summary>
    public void Event(WatchEventType type, Corev1Event e)
    {
        if (type == WatchEventType.Deleted || e.Reason is null || !InterestingReasons.Contains(e.Reason))
        {
            return;
        }

        var at = _recorder.Stamp(e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp);
        if (at < -1)
        {
            return; // an old event touched again without a new occurrence
        }

        var obj = e.InvolvedObject is { } o ? $"{o.Kind?.ToLowerInvariant()}/{o.NamespaceProperty}/{o.Name}" : null;
        _recorder.Event(at, e.Reason, e.Message ?? e.Reason, obj);
        lock (_gate)
        {
            if (e.Reason == "FailedScheduling" && e.InvolvedObject?.Uid is { } uid && _pods.TryGetValue(uid, out var pod) && pod.Scheduled is null)
            {
                pod.PendingReason = $"FailedScheduling: {e.Message}";
            }
        }
    }

    /// <summary>Which deployment each pod ("namespace/name") belongs to, and which group each node is in: for the metrics poller.</summary>
    public (IReadOnlyDictionary<string, string> PodOwner, IReadOnlyDictionary<string, string> NodeGroup) Owners()
    {
        lock (_gate)
        {
            return (
                _pods.Values.GroupBy(p => Key(p.Namespace, p.Name)).ToDictionary(g => g.Key, g => g.Last().Deployment, StringComparer.Ordinal),
                _nodes.Values.ToDictionary(n => n.Name, n => n.NodeGroup ?? "nodes", StringComparer.Ordinal));
        }
    }

    /// <summary>What was seen so far: the timeline for the run record.</summary>
    public KubernetesTimeline Snapshot()
    {
        lock (_gate)
        {
            return new KubernetesTimeline
            {
                Workloads = _workloads.Values.Select(w => new WorkloadTimeline(w.Spec.Namespace, w.Spec.Deployment, w.Spec.Hpa, [.. w.Points]) { HpaTarget = w.HpaTarget, HpaMax = w.HpaMax }).ToList(),
                Pods = _pods.Values.OrderBy(p => p.Created).ThenBy(p => p.Name, StringComparer.Ordinal).Select(p => new PodLife
                {
                    Namespace = p.Namespace,
                    Name = p.Name,
                    Deployment = p.Deployment,
                    Node = p.Node,
                    CreatedSeconds = p.Created,
                    ScheduledSeconds = p.Scheduled,
                    ReadySeconds = p.Ready,
                    DeletedSeconds = p.Deleted,
                    PendingReason = p.PendingReason,
                }).ToList(),
                Nodes = _nodes.Values.OrderBy(n => n.Created).ThenBy(n => n.Name, StringComparer.Ordinal).Select(n => new NodeLife
                {
                    Name = n.Name,
                    Zone = n.Zone,
                    InstanceType = n.InstanceType,
                    CapacityType = n.CapacityType,
                    NodeGroup = n.NodeGroup,
                    CreatedSeconds = n.Created,
                    ReadySeconds = n.Ready,
                    GoneSeconds = n.Gone,
                }).ToList(),
            };
        }
    }

    private void OnPod(WatchEventType type, V1Pod pod, WorkloadState w)
    {
        var key = PodKey(pod);
        if (!_pods.TryGetValue(key, out var p))
        {
            p = new PodState(w, pod.Metadata.NamespaceProperty ?? w.Spec.Namespace, pod.Metadata.Name, _recorder.Stamp(pod.Metadata.CreationTimestamp));
            _pods[key] = p;
        }

        p.Node = pod.Spec?.NodeName ?? p.Node;
        var conditions = pod.Status?.Conditions ?? [];
        var scheduled = conditions.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled?.Status == "True")
        {
            p.Scheduled ??= Math.Max(p.Created, _recorder.Stamp(scheduled.LastTransitionTime));
        }
        else if (scheduled?.Status == "False" && p.Scheduled is null)
        {
            p.PendingReason = string.IsNullOrEmpty(scheduled.Message) ? scheduled.Reason : $"{scheduled.Reason}: {scheduled.Message}";
        }

        var ready = conditions.FirstOrDefault(c => c.Type == "Ready");
        if (ready?.Status == "True")
        {
            p.Ready ??= Math.Max(p.Scheduled ?? p.Created, _recorder.Stamp(ready.LastTransitionTime));
        }

        if (type == WatchEventType.Deleted)
        {
            p.Deleted ??= _recorder.Now;
        }
    }

    private void OnNode(WatchEventType type, V1Node node, bool firstList)
    {
        var name = node.Metadata.Name;
        if (!_nodes.TryGetValue(name, out var n))
        {
            var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
            n = new NodeState(name, _recorder.Stamp(node.Metadata.CreationTimestamp))
            {
                Zone = Label(labels, "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone") ?? "unknown",
                InstanceType = Label(labels, "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"),
                CapacityType = Label(labels, "eks.amazonaws.com/capacityType", "karpenter.sh/capacity-type")?.ToLowerInvariant().Replace('_', '-'),
                NodeGroup = Label(labels, "eks.amazonaws.com/nodegroup", "alpha.eksctl.io/nodegroup-name", "karpenter.sh/nodepool"),
                InFirstList = firstList,
            };
            _nodes[name] = n;
        }

        if (type == WatchEventType.Deleted)
        {
            if (n.Gone is null)
            {
                n.Gone = _recorder.Now;
                _recorder.Event(n.Gone.Value, "NodeRemoved", $"node {name} ({n.Zone}) was deleted", $"node/{name}");
            }

            return;
        }

        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        if (ready?.Status == "True" && n.Ready is null)
        {
            n.Ready = Math.Max(n.Created, _recorder.Stamp(ready.LastTransitionTime));
            if (n.SeenNotReady || !n.InFirstList)
            {
                _recorder.Event(n.Ready.Value, "NodeReady", $"node {name} Ready ({Describe(n)})", $"node/{name}");
            }
        }
        else if (ready?.Status != "True" && n.Ready is null)
        {
            n.SeenNotReady = true;
        }
        else if (ready?.Status != "True" && n.Ready is not null && n.Gone is null)
        {
            n.Gone = _recorder.Stamp(ready?.LastTransitionTime);
            _recorder.Event(n.Gone.Value, "NodeNotReady", $"node {name} is no longer Ready", $"node/{name}");
        }
    }

    // The watch asked for one namespace: an object that does not name its own is in it.
    private static bool SameNamespace(WorkloadState w, V1ObjectMeta? meta) => meta?.NamespaceProperty is not { } ns || ns == w.Spec.Namespace;

    private static string Describe(NodeState n) => string.Join(", ", new[] { n.Zone, n.InstanceType, n.CapacityType, n.NodeGroup }.Where(s => !string.IsNullOrEmpty(s)));

    private static string? Label(IDictionary<string, string> labels, params string[] keys)
        => keys.Select(k => labels.TryGetValue(k, out var v) ? v : null).FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static string PodKey(V1Pod pod) => pod.Metadata.Uid ?? Key(pod.Metadata.NamespaceProperty ?? string.Empty, pod.Metadata.Name);

    internal static string Key(string ns, string name) => $"{ns}/{name}";

    private sealed class WorkloadState(WorkloadSpec spec)
    {
        public WorkloadSpec Spec { get; } = spec;
        public string? Selector { get; set; } = spec.Selector;
        public int SpecReplicas { get; set; }
        public int Ready { get; set; }
        public int? HpaDesired { get; set; }
        public double? HpaMetric { get; set; }
        public double? HpaTarget { get; set; }
        public int? HpaMax { get; set; }
        public List<ReplicaPoint> Points { get; } = [];

        public void Append(double now)
        {
            var p = new ReplicaPoint(Math.Round(now, 3), HpaDesired ?? SpecReplicas, Ready, HpaMetric);
            if (Points.Count > 0 && Points[^1] is var last && last.Desired == p.Desired && last.Ready == p.Ready && last.HpaMetric == p.HpaMetric)
            {
                return;
            }

            Points.Add(p);
        }
    }

    private sealed class PodState(WorkloadState workload, string ns, string name, double created)
    {
        public WorkloadState Workload { get; } = workload;
        public string Namespace { get; } = ns;
        public string Name { get; } = name;
        public string Deployment => Workload.Spec.Deployment;
        public double Created { get; } = created;
        public string? Node { get; set; }
        public double? Scheduled { get; set; }
        public double? Ready { get; set; }
        public double? Deleted { get; set; }
        public string? PendingReason { get; set; }
    }

    private sealed class NodeState(string name, double created)
    {
        public string Name { get; } = name;
        public double Created { get; } = created;
        public string Zone { get; init; } = "unknown";
        public string? InstanceType { get; init; }
        public string? CapacityType { get; init; }
        public string? NodeGroup { get; init; }
        public double? Ready { get; set; }
        public double? Gone { get; set; }

        /// <summary>Already there when the observer started: its Ready is not news.</summary>
        public bool InFirstList { get; init; }

        /// <summary>Seen before it was Ready: it joined while we watched (a node already Ready in the first list did not).</summary>
        public bool SeenNotReady { get; set; }
    }
}
