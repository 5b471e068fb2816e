using Microsoft.Extensions.Logging;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Observer.Kubernetes;
using k8s;
using k8s.Models;

namespace Constellation.Observer;

/// <summary>
/// Watches the plan's deployments (and their HPAs and pods), the nodes and the events through the Kubernetes API,
/// and polls metrics.k8s.io for CPU and memory. Three parts: one <see cref="ListWatch{T}"/> per kind of object
/// (list, watch, resume, relist on 410, retries), a <see cref="ClusterTimeline"/> they feed (pure, no I/O), and a
/// <see cref="MetricsPoller"/>. A failing API leaves a marked gap and is retried; nothing here stops the run.
/// </summary>
public sealed class KubernetesSampler : ISampler
{
    private readonly KubernetesSamplerSpec _spec;
    private readonly Func<KubernetesClientConfiguration> _config;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private ClusterTimeline? _timeline;

    public KubernetesSampler(KubernetesSamplerSpec spec, Func<KubernetesClientConfiguration> config, TimeProvider time, ILogger log)
    {
        _spec = spec;
        _config = config;
        _time = time;
        _log = log;
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

    /// <summary>What was seen so far (empty before the sampler runs).</summary>
    public KubernetesTimeline Snapshot() => _timeline?.Snapshot() ?? new KubernetesTimeline();

    public async Task RunAsync(ObservationRecorder recorder, CancellationToken stop)
    {
        var timeline = _timeline = new ClusterTimeline(_spec.Workloads, recorder);
        recorder.SetKubernetes(timeline.Snapshot);
        using var connection = new KubernetesConnection(_config, _log);
        if (!connection.TryConnect(recorder, Name))
        {
            return;
        }

        var tasks = new List<Task>();
        foreach (var w in _spec.Workloads)
        {
            tasks.Add(WatchWorkloadAsync(recorder, connection, timeline, w, stop));
        }

        tasks.Add(Watch<V1Node>(recorder, connection, "nodes",
            async (c, ct) => Page(await c.CoreV1.ListNodeAsync(labelSelector: _spec.NodeSelector, cancellationToken: ct).ConfigureAwait(false)),
            (c, rv, onError, ct) => c.CoreV1.WatchListNodeAsync(allowWatchBookmarks: true, labelSelector: _spec.NodeSelector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
            timeline.NodesListed,
            timeline.Node).RunAsync(stop));

        var eventNamespaces = _spec.EventNamespaces.Count > 0
            ? _spec.EventNamespaces
            : _spec.Workloads.Select(w => w.Namespace).Append("default").Append("kube-system").Distinct(StringComparer.Ordinal).ToList();
        foreach (var ns in eventNamespaces)
        {
            tasks.Add(Watch<Corev1Event>(recorder, connection, $"events {ns}",
                async (c, ct) => Page(await c.CoreV1.ListNamespacedEventAsync(ns, limit: 1, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.CoreV1.WatchListNamespacedEventAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                _ => { }, // events that happened before the observer are history, not part of this run
                timeline.Event).RunAsync(stop));
        }

        if (_spec.MetricsInterval > TimeSpan.Zero)
        {
            var namespaces = _spec.Workloads.Select(w => w.Namespace).Distinct(StringComparer.Ordinal).ToList();
            tasks.Add(new MetricsPoller(Name, connection, timeline, recorder, namespaces, _spec.MetricsInterval, _time).RunAsync(stop));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task WatchWorkloadAsync(ObservationRecorder recorder, KubernetesConnection connection, ClusterTimeline timeline, WorkloadSpec w, CancellationToken stop)
    {
        var ns = w.Namespace;
        var name = w.Deployment;
        var fieldSelector = $"metadata.name={name}";
        var tasks = new List<Task>
        {
            Watch<V1Deployment>(recorder, connection, $"deployment {ns}/{name}",
                async (c, ct) => Page(await c.AppsV1.ListNamespacedDeploymentAsync(ns, fieldSelector: fieldSelector, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.AppsV1.WatchListNamespacedDeploymentAsync(ns, allowWatchBookmarks: true, fieldSelector: fieldSelector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                items =>
                {
                    foreach (var d in items)
                    {
                        timeline.Deployment(WatchEventType.Modified, d);
                    }
                },
                timeline.Deployment).RunAsync(stop),
        };

        if (w.Hpa is { } hpa)
        {
            var hpaSelector = $"metadata.name={hpa}";
            tasks.Add(Watch<V2HorizontalPodAutoscaler>(recorder, connection, $"hpa {ns}/{hpa}",
                async (c, ct) => Page(await c.AutoscalingV2.ListNamespacedHorizontalPodAutoscalerAsync(ns, fieldSelector: hpaSelector, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.AutoscalingV2.WatchListNamespacedHorizontalPodAutoscalerAsync(ns, allowWatchBookmarks: true, fieldSelector: hpaSelector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                items =>
                {
                    foreach (var h in items)
                    {
                        timeline.Hpa(h);
                    }
                },
                (_, h) => timeline.Hpa(h)).RunAsync(stop));
        }

        // Pods: by the plan's selector, or the deployment's own, which the deployment watch learns.
        var selector = w.Selector ?? await WaitForSelectorAsync(timeline, w, stop).ConfigureAwait(false);
        if (selector is not null)
        {
            tasks.Add(Watch<V1Pod>(recorder, connection, $"pods {ns}/{name}",
                async (c, ct) => Page(await c.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct).ConfigureAwait(false)),
                (c, rv, onError, ct) => c.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
                items => timeline.PodsListed(w, items),
                (type, pod) => timeline.Pod(type, pod, w)).RunAsync(stop));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private ListWatch<T> Watch<T>(
        ObservationRecorder recorder,
        KubernetesConnection connection,
        string what,
        Func<IKubernetes, CancellationToken, Task<(IList<T> Items, string? Version)>> list,
        Func<IKubernetes, string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Action<IList<T>> onList,
        Action<WatchEventType, T> onEvent)
        where T : IKubernetesObject<V1ObjectMeta>
        => new(Name, what, connection, recorder, _time, _log) { List = list, Watch = watch, OnList = onList, OnEvent = onEvent, WatchTimeoutSeconds = WatchTimeoutSeconds };

    private async Task<string?> WaitForSelectorAsync(ClusterTimeline timeline, WorkloadSpec w, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (timeline.SelectorOf(w) is { } selector)
            {
                return selector;
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

    private static (IList<T> Items, string? Version) Page<T>(IItems<T> list) where T : IKubernetesObject<V1ObjectMeta>
        => (list.Items ?? [], (list as IMetadata<V1ListMeta>)?.Metadata?.ResourceVersion);

    private static string? ExpandHome(string? path) =>
        path is not null && path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
            : path;
}
