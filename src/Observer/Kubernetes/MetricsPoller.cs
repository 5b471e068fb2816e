using k8s;
using k8s.Models;

namespace Constellation.Observer.Kubernetes;

/// <summary>
/// Polls metrics.k8s.io for node and pod CPU and memory every interval: node series per node group, pod series per
/// deployment (pods matched by the timeline). A failed poll leaves a gap; the next tick tries again.
/// </summary>
internal sealed class MetricsPoller(string sampler, KubernetesConnection connection, ClusterTimeline timeline, ObservationRecorder recorder, IReadOnlyList<string> namespaces, TimeSpan interval, TimeProvider time)
{
    public async Task RunAsync(CancellationToken stop)
    {
        var gapKey = $"{sampler} metrics.k8s.io";
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                try
                {
                    var client = connection.Client;
                    var nodeMetrics = await client.GetKubernetesNodesMetricsAsync().WaitAsync(stop).ConfigureAwait(false);
                    var podMetrics = new List<PodMetrics>();
                    foreach (var ns in namespaces)
                    {
                        podMetrics.AddRange((await client.GetKubernetesPodsMetricsByNamespaceAsync(ns).WaitAsync(stop).ConfigureAwait(false)).Items ?? []);
                    }

                    Record(nodeMetrics.Items ?? [], podMetrics);
                    recorder.CloseGap(gapKey);
                }
                catch (Exception e) when (KubernetesConnection.IsApiFault(e) && !stop.IsCancellationRequested)
                {
                    recorder.OpenGap(gapKey, $"metrics.k8s.io: {KubernetesConnection.Describe(e)}");
                    recorder.Count(sampler, 0, 1);
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void Record(IEnumerable<NodeMetrics> nodes, IEnumerable<PodMetrics> pods)
    {
        var now = recorder.Now;
        var (podOwner, nodeGroup) = timeline.Owners();
        foreach (var g in nodes.GroupBy(n => nodeGroup.GetValueOrDefault(n.Metadata?.Name ?? string.Empty, "nodes")))
        {
            recorder.Point("node CPU", g.Key, "cores", now, Math.Round(g.Sum(n => Cpu(n.Usage)), 3));
            recorder.Point("node memory", g.Key, "GiB", now, Math.Round(g.Sum(n => Memory(n.Usage)) / 1024 / 1024 / 1024, 3));
        }

        foreach (var g in pods.Where(p => podOwner.ContainsKey(ClusterTimeline.Key(p.Metadata?.NamespaceProperty ?? string.Empty, p.Metadata?.Name ?? string.Empty)))
                     .GroupBy(p => podOwner[ClusterTimeline.Key(p.Metadata.NamespaceProperty, p.Metadata.Name)]))
        {
            recorder.Point("pod CPU", g.Key, "cores", now, Math.Round(g.Sum(p => p.Containers?.Sum(c => Cpu(c.Usage)) ?? 0), 3));
            recorder.Point("pod memory", g.Key, "MiB", now, Math.Round(g.Sum(p => p.Containers?.Sum(c => Memory(c.Usage)) ?? 0) / 1024 / 1024, 1));
        }

        recorder.Count(sampler);
    }

    private static double Cpu(IDictionary<string, ResourceQuantity>? usage) => usage is not null && usage.TryGetValue("cpu", out var q) ? (double)q.ToDecimal() : 0;

    private static double Memory(IDictionary<string, ResourceQuantity>? usage) => usage is not null && usage.TryGetValue("memory", out var q) ? (double)q.ToDecimal() : 0;
}
