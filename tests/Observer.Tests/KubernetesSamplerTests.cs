using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Testing.FakeKubernetes;

namespace Constellation.Observer.Tests;

/// <summary>
/// The real KubernetesClient against a fake API server that replays a scripted scale-out with the faults a real
/// cluster has (503 from metrics.k8s.io, a cut watch, 410 Gone); the derived metrics must match the script.
/// </summary>
public sealed class KubernetesSamplerTests : IAsyncLifetime
{
    private const double Tolerance = 0.6;

    private FakeKubernetesServer _server = null!;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "constellation-k8s-" + Guid.NewGuid().ToString("n")[..8]);

    public async ValueTask InitializeAsync() => _server = await FakeKubernetesServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task ScriptedScaleOut_DerivedMetricsMatchTheScript()
    {
        var ct = TestContext.Current.CancellationToken;
        var s = _server;

        // Before the load: two nodes in two zones, spin at 2 ready replicas, its HPA content; webapp at 1.
        var longAgo = FakeKubernetesServer.Now().AddHours(-1);
        s.Apply(KubeObjects.Node("node-a1", "eu-west-1a", ready: true));
        s.Apply(KubeObjects.Node("node-b1", "eu-west-1b", ready: true));
        s.Apply(KubeObjects.Deployment("spin", 2, 2));
        s.Apply(KubeObjects.Hpa("spin", desired: 2, current: 2, cpuPercent: 20));
        s.Apply(KubeObjects.Pod("spin-1", "spin", "node-a1", scheduled: true, ready: true, created: longAgo));
        s.Apply(KubeObjects.Pod("spin-2", "spin", "node-b1", scheduled: true, ready: true, created: longAgo));
        s.Apply(KubeObjects.Deployment("webapp", 1, 1));
        s.Apply(KubeObjects.Pod("webapp-1", "webapp", "node-a1", scheduled: true, ready: true, created: longAgo));
        s.NodeUsage["node-a1"] = ("900m", "2Gi");
        s.NodeUsage["node-b1"] = ("700m", "2Gi");
        s.PodUsage["demo/spin-1"] = ("450m", "100Mi");
        s.PodUsage["demo/spin-2"] = ("350m", "100Mi");

        var spec = new KubernetesSamplerSpec
        {
            Kubeconfig = s.WriteKubeconfig(_dir),
            Workloads =
            [
                new WorkloadSpec { Namespace = KubeObjects.Ns, Deployment = "spin", Hpa = "spin" },
                new WorkloadSpec { Namespace = KubeObjects.Ns, Deployment = "webapp" },
            ],
            EventNamespaces = [KubeObjects.Ns],
            MetricsInterval = TimeSpan.FromMilliseconds(250),
        };
        var log = new StringWriter();
        var sampler = new KubernetesSampler(spec, KubernetesSampler.ConfigFrom(spec), TimeProvider.System, new Constellation.Core.Logging.PlainTextLogger(log));
        var observer = new RunObserver([sampler], [], TimeProvider.System, new Constellation.Core.Logging.PlainTextLogger(log));
        observer.Start();
        await Until(() => s.OpenWatches >= 7, ct); // listed and watching: 2 deployments, 1 HPA, 2 pod sets, nodes, events

        const string insufficient = "0/2 nodes are available: 2 Insufficient cpu.";
        var t0 = TimeProvider.System.GetUtcNow();
        await Script.RunAsync(t0, ct,
            (0.5, () => s.MetricsUnavailable = true),
            (1.0, () =>
            {
                s.Apply(KubeObjects.Hpa("spin", desired: 4, current: 2, cpuPercent: 180));
                s.Apply(KubeObjects.Event("SuccessfulRescale", "New size: 4; reason: cpu resource utilization (percentage of request) above target", "HorizontalPodAutoscaler", "spin"));
                s.Apply(KubeObjects.Deployment("spin", 4, 2));
                s.Apply(KubeObjects.Pod("spin-3", "spin"));
                s.Apply(KubeObjects.Pod("spin-4", "spin"));
            }),
            (1.2, () =>
            {
                s.Apply(KubeObjects.Pod("spin-3", "spin", "node-a1", scheduled: true));
                s.Apply(KubeObjects.Pod("spin-4", "spin", "node-b1", scheduled: true));
            }),
            (2.0, () =>
            {
                s.Apply(KubeObjects.Pod("spin-3", "spin", "node-a1", scheduled: true, ready: true));
                s.Apply(KubeObjects.Pod("spin-4", "spin", "node-b1", scheduled: true, ready: true));
                s.Apply(KubeObjects.Deployment("spin", 4, 4));
            }),
            (2.5, () =>
            {
                s.Apply(KubeObjects.Hpa("spin", desired: 10, current: 4, cpuPercent: 240));
                s.Apply(KubeObjects.Event("SuccessfulRescale", "New size: 10; reason: cpu resource utilization (percentage of request) above target", "HorizontalPodAutoscaler", "spin"));
                s.Apply(KubeObjects.Deployment("spin", 10, 4));
                for (int i = 5; i <= 10; i++)
                {
                    s.Apply(KubeObjects.Pod($"spin-{i}", "spin"));
                }
            }),
            (2.7, () =>
            {
                s.Apply(KubeObjects.Pod("spin-5", "spin", "node-a1", scheduled: true));
                s.Apply(KubeObjects.Pod("spin-6", "spin", "node-b1", scheduled: true));
                for (int i = 7; i <= 10; i++)
                {
                    s.Apply(KubeObjects.Pod($"spin-{i}", "spin", pendingMessage: insufficient));
                    s.Apply(KubeObjects.Event("FailedScheduling", insufficient, "Pod", $"spin-{i}", "Warning", $"uid-spin-{i}"));
                }

                s.Apply(KubeObjects.Event("TriggeredScaleUp", "pod triggered scale-up: [{eks-workers 2->4 (max: 6)}]", "Pod", "spin-7"));
            }),
            (3.0, () =>
            {
                s.CutWatches("pods"); // a dropped connection mid-stream
                s.MetricsUnavailable = false;
            }),
            (3.2, () =>
            {
                s.Apply(KubeObjects.Node("node-a2", "eu-west-1a", ready: false));
                s.Apply(KubeObjects.Node("node-b2", "eu-west-1b", ready: false));
            }),
            (3.5, () =>
            {
                s.Apply(KubeObjects.Pod("spin-5", "spin", "node-a1", scheduled: true, ready: true));
                s.Apply(KubeObjects.Pod("spin-6", "spin", "node-b1", scheduled: true, ready: true));
                s.Apply(KubeObjects.Deployment("spin", 10, 6));
            }),
            (4.0, () =>
            {
                s.Compact(); // history gone: the nodes watch, resumed from its old version, gets 410 Gone
                s.CloseWatches("nodes");
            }),
            (4.5, () =>
            {
                s.Apply(KubeObjects.Node("node-a2", "eu-west-1a", ready: true));
                s.Apply(KubeObjects.Node("node-b2", "eu-west-1b", ready: true));
            }),
            (5.0, () =>
            {
                for (int i = 7; i <= 10; i++)
                {
                    s.Apply(KubeObjects.Pod($"spin-{i}", "spin", i % 2 == 0 ? "node-b2" : "node-a2", scheduled: true));
                }
            }),
            (6.0, () =>
            {
                for (int i = 7; i <= 10; i++)
                {
                    s.Apply(KubeObjects.Pod($"spin-{i}", "spin", i % 2 == 0 ? "node-b2" : "node-a2", scheduled: true, ready: true));
                }

                s.Apply(KubeObjects.Deployment("spin", 10, 10));
            }),

            // The load ends at 7.0; scale-in follows.
            (7.5, () =>
            {
                s.Apply(KubeObjects.Hpa("spin", desired: 2, current: 10, cpuPercent: 5));
                s.Apply(KubeObjects.Event("SuccessfulRescale", "New size: 2; reason: All metrics below target", "HorizontalPodAutoscaler", "spin"));
                s.Apply(KubeObjects.Deployment("spin", 2, 10));
            }),
            (8.0, () =>
            {
                for (int i = 3; i <= 10; i++)
                {
                    s.Delete("pods", KubeObjects.Ns, $"spin-{i}");
                }

                s.Apply(KubeObjects.Deployment("spin", 2, 2));
            }),
            (9.0, () =>
            {
                s.Delete("nodes", null, "node-a2");
                s.Delete("nodes", null, "node-b2");
            }),
            (9.5, () => { }));

        var observed = await observer.StopAsync(t0, ct);
        var run = Constellation.Tests.TestRuns.Steady("name: scale-out\n", 7, _ => 1) with { Observation = observed.Observation, Events = observed.Events, Observations = observed.Series };
        var m = ScalingAnalyzer.Derive(run)!;

        var spin = m.Workloads.Single(w => w.Deployment == "spin");
        spin.InitialDesired.ShouldBe(2);
        spin.InitialReady.ShouldBe(2);
        spin.FirstDesiredIncreaseSeconds!.Value.ShouldBe(1.0, Tolerance);
        spin.FirstNewPodReadySeconds!.Value.ShouldBe(2.0, Tolerance);
        spin.PeakReplicas.ShouldBe(10);
        spin.PeakDesired.ShouldBe(10);
        spin.PeakSeconds!.Value.ShouldBe(6.0, Tolerance);
        spin.LongestPendingSeconds!.Value.ShouldBe(2.5, Tolerance);
        spin.LongestPendingPod.ShouldBeOneOf("spin-7", "spin-8", "spin-9", "spin-10");
        spin.LongestPendingReason.ShouldNotBeNull().ShouldContain("Insufficient cpu");
        spin.LongestPendingUnfinished.ShouldBeFalse();
        spin.ScaleInStartSeconds!.Value.ShouldBe(0.5, Tolerance);
        spin.ScaleInSeconds!.Value.ShouldBe(1.0, Tolerance);

        var webapp = m.Workloads.Single(w => w.Deployment == "webapp");
        webapp.PeakReplicas.ShouldBe(1);
        webapp.FirstDesiredIncreaseSeconds.ShouldBeNull();
        webapp.PeakSeconds.ShouldBeNull();

        var nodes = m.Nodes.ShouldNotBeNull();
        nodes.InitialReady.ShouldBe(2);
        nodes.PeakReady.ShouldBe(4);
        nodes.FirstNewNodeReadySeconds!.Value.ShouldBe(4.5, Tolerance);
        nodes.PeakPerZone.ShouldBe(new Dictionary<string, int> { ["eu-west-1a"] = 2, ["eu-west-1b"] = 2 });
        nodes.ScaleInSeconds!.Value.ShouldBe(2.0, Tolerance);
        var obs = observed.Observation;
        var expectedNodeMinutes = ((2 * (obs.ToSeconds - obs.FromSeconds)) + (2 * (9.0 - 4.5))) / 60;
        nodes.NodeMinutes.ShouldBe(expectedNodeMinutes, 4 * Tolerance / 60);

        // The faults: each left a mark, none stopped the sampler.
        obs.Gaps.ShouldContain(g => g.Sampler == "kubernetes metrics.k8s.io" && g.Reason.Contains("503"));
        var metricsGap = obs.Gaps.First(g => g.Sampler == "kubernetes metrics.k8s.io");
        metricsGap.FromSeconds.ShouldBe(0.5, Tolerance);
        metricsGap.ToSeconds.ShouldBe(3.0, Tolerance);
        var k8sReport = obs.Samplers.Single(r => r.Name == "kubernetes");
        k8sReport.Notes.ShouldContain(n => n.Contains("nodes: 410 Gone, listed again"));
        obs.Gaps.ShouldContain(g => g.Sampler == "kubernetes pods demo/spin");

        // Events on the timeline, and metrics once metrics.k8s.io answered.
        observed.Events.Count(e => e.Kind == "SuccessfulRescale").ShouldBe(3);
        observed.Events.ShouldContain(e => e.Kind == "TriggeredScaleUp");
        observed.Events.Count(e => e.Kind == "NodeReady").ShouldBe(2);
        observed.Events.Count(e => e.Kind == "NodeRemoved").ShouldBe(2);
        observed.Series.ShouldContain(x => x.Group == "node CPU" && x.Name == "workers" && x.Points.Any(p => Math.Abs(p.Value - 1.6) < 1e-9));
        observed.Series.ShouldContain(x => x.Group == "pod CPU" && x.Name == "spin" && x.Points.Any(p => Math.Abs(p.Value - 0.8) < 1e-9));
        observed.Series.ShouldContain(x => x.Group == "HPA metric" && x.Points.Any(p => p.Value == 240));

        // It watched, it did not poll: one list for each of the 7 watches, plus one relist for each watch that
        // met 410 Gone (nodes; the two pod watches too when their resume after the cut came after the compaction).
        s.ListRequests.ShouldBeLessThanOrEqualTo(10);

        // Pods of the run, in order, with their nodes.
        var pods = obs.Kubernetes!.Pods.Where(p => p.Deployment == "spin").ToList();
        pods.Count.ShouldBe(10);
        pods.Single(p => p.Name == "spin-1").CreatedSeconds.ShouldBeLessThan(-3000);
        pods.Single(p => p.Name == "spin-10").Node.ShouldBe("node-b2");
        pods.Where(p => p.Name != "spin-1" && p.Name != "spin-2").ShouldAllBe(p => p.DeletedSeconds != null);
    }

    [Fact]
    public async Task ExpiredCredentials_LeaveAGapAndTheSamplerRecovers()
    {
        var ct = TestContext.Current.CancellationToken;
        _server.Apply(KubeObjects.Node("node-a1", "eu-west-1a", ready: true));
        _server.Apply(KubeObjects.Deployment("spin", 2, 2));
        _server.FailEverythingWith = 401;
        var (observer, sampler, start) = StartSpinObserver(TimeSpan.FromSeconds(30));
        await Until(() => _server.Requests >= 8, ct); // every watch was refused, and retried
        _server.FailEverythingWith = null; // "the token was refreshed"
        await Until(() => _server.OpenWatches >= 4, ct);
        _server.Apply(KubeObjects.Deployment("spin", 3, 3));
        await Until(() => sampler.Snapshot().Workloads.Single().Replicas.LastOrDefault()?.Ready == 3, ct);
        var observed = await observer.StopAsync(start, ct);

        observed.Observation.Gaps.ShouldContain(g => g.Reason.Contains("401") && g.Reason.Contains("expired credentials"));
        var recovered = observed.Observation.Kubernetes!.Workloads.Single().Replicas[^1].Seconds;
        observed.Observation.Gaps.ShouldAllBe(g => g.ToSeconds <= recovered); // closed once the watches were back
        observed.Observation.Gaps.ShouldAllBe(g => !g.Reason.Contains("sampler failed") && !g.Reason.Contains("unexpected")); // every watch rebuilt its client safely
        var spin = observed.Observation.Kubernetes!.Workloads.Single();
        spin.Replicas[^1].Ready.ShouldBe(3);
    }

    [Fact]
    public async Task ListsSlowerThanTheRequestTimeout_LeaveAGap_AndTheWatchStartsOnceTheServerIsFast()
    {
        var ct = TestContext.Current.CancellationToken;
        _server.Apply(KubeObjects.Node("node-a1", "eu-west-1a", ready: true));
        _server.ListDelay = TimeSpan.FromSeconds(5);
        var (observer, sampler, start) = StartSpinObserver(TimeSpan.FromSeconds(1));
        await Until(() => _server.ListRequests >= 8, ct); // every list timed out once and was tried again
        _server.ListDelay = TimeSpan.Zero;
        await Until(() => _server.OpenWatches >= 4, ct);
        _server.Apply(KubeObjects.Node("node-b1", "eu-west-1b", ready: false));
        _server.Apply(KubeObjects.Node("node-b1", "eu-west-1b", ready: true));
        await Until(() => sampler.Snapshot().Nodes.Any(n => n.Name == "node-b1" && n.ReadySeconds is not null), ct);
        var observed = await observer.StopAsync(start, ct);

        observed.Observation.Gaps.ShouldContain(g => g.Sampler == "kubernetes nodes" && g.Reason == "nodes: timed out");
        var ready = observed.Observation.Kubernetes!.Nodes.Single(n => n.Name == "node-b1").ReadySeconds!.Value;
        observed.Observation.Gaps.Where(g => g.Sampler == "kubernetes nodes").ShouldAllBe(g => g.ToSeconds <= ready);
        observed.Observation.Kubernetes!.Nodes.Select(n => n.Name).ShouldBe(["node-a1", "node-b1"], ignoreOrder: true);
        observed.Events.ShouldContain(e => e.Kind == "NodeReady" && e.Text.Contains("node-b1"));
    }

    private static async Task Until(Func<bool> condition, CancellationToken ct)
    {
        for (int i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(50, ct);
        }

        condition().ShouldBeTrue("the condition did not hold within 20 s");
    }

    /// <summary>An observer watching the spin deployment (pods by app=spin) and the nodes, no metrics, quiet.</summary>
    private (RunObserver Observer, KubernetesSampler Sampler, DateTimeOffset Start) StartSpinObserver(TimeSpan requestTimeout)
    {
        var spec = new KubernetesSamplerSpec
        {
            Kubeconfig = _server.WriteKubeconfig(_dir),
            Workloads = [new WorkloadSpec { Namespace = KubeObjects.Ns, Deployment = "spin", Selector = "app=spin" }],
            EventNamespaces = [KubeObjects.Ns],
            MetricsInterval = TimeSpan.Zero,
            RequestTimeout = requestTimeout,
        };
        var sampler = new KubernetesSampler(spec, KubernetesSampler.ConfigFrom(spec), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var observer = new RunObserver([sampler], [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var start = TimeProvider.System.GetUtcNow();
        observer.Start();
        return (observer, sampler, start);
    }
}

/// <summary>Runs timed steps at their offsets from a start time.</summary>
internal static class Script
{
    public static async Task RunAsync(DateTimeOffset t0, CancellationToken ct, params (double At, Action Step)[] steps)
    {
        foreach (var (at, step) in steps.OrderBy(s => s.At))
        {
            var wait = t0.AddSeconds(at) - TimeProvider.System.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            step();
        }
    }
}
