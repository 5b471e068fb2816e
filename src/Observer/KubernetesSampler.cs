using Microsoft.Extensions.Logging;
using System.Net;
using System.Text.Json;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;

namespace Constellation.Observer;

/// <summary>
/// Watches the plan's deployments (and their HPAs and pods), the nodes and the events through the Kubernetes API,
/// and polls metrics.k8s.io for CPU and memory. Every watch lists once, then follows changes from that
/// resourceVersion: after a cut it resumes from the last version it saw, after 410 Gone it lists again. A failing
/// API leaves a marked gap and is retried with backoff; nothing here stops the run.
/// </summary>
public sealed class KubernetesSampler : ISampler
{
    /// <summary>Event reasons worth a mark on the timeline.</summary>
    public static readonly IReadOnlySet<string> InterestingReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "SuccessfulRescale", "FailedGetResourceMetric", "FailedComputeMetricsReplicas", "ScalingReplicaSet",
        "TriggeredScaleUp", "NotTriggerScaleUp", "ScaleDown", "ScaleDownEmpty", "FailedScheduling", "Preempted", "Evicted",
        "Nominated", "Launched", "Registered", "Initialized", "DisruptionTerminating", "Unconsolidatable",
    };

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly KubernetesSamplerSpec _spec;
    private readonly Func<KubernetesClientConfiguration> _config;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, WorkloadState> _workloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodState> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeState> _nodes = new(StringComparer.Ordinal);
    private IKubernetes? _client;
    private readonly List<IKubernetes> _retired = [];
    private bool _nodesListed;

    public KubernetesSampler(KubernetesSamplerSpec spec, Func<KubernetesClientConfiguration> config, TimeProvider time, ILogger log)
    {
        _spec = spec;
        _config = config;
        _time = time;
        _log = log;
        foreach (var w in spec.Workloads)
        {
            _workloads[Key(w.Namespace, w.Deployment)] = new WorkloadState(w);
        }
    }

    public string Name => "kubernetes";

    /// <summary>How long the server keeps one watch open before we open the next (it may close earlier).</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;

    /// <summary>The client configuration a plan names: in-cluster, or a kubeconfig (default $KUBECONFIG, ~/.kube/config) and context.</summary>
    public static Func<KubernetesClientConfiguration> ConfigFrom(KubernetesSamplerSpec spec) => () =>
    {
        var config = spec.InCluster
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(ExpandHome(spec.Kubeconfig), spec.Context);
        config.HttpClientTimeout = spec.RequestTimeout;
        return config;
    };

    public async Task RunAsync(ObservationRecorder recorder, CancellationToken stop)
    {
        recorder.SetKubernetes(Snapshot);
        if (!TryConnect(recorder))
        {
            return;
        }

        var tasks = new List<Task>();
        foreach (var w in _workloads.Values)
        {
            tasks.Add(WatchWorkloadAsync(recorder, w, stop));
        }

        tasks.Add(WatchLoopAsync<V1Node>(
            recorder,
            "nodes",
            async (c, ct) => Page(await c.CoreV1.ListNodeAsync(labelSelector: _spec.NodeSelector, cancellationToken: ct).ConfigureAwait(false)),
            (c, rv, onError, ct) => c.CoreV1.WatchListNodeAsync(allowWatchBookmarks: true, labelSelector: _spec.NodeSelector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
            items => ReconcileNodes(recorder, items),
            (type, node) => OnNode(recorder, type, node),
            stop));

        var eventNamespaces = _spec.EventNamespaces.Count > 0
            ? _spec.EventNamespaces
            : _spec.Workloads.Select(w => w.Namespace).Append("default").Append("kube-system").Distinct(StringComparer.Ordinal).ToList();
        foreach (var ns in eventNamespaces)
        {
            tasks.Add(WatchLoopAsync<Corev1Event>(
                recorder,
                $"events {ns}",
                async (c, ct) => Page(await c.CoreV1.ListNamespacedEventAsync(ns, limit: 1, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.CoreV1.WatchListNamespacedEventAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                _ => { }, // events that happened before the observer are history, not part of this run
                (type, e) => OnEvent(recorder, type, e),
                stop));
        }

        if (_spec.MetricsInterval > TimeSpan.Zero)
        {
            tasks.Add(PollMetricsAsync(recorder, stop));
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                foreach (var c in _retired.Append(_client).OfType<IKubernetes>())
                {
                    c.Dispose();
                }

                _retired.Clear();
                _client = null;
            }
        }
    }

    /// <summary>What was seen so far: the timeline for the run record.</summary>
    public KubernetesTimeline Snapshot()
    {
        lock (_gate)
        {
            return new KubernetesTimeline
            {
                Workloads = _workloads.Values.Select(w => new WorkloadTimeline(w.Spec.Namespace, w.Spec.Deployment, w.Spec.Hpa, [.. w.Points])).ToList(),
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

    private bool TryConnect(ObservationRecorder recorder, IKubernetes? failed = null)
    {
        lock (_gate)
        {
            // Several watches meet the same expired token at once: the first one rebuilds, the rest use its client.
            if (failed is not null && !ReferenceEquals(failed, _client))
            {
                return true;
            }
        }

        try
        {
            var client = new Kubernetes(_config());
            lock (_gate)
            {
                // The old client may still carry other watches' requests: it is disposed when the sampler stops.
                if (_client is not null)
                {
                    _retired.Add(_client);
                }

                _client = client;
            }

            return true;
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            recorder.OpenGap(Name, $"no Kubernetes client: {e.Message}");
            recorder.Count(Name, 0, 1);
            _log.NoKubernetesClient(e.Message);
            return false;
        }
    }

    private async Task WatchWorkloadAsync(ObservationRecorder recorder, WorkloadState w, CancellationToken stop)
    {
        var ns = w.Spec.Namespace;
        var name = w.Spec.Deployment;
        var fieldSelector = $"metadata.name={name}";
        var deployments = WatchLoopAsync<V1Deployment>(
            recorder,
            $"deployment {ns}/{name}",
            async (c, ct) => Page(await c.AppsV1.ListNamespacedDeploymentAsync(ns, fieldSelector: fieldSelector, cancellationToken: ct).ConfigureAwait(false)),
            (c, rv, onError, ct) => c.AppsV1.WatchListNamespacedDeploymentAsync(ns, allowWatchBookmarks: true, fieldSelector: fieldSelector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
            items =>
            {
                foreach (var d in items)
                {
                    OnDeployment(recorder, WatchEventType.Modified, d, w);
                }
            },
            (type, d) => OnDeployment(recorder, type, d, w),
            stop);

        var tasks = new List<Task> { deployments };
        if (w.Spec.Hpa is { } hpa)
        {
            var hpaSelector = $"metadata.name={hpa}";
            tasks.Add(WatchLoopAsync<V2HorizontalPodAutoscaler>(
                recorder,
                $"hpa {ns}/{hpa}",
                async (c, ct) => Page(await c.AutoscalingV2.ListNamespacedHorizontalPodAutoscalerAsync(ns, fieldSelector: hpaSelector, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.AutoscalingV2.WatchListNamespacedHorizontalPodAutoscalerAsync(ns, allowWatchBookmarks: true, fieldSelector: hpaSelector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                items =>
                {
                    foreach (var h in items)
                    {
                        OnHpa(recorder, h, w);
                    }
                },
                (_, h) => OnHpa(recorder, h, w),
                stop));
        }

        // Pods: by the plan's selector, or the deployment's own, which the deployment watch learns.
        var selector = w.Spec.Selector ?? await WaitForSelectorAsync(w, stop).ConfigureAwait(false);
        if (selector is not null)
        {
            tasks.Add(WatchLoopAsync<V1Pod>(
                recorder,
                $"pods {ns}/{name}",
                async (c, ct) => Page(await c.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                items => ReconcilePods(recorder, items, w),
                (type, pod) => OnPod(recorder, type, pod, w),
                stop));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<string?> WaitForSelectorAsync(WorkloadState w, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            lock (_gate)
            {
                if (w.Selector is not null)
                {
                    return w.Selector;
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>List, then watch from the list's resourceVersion; resume after a cut, relist after 410 Gone, back off on errors.</summary>
    private async Task WatchLoopAsync<T>(
        ObservationRecorder recorder,
        string what,
        Func<IKubernetes, CancellationToken, Task<(IList<T> Items, string? Version)>> list,
        Func<IKubernetes, string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Action<IList<T>> onList,
        Action<WatchEventType, T> onEvent,
        CancellationToken stop)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var gapKey = $"{Name} {what}";
        string? version = null;
        var backoff = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            IKubernetes? failedClient = null;
            try
            {
                var client = failedClient = _client!;
                if (version is null)
                {
                    var (items, listVersion) = await list(client, stop).ConfigureAwait(false);
                    lock (_gate)
                    {
                        onList(items);
                    }

                    version = listVersion ?? string.Empty;
                    recorder.Count(Name, Math.Max(1, items.Count));
                }

                recorder.CloseGap(gapKey);
                Exception? streamError = null;
                var opened = _time.GetTimestamp();
                int seen = 0;

                // A connection can die without a close: never wait on one watch longer than the server was asked to keep it.
                using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                watchCts.CancelAfter(TimeSpan.FromSeconds(WatchTimeoutSeconds + 30));
                try
                {
                    await foreach (var (type, obj) in watch(client, version, e => streamError ??= e, watchCts.Token).ConfigureAwait(false))
                    {
                        version = obj.Metadata?.ResourceVersion ?? version;
                        seen++;
                        if (type is WatchEventType.Bookmark or WatchEventType.Error)
                        {
                            continue;
                        }

                        lock (_gate)
                        {
                            onEvent(type, obj);
                        }

                        recorder.Count(Name);
                    }
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    streamError ??= new TimeoutException("the watch went silent past its timeout");
                }

                backoff = TimeSpan.FromSeconds(1);
                if (streamError is KubernetesException { Status.Code: 410 })
                {
                    recorder.Note(Name, $"{what}: 410 Gone, listed again");
                    version = null;
                    continue;
                }

                recorder.Note(Name, streamError is null ? $"{what}: watch closed, resumed" : $"{what}: watch failed ({Describe(streamError)}), resumed");
                if (seen == 0 && _time.GetElapsedTime(opened) < TimeSpan.FromSeconds(1))
                {
                    // Closed at once with nothing in it: do not spin on a server that does that.
                    await Task.Delay(backoff, _time, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
            {
                recorder.Note(Name, $"{what}: 410 Gone, listed again");
                version = null;
            }
            catch (Exception e) when (IsApiFault(e))
            {
                recorder.OpenGap(gapKey, $"{what}: {Describe(e)}");
                recorder.Count(Name, 0, 1);
                if (e is HttpOperationException { Response.StatusCode: HttpStatusCode.Unauthorized })
                {
                    // Expired credentials: a new client reads the kubeconfig again (and runs its exec plugin).
                    TryConnect(recorder, failedClient);
                }

                try
                {
                    await Task.Delay(backoff, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
            {
                // Not an API fault we know: still not a reason to stop watching. Marked, logged, retried.
                recorder.OpenGap(gapKey, $"{what}: unexpected {e.GetType().Name}: {e.Message}");
                recorder.Count(Name, 0, 1);
                _log.KubernetesUnexpected(what, e);
                try
                {
                    await Task.Delay(MaxBackoff, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task PollMetricsAsync(ObservationRecorder recorder, CancellationToken stop)
    {
        const string gapKey = "kubernetes metrics.k8s.io";
        var namespaces = _spec.Workloads.Select(w => w.Namespace).Distinct(StringComparer.Ordinal).ToList();
        using var timer = new PeriodicTimer(_spec.MetricsInterval, _time);
        try
        {
            do
            {
                try
                {
                    var client = _client!;
                    var nodeMetrics = await client.GetKubernetesNodesMetricsAsync().WaitAsync(stop).ConfigureAwait(false);
                    var podMetrics = new List<PodMetrics>();
                    foreach (var ns in namespaces)
                    {
                        podMetrics.AddRange((await client.GetKubernetesPodsMetricsByNamespaceAsync(ns).WaitAsync(stop).ConfigureAwait(false)).Items ?? []);
                    }

                    RecordMetrics(recorder, nodeMetrics.Items ?? [], podMetrics);
                    recorder.CloseGap(gapKey);
                }
                catch (Exception e) when (IsApiFault(e) && !stop.IsCancellationRequested)
                {
                    recorder.OpenGap(gapKey, $"metrics.k8s.io: {Describe(e)}");
                    recorder.Count(Name, 0, 1);
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void RecordMetrics(ObservationRecorder recorder, IEnumerable<NodeMetrics> nodes, IEnumerable<PodMetrics> pods)
    {
        var now = recorder.Now;
        Dictionary<string, string> podOwner;
        Dictionary<string, string> nodeGroup;
        lock (_gate)
        {
            podOwner = _pods.Values.GroupBy(p => Key(p.Namespace, p.Name)).ToDictionary(g => g.Key, g => g.Last().Deployment, StringComparer.Ordinal);
            nodeGroup = _nodes.Values.ToDictionary(n => n.Name, n => n.NodeGroup ?? "nodes", StringComparer.Ordinal);
        }

        foreach (var g in nodes.GroupBy(n => nodeGroup.GetValueOrDefault(n.Metadata?.Name ?? string.Empty, "nodes")))
        {
            recorder.Point("node CPU", g.Key, "cores", now, Math.Round(g.Sum(n => Cpu(n.Usage)), 3));
            recorder.Point("node memory", g.Key, "GiB", now, Math.Round(g.Sum(n => Memory(n.Usage)) / 1024 / 1024 / 1024, 3));
        }

        foreach (var g in pods.Where(p => podOwner.ContainsKey(Key(p.Metadata?.NamespaceProperty ?? string.Empty, p.Metadata?.Name ?? string.Empty)))
                     .GroupBy(p => podOwner[Key(p.Metadata.NamespaceProperty, p.Metadata.Name)]))
        {
            recorder.Point("pod CPU", g.Key, "cores", now, Math.Round(g.Sum(p => p.Containers?.Sum(c => Cpu(c.Usage)) ?? 0), 3));
            recorder.Point("pod memory", g.Key, "MiB", now, Math.Round(g.Sum(p => p.Containers?.Sum(c => Memory(c.Usage)) ?? 0) / 1024 / 1024, 1));
        }

        recorder.Count(Name);
    }

    private static double Cpu(IDictionary<string, ResourceQuantity>? usage) => usage is not null && usage.TryGetValue("cpu", out var q) ? (double)q.ToDecimal() : 0;

    private static double Memory(IDictionary<string, ResourceQuantity>? usage) => usage is not null && usage.TryGetValue("memory", out var q) ? (double)q.ToDecimal() : 0;

    private void OnDeployment(ObservationRecorder recorder, WatchEventType type, V1Deployment d, WorkloadState w)
    {
        if (type == WatchEventType.Deleted)
        {
            recorder.Event(recorder.Now, "DeploymentDeleted", $"deployment {w.Spec.Namespace}/{w.Spec.Deployment} was deleted", $"deployment/{w.Spec.Namespace}/{w.Spec.Deployment}");
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

        w.Append(recorder.Now);
    }

    private static void OnHpa(ObservationRecorder recorder, V2HorizontalPodAutoscaler h, WorkloadState w)
    {
        w.HpaDesired = h.Status?.DesiredReplicas;
        var metric = h.Status?.CurrentMetrics?.FirstOrDefault(m => m.Resource?.Current?.AverageUtilization is not null);
        w.HpaMetric = metric?.Resource?.Current?.AverageUtilization;
        if (w.HpaMetric is { } m)
        {
            recorder.Point("HPA metric", $"{h.Metadata.Name} {metric!.Resource.Name} utilization", "%", recorder.Now, m);
        }

        w.Append(recorder.Now);
    }

    private void ReconcilePods(ObservationRecorder recorder, IList<V1Pod> items, WorkloadState w)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in items)
        {
            present.Add(PodKey(pod));
            OnPod(recorder, WatchEventType.Modified, pod, w);
        }

        // Gone while we were not watching: deleted some time in the gap; now is the best we know.
        foreach (var p in _pods.Where(kv => kv.Value.Workload == w && kv.Value.Deleted is null && !present.Contains(kv.Key)))
        {
            p.Value.Deleted = recorder.Now;
        }
    }

    private void OnPod(ObservationRecorder recorder, WatchEventType type, V1Pod pod, WorkloadState w)
    {
        var key = PodKey(pod);
        if (!_pods.TryGetValue(key, out var p))
        {
            p = new PodState(w, pod.Metadata.NamespaceProperty ?? w.Spec.Namespace, pod.Metadata.Name, recorder.Stamp(pod.Metadata.CreationTimestamp));
            _pods[key] = p;
        }

        p.Node = pod.Spec?.NodeName ?? p.Node;
        var conditions = pod.Status?.Conditions ?? [];
        var scheduled = conditions.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled?.Status == "True")
        {
            p.Scheduled ??= Math.Max(p.Created, recorder.Stamp(scheduled.LastTransitionTime));
        }
        else if (scheduled?.Status == "False" && p.Scheduled is null)
        {
            p.PendingReason = string.IsNullOrEmpty(scheduled.Message) ? scheduled.Reason : $"{scheduled.Reason}: {scheduled.Message}";
        }

        var ready = conditions.FirstOrDefault(c => c.Type == "Ready");
        if (ready?.Status == "True")
        {
            p.Ready ??= Math.Max(p.Scheduled ?? p.Created, recorder.Stamp(ready.LastTransitionTime));
        }

        if (type == WatchEventType.Deleted)
        {
            p.Deleted ??= recorder.Now;
        }
    }

    private void ReconcileNodes(ObservationRecorder recorder, IList<V1Node> items)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        var first = !_nodesListed;
        _nodesListed = true;
        foreach (var node in items)
        {
            present.Add(node.Metadata.Name);
            OnNode(recorder, WatchEventType.Modified, node, first);
        }

        foreach (var n in _nodes.Values.Where(n => n.Gone is null && !present.Contains(n.Name)))
        {
            n.Gone = recorder.Now;
            recorder.Event(n.Gone.Value, "NodeRemoved", $"node {n.Name} ({n.Zone}) is gone", $"node/{n.Name}");
        }
    }

    private void OnNode(ObservationRecorder recorder, WatchEventType type, V1Node node, bool firstList = false)
    {
        var name = node.Metadata.Name;
        if (!_nodes.TryGetValue(name, out var n))
        {
            var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
            n = new NodeState(name, recorder.Stamp(node.Metadata.CreationTimestamp))
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
                n.Gone = recorder.Now;
                recorder.Event(n.Gone.Value, "NodeRemoved", $"node {name} ({n.Zone}) was deleted", $"node/{name}");
            }

            return;
        }

        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        if (ready?.Status == "True" && n.Ready is null)
        {
            n.Ready = Math.Max(n.Created, recorder.Stamp(ready.LastTransitionTime));
            if (n.SeenNotReady || !n.InFirstList)
            {
                recorder.Event(n.Ready.Value, "NodeReady", $"node {name} Ready ({Describe(n)})", $"node/{name}");
            }
        }
        else if (ready?.Status != "True" && n.Ready is null)
        {
            n.SeenNotReady = true;
        }
        else if (ready?.Status != "True" && n.Ready is not null && n.Gone is null)
        {
            n.Gone = recorder.Stamp(ready?.LastTransitionTime);
            recorder.Event(n.Gone.Value, "NodeNotReady", $"node {name} is no longer Ready", $"node/{name}");
        }
    }

    private void OnEvent(ObservationRecorder recorder, WatchEventType type, Corev1Event e)
    {
        if (type == WatchEventType.Deleted || e.Reason is null || !InterestingReasons.Contains(e.Reason))
        {
            return;
        }

        var at = recorder.Stamp(e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp);
        if (at < -1)
        {
            return; // an old event touched again without a new occurrence
        }

        var obj = e.InvolvedObject is { } o ? $"{o.Kind?.ToLowerInvariant()}/{o.NamespaceProperty}/{o.Name}" : null;
        recorder.Event(at, e.Reason, e.Message ?? e.Reason, obj);
        if (e.Reason == "FailedScheduling" && e.InvolvedObject?.Uid is { } uid && _pods.TryGetValue(uid, out var pod) && pod.Scheduled is null)
        {
            pod.PendingReason = $"FailedScheduling: {e.Message}";
        }
    }

    private static (IList<T> Items, string? Version) Page<T>(IItems<T> list) where T : IKubernetesObject<V1ObjectMeta>
        => (list.Items ?? [], (list as IMetadata<V1ListMeta>)?.Metadata?.ResourceVersion);

    private static bool IsApiFault(Exception e) => e is HttpOperationException or HttpRequestException or IOException or KubernetesException
        or KubernetesClientException or OperationCanceledException or TimeoutException or JsonException or KubeConfigException;

    private static string Describe(Exception e) => e switch
    {
        HttpOperationException { Response: { } r } => $"HTTP {(int)r.StatusCode} {r.StatusCode}" + (r.StatusCode == HttpStatusCode.Unauthorized ? " (expired credentials?)" : string.Empty),
        KubernetesException k => $"{k.Status?.Code} {k.Status?.Reason}: {k.Status?.Message}",
        OperationCanceledException or TimeoutException => "timed out",
        _ => e.Message,
    };

    private static string Describe(NodeState n) => string.Join(", ", new[] { n.Zone, n.InstanceType, n.CapacityType, n.NodeGroup }.Where(s => !string.IsNullOrEmpty(s)));

    private static string? Label(IDictionary<string, string> labels, params string[] keys)
        => keys.Select(k => labels.TryGetValue(k, out var v) ? v : null).FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static string PodKey(V1Pod pod) => pod.Metadata.Uid ?? Key(pod.Metadata.NamespaceProperty ?? string.Empty, pod.Metadata.Name);

    private static string Key(string ns, string name) => $"{ns}/{name}";

    private static string? ExpandHome(string? path) =>
        path is not null && path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
            : path;

    private sealed class WorkloadState(WorkloadSpec spec)
    {
        public WorkloadSpec Spec { get; } = spec;
        public string? Selector { get; set; } = spec.Selector;
        public int SpecReplicas { get; set; }
        public int Ready { get; set; }
        public int? HpaDesired { get; set; }
        public double? HpaMetric { get; set; }
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
