using System.Globalization;
using k8s.Models;

namespace Constellation.Testing.FakeKubernetes;

/// <summary>The dynamics of <see cref="ClusterSimulator"/>; the defaults are Kubernetes' and cluster-autoscaler's own.</summary>
public sealed record SimulatedCluster
{
    public string Namespace { get; init; } = KubeObjects.Ns;
    public string Deployment { get; init; } = "spin";

    /// <summary>The HPA: its name, replica bounds, target CPU utilization (% of the pods' request).</summary>
    public int MinReplicas { get; init; } = 1;

    public int MaxReplicas { get; init; } = 10;
    public int TargetUtilization { get; init; } = 50;

    /// <summary>Each pod's CPU request: utilization is the measured CPU over ready pods × this.</summary>
    public double CpuRequestCores { get; init; } = 0.1;

    /// <summary>HPA: sync period (--horizontal-pod-autoscaler-sync-period), tolerance, stabilization windows (behavior defaults).</summary>
    public TimeSpan HpaSync { get; init; } = TimeSpan.FromSeconds(15);

    public double Tolerance { get; init; } = 0.1;
    public TimeSpan ScaleUpStabilization { get; init; } = TimeSpan.Zero;
    public TimeSpan ScaleDownStabilization { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Cluster autoscaler: scan interval, pods a node holds, node bounds, boot time (uniform between the two).</summary>
    public TimeSpan CaScan { get; init; } = TimeSpan.FromSeconds(10);

    public int PodsPerNode { get; init; } = 4;
    public int InitialNodes { get; init; } = 1;
    public int MaxNodes { get; init; } = 10;
    public TimeSpan NodeBootMin { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan NodeBootMax { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>Kubelet: image pull, then the readiness probe's first success.</summary>
    public TimeSpan ImagePull { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Readiness { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Seeds the node boot times: the same seed, the same boots.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>What the simulator did, when (the truth a test holds the waterfall to).</summary>
public sealed record SimulatedAction(DateTimeOffset At, string Kind, string Name, double Value = 0, string? Node = null);

/// <summary>
/// A simulated cluster on a <see cref="FakeKubernetesServer"/>: an HPA that syncs every <see cref="SimulatedCluster.HpaSync"/>
/// (the controller's formula, tolerance, stabilization windows, the default scale-up policy of +100% or +4 pods per
/// sync; no metrics-server lag: the CPU is read at each sync) on the CPU a real process burns (the one SpinService that serves the load stands for all the replicas: utilization
/// is its CPU over the ready pods' requests), a scheduler, a cluster autoscaler that adds nodes for unschedulable pods
/// on its scan, and kubelets that pull and probe. It writes Deployment, HPA, Pod and Node objects as the controllers
/// would, and keeps a log of every action — the known truth a scale reaction must be measured against.
/// </summary>
public sealed class ClusterSimulator(FakeKubernetesServer server, SimulatedCluster c, Func<double> cpuSeconds, TimeProvider time)
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);

    private readonly Random _random = new(c.Seed);
    private readonly List<SimPod> _pods = [];
    private readonly List<SimNode> _nodes = [];
    private readonly List<(DateTimeOffset At, int Replicas)> _recommendations = [];
    private readonly Lock _gate = new();
    private readonly List<SimulatedAction> _log = [];
    private int _desired;
    private int _podSeq;
    private int _nodeSeq;
    private double _lastCpu;
    private DateTimeOffset _lastSync;

    /// <summary>Every action so far, in order.</summary>
    public IReadOnlyList<SimulatedAction> Log
    {
        get
        {
            lock (_gate)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>The cluster as it stands before any load: nodes Ready, the minimum replicas Ready on them, the HPA content.</summary>
    public void Seed()
    {
        var longAgo = FakeKubernetesServer.Now().AddHours(-1);
        for (int i = 0; i < c.InitialNodes; i++)
        {
            var node = new SimNode($"node-{++_nodeSeq}", longAgo) { Ready = true };
            _nodes.Add(node);
            server.Apply(NodeObject(node));
        }

        _desired = c.MinReplicas;
        for (int i = 0; i < c.MinReplicas; i++)
        {
            var pod = new SimPod($"{c.Deployment}-{++_podSeq}", longAgo) { Node = Free()!, ReadyAt = time.GetUtcNow(), ReadyApplied = true };
            pod.Node.Pods++;
            _pods.Add(pod);
            server.Apply(PodObject(pod, ready: true));
        }

        ApplyDeployment();
        ApplyHpa(0);
        _lastCpu = cpuSeconds();
        _lastSync = time.GetUtcNow();
    }

    /// <summary>Runs the controllers until cancelled; the first HPA sync and autoscaler scan are one period after the start.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var nextHpa = time.GetUtcNow() + c.HpaSync;
        var nextCa = time.GetUtcNow() + c.CaScan;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                Kubelets(now);
                Schedule(now);
                if (now >= nextHpa)
                {
                    Hpa(now);
                    nextHpa += c.HpaSync;
                }

                if (now >= nextCa)
                {
                    Autoscale(now);
                    nextCa += c.CaScan;
                }

                await Task.Delay(Tick, time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void Record(DateTimeOffset at, string kind, string name, double value = 0, string? node = null)
    {
        lock (_gate)
        {
            _log.Add(new SimulatedAction(at, kind, name, value, node));
        }
    }

    /// <summary>One HPA sync: CPU over the ready pods' requests since the last sync, the kube-controller-manager's formula, tolerance and stabilization.</summary>
    private void Hpa(DateTimeOffset now)
    {
        var cpu = cpuSeconds();
        var rate = (cpu - _lastCpu) / Math.Max(0.001, (now - _lastSync).TotalSeconds);
        (_lastCpu, _lastSync) = (cpu, now);
        int ready = _pods.Count(p => p.IsReady(now));
        if (ready == 0)
        {
            return;
        }

        int utilization = (int)Math.Round(rate / (ready * c.CpuRequestCores) * 100);
        double ratio = (double)utilization / c.TargetUtilization;
        int recommendation = Math.Abs(ratio - 1) <= c.Tolerance ? _desired : (int)Math.Ceiling(ready * ratio);
        _recommendations.Add((now, recommendation));
        _recommendations.RemoveAll(r => now - r.At > (c.ScaleDownStabilization > c.ScaleUpStabilization ? c.ScaleDownStabilization : c.ScaleUpStabilization));

        // Up: the lowest recommendation of the up window, never below the current count; down: the highest of the down
        // window, never above it (Kubernetes' stabilization). Then the default scale-up policy: at most +100% or +4 pods.
        int desired = recommendation > _desired
            ? Math.Max(_desired, _recommendations.Where(r => now - r.At <= c.ScaleUpStabilization).Select(r => r.Replicas).DefaultIfEmpty(recommendation).Min())
            : Math.Min(_desired, _recommendations.Where(r => now - r.At <= c.ScaleDownStabilization).Select(r => r.Replicas).DefaultIfEmpty(recommendation).Max());
        desired = Math.Clamp(Math.Min(desired, Math.Max(_desired * 2, _desired + 4)), c.MinReplicas, c.MaxReplicas);
        Record(now, "metric", "hpa", utilization);
        if (desired != _desired)
        {
            Record(now, "desired", "hpa", desired);
            _desired = desired;
        }

        ApplyHpa(utilization);
        var live = _pods.Where(p => p.DeletedAt is null).ToList();
        for (int i = live.Count; i < _desired; i++)
        {
            var pod = new SimPod($"{c.Deployment}-{++_podSeq}", FakeKubernetesServer.Now());
            _pods.Add(pod);
            Record(now, "pod-created", pod.Name);
            server.Apply(PodObject(pod, ready: false));
        }

        foreach (var pod in live.OrderByDescending(p => p.Created).Take(Math.Max(0, live.Count - _desired)))
        {
            pod.DeletedAt = now;
            if (pod.Node is { } node)
            {
                node.Pods--;
            }

            Record(now, "pod-deleted", pod.Name);
            server.Delete("pods", c.Namespace, pod.Name);
        }

        ApplyDeployment();
    }

    /// <summary>The scheduler: every unscheduled pod onto a Ready node with room, else Unschedulable.</summary>
    private void Schedule(DateTimeOffset now)
    {
        foreach (var pod in _pods.Where(p => p.Node is null && p.DeletedAt is null))
        {
            if (Free() is { } node)
            {
                pod.Node = node;
                node.Pods++;
                pod.ReadyAt = now + c.ImagePull + c.Readiness;
                Record(now, "pod-scheduled", pod.Name, node: node.Name);
                server.Apply(PodObject(pod, ready: false));
            }
            else if (!pod.Unschedulable)
            {
                pod.Unschedulable = true;
                Record(now, "pod-unschedulable", pod.Name);
                server.Apply(PodObject(pod, ready: false));
            }
        }
    }

    /// <summary>The kubelets: a scheduled pod is Ready once pulled and probed; a booted node is Ready.</summary>
    private void Kubelets(DateTimeOffset now)
    {
        foreach (var node in _nodes.Where(n => !n.Ready && now >= n.ReadyAt))
        {
            node.Ready = true;
            Record(now, "node-ready", node.Name);
            server.Apply(NodeObject(node));
        }

        bool changed = false;
        foreach (var pod in _pods.Where(p => p.DeletedAt is null && p.Node is not null && !p.ReadyApplied && p.ReadyAt <= now))
        {
            pod.ReadyApplied = true;
            changed = true;
            Record(now, "pod-ready", pod.Name);
            server.Apply(PodObject(pod, ready: true));
        }

        if (changed)
        {
            ApplyDeployment();
        }
    }

    /// <summary>The cluster autoscaler's scan: enough new nodes for the unschedulable pods, counting those still booting.</summary>
    private void Autoscale(DateTimeOffset now)
    {
        int waiting = _pods.Count(p => p.Node is null && p.DeletedAt is null && p.Unschedulable);
        int booting = _nodes.Count(n => !n.Ready);
        int needed = (int)Math.Ceiling(waiting / (double)c.PodsPerNode) - booting;
        for (int i = 0; i < needed && _nodes.Count < c.MaxNodes; i++)
        {
            var boot = c.NodeBootMin + ((c.NodeBootMax - c.NodeBootMin) * _random.NextDouble());
            var node = new SimNode($"node-{++_nodeSeq}", FakeKubernetesServer.Now()) { ReadyAt = now + boot };
            _nodes.Add(node);
            Record(now, "node-created", node.Name, boot.TotalSeconds);
            server.Apply(NodeObject(node));
        }
    }

    private SimNode? Free() => _nodes.FirstOrDefault(n => n.Ready && n.Pods < c.PodsPerNode);

    private void ApplyDeployment() => server.Apply(KubeObjects.Deployment(c.Deployment, _desired, _pods.Count(p => p.DeletedAt is null && p.ReadyApplied), c.Namespace));

    private void ApplyHpa(int utilization)
    {
        var hpa = KubeObjects.Hpa(c.Deployment, _desired, _pods.Count(p => p.DeletedAt is null), utilization, c.Namespace);
        hpa.Spec.MinReplicas = c.MinReplicas;
        hpa.Spec.MaxReplicas = c.MaxReplicas;
        hpa.Spec.Metrics = [new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = c.TargetUtilization } } }];
        server.Apply(hpa);
    }

    private V1Node NodeObject(SimNode n)
    {
        var node = KubeObjects.Node(n.Name, n.Name.EndsWith('1') ? "eu-west-1a" : "eu-west-1b", n.Ready);
        node.Metadata.CreationTimestamp = n.Created;
        return node;
    }

    private V1Pod PodObject(SimPod p, bool ready)
    {
        // Ready or not, every write carries all conditions with this moment's time: the observer keeps the first it saw of each.
        var full = _nodes.Count(n => n.Ready);
        return KubeObjects.Pod(p.Name, c.Deployment, p.Node?.Name, scheduled: p.Node is not null, ready: ready, pendingMessage: p.Unschedulable && p.Node is null ? $"0/{full} nodes are available: {full} Insufficient cpu." : null, created: p.Created, ns: c.Namespace);
    }

    private sealed class SimPod(string name, DateTime created)
    {
        public string Name { get; } = name;
        public DateTime Created { get; } = created;
        public SimNode? Node { get; set; }
        public bool Unschedulable { get; set; }
        public DateTimeOffset ReadyAt { get; set; } = DateTimeOffset.MaxValue;
        public bool ReadyApplied { get; set; }
        public DateTimeOffset? DeletedAt { get; set; }

        public bool IsReady(DateTimeOffset now) => DeletedAt is null && ReadyApplied && ReadyAt <= now;
    }

    private sealed class SimNode(string name, DateTime created)
    {
        public string Name { get; } = name;
        public DateTime Created { get; } = created;
        public bool Ready { get; set; }
        public DateTimeOffset ReadyAt { get; set; } = DateTimeOffset.MaxValue;
        public int Pods { get; set; }
    }

    /// <summary>The log as lines, for a failing test's message.</summary>
    public string Describe(DateTimeOffset origin) => string.Join('\n', Log.Select(a => string.Create(CultureInfo.InvariantCulture, $"{(a.At - origin).TotalSeconds,7:0.00} {a.Kind} {a.Name} {a.Value:0.##}")));
}
