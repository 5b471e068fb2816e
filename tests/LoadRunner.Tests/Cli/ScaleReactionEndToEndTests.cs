using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Runs.Local;
using Constellation.Testing.FakeKubernetes;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// The scale-reaction waterfall against a simulated cluster with known truth: a real SpinService takes a real
/// step of load; its CPU drives a simulated HPA, scheduler, cluster autoscaler and kubelets on the fake API server
/// (faster than Kubernetes' defaults, so the test takes a minute: the waterfall does not depend on the periods);
/// the observer watches them as it would a cluster, and the waterfall must report what the simulator did, to the second.
/// </summary>
public sealed class ScaleReactionEndToEndTests : IAsyncLifetime
{
    /// <summary>The API server's timestamps are whole seconds; the watch delivers within milliseconds.</summary>
    private const double ToTheSecond = 1.05;

    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-reaction-").FullName;
    private FakeKubernetesServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await FakeKubernetesServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task AStepOfRealLoad_OnASimulatedCluster_TheWaterfallReportsWhatTheClusterDid()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = new StringWriter();
        var spinPlan = PlanLoader.Parse("""
            name: spin-only
            targets:
              spin: { launch: { role: spin, env: { Spin__DefaultMs: "20" }, readyTimeout: 120s } }
            scenarios:
              - { name: s, target: spin, load: { model: open, rate: 1, duration: 1s } }
            """).Plan!;
        await using var spin = await LocalTargets.StartAsync(spinPlan, _dir, new Core.Logging.PlainTextLogger(log), ct);
        var pid = spin.Processes["spin"];

        // Warm: the first requests compile spin's path, a burst of CPU the base step would otherwise show the HPA.
        using (var http = new HttpClient())
        {
            for (int i = 0; i < 20; i++)
            {
                (await http.GetAsync(new Uri(spin.Urls["spin"], "/api/spin"), ct)).EnsureSuccessStatusCode();
            }
        }

        // 1 ready pod on 1 node with room for 2; each pod asks 0.1 core and the HPA aims at 50%: 1 req/s of 20 ms of
        // CPU stays under it, 10 req/s want at least 3 (at most 5), so new pods wait for new nodes.
        var cluster = new SimulatedCluster
        {
            MinReplicas = 1,
            MaxReplicas = 5,
            TargetUtilization = 50,
            CpuRequestCores = 0.1,
            HpaSync = TimeSpan.FromSeconds(3),
            ScaleDownStabilization = TimeSpan.FromSeconds(60),
            CaScan = TimeSpan.FromSeconds(2),
            PodsPerNode = 2,
            InitialNodes = 1,
            NodeBootMin = TimeSpan.FromSeconds(4),
            NodeBootMax = TimeSpan.FromSeconds(6),
            ImagePull = TimeSpan.FromSeconds(1),
            Readiness = TimeSpan.FromSeconds(1),
        };
        var simulator = new ClusterSimulator(_server, cluster, () => LocalProcessSamplerCpu(pid), TimeProvider.System);
        simulator.Seed();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = simulator.RunAsync(stop.Token);

        var plan = Path.Combine(_dir, "reaction.yaml");
        await File.WriteAllTextAsync(plan, $$"""
            name: reaction
            targets:
              front: { baseUrl: "{{spin.Urls["spin"]}}" }
            scenarios:
              - name: spin-cycles
                target: front
                deployment: spin
                request: { path: /api/spin, timeout: 5s }
                load: { model: open, cycles: { base: 1, peak: 10, baseFor: 8s, peakFor: 26s, count: 1 } }
                thresholds: ["p(95) < 2s"]
            thresholds:
              - "scale.spin.reaction.max < 26s"
              - "scale.spin.desired_raised.p95 < 10s"
            observe:
              cooldown: 1s
              kubernetes:
                kubeconfig: {{_server.WriteKubeconfig(_dir)}}
                workloads: [{ namespace: demo, deployment: spin, hpa: spin }]
                metricsInterval: 60s
            """, ct);
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await ConstellationCli.RunAsync(["run", plan, "-o", _dir, "--run-id", "reaction"], new CliContext(o, e, false, ct, CancellationToken.None));
        await stop.CancelAsync();
        await running;

        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "reaction", "run.json"), ct);
        var origin = record.Environment.StartedUtc; // the load's start: second 0 of the run's timeline
        var truth = simulator.Log;
        var story = simulator.Describe(origin);
        code.ShouldBe(ExitCodes.Ok, $"{o}\n{e}\n{story}");

        var reaction = record.Scaling.ShouldNotBeNull().Reactions.ShouldHaveSingleItem();
        (reaction.Scenario, reaction.Deployment, reaction.HpaTarget, reaction.P95LimitMs).ShouldBe(("spin-cycles", "spin", 50.0, 2000.0));
        reaction.Steps.Select(s => (s.Stage, s.StartSeconds)).ShouldBe([("base", 0.0), ("cycle 1 up", 8.0)]);

        // The base (1 req/s: about 40% of one pod's request) asks nothing of the cluster.
        var calm = reaction.Steps[0];
        new[] { calm.DesiredRaised, calm.PodCreated, calm.NodeReady, calm.Reaction }.ShouldAllBe(v => v == null, story);

        // The step: each phase as the simulator did it, in seconds from the step (8 s into the load).
        var step = reaction.Steps[1];
        double stepAt = 8;
        double At(SimulatedAction a) => (a.At - origin).TotalSeconds - stepAt;
        var after = truth.Where(a => At(a) >= 0).ToList();
        var metric = after.First(a => a.Kind == "metric" && a.Value > 50);
        var desired = after.First(a => a.Kind == "desired");
        var created = after.Where(a => a.Kind == "pod-created").ToList();
        var scheduled = created.Select(c => after.First(a => a.Kind == "pod-scheduled" && a.Name == c.Name)).ToList();
        var ready = created.Select(c => after.First(a => a.Kind == "pod-ready" && a.Name == c.Name)).ToList();
        var nodeReady = after.First(a => a.Kind == "node-ready");

        // What the cluster did depends on the CPU measured (the HPA may raise the count in two syncs): the test holds
        // the waterfall to the simulator's own log, and checks that the step needed new pods and a new node.
        step.DesiredPeak.ShouldBe((int)after.Where(a => a.Kind == "desired").Max(a => a.Value), story);
        step.DesiredPeak.ShouldBeGreaterThanOrEqualTo(3, story); // more than the first node holds
        step.NewPods.ShouldBe(created.Count, story);
        after.ShouldContain(a => a.Kind == "pod-unschedulable", story);
        step.MetricAbove!.Value.ShouldBe(At(metric), ToTheSecond, story);
        step.DesiredRaised!.Value.ShouldBe(At(desired), ToTheSecond, story);
        step.PodCreated!.Value.ShouldBe(At(created[0]), ToTheSecond, story);
        step.Pending!.Value.ShouldBe(created.Zip(scheduled).Max(p => At(p.Second) - At(p.First)), ToTheSecond, story);
        step.PendingReason.ShouldNotBeNull().ShouldContain("Insufficient cpu");
        step.NodeReady!.Value.ShouldBe(At(nodeReady), ToTheSecond, story);
        step.Reaction!.Value.ShouldBe(ready.Max(At), ToTheSecond, story);
        step.Recovered.ShouldBe(0); // 10 req/s of 20 ms never takes spin's p95 near 2 s
        step.Unreached.ShouldBeEmpty(story);

        // Gated on it: both held, and summary.md and the report carry the waterfall.
        record.Gate.ShouldNotBeNull().Thresholds.Where(t => t.Threshold.StartsWith("scale.", StringComparison.Ordinal)).ShouldAllBe(t => t.Passed, story);
        File.ReadAllText(Path.Combine(_dir, "reaction", "summary.md")).ShouldContain("| new pods Ready | `scale.spin.reaction` | 1 | 1 |");
        File.ReadAllText(Path.Combine(_dir, "reaction", "index.html")).ShouldContain("How spin reacted to step 2 of spin-cycles (cycle 1 up)");
    }

    private static double LocalProcessSamplerCpu(int pid) => Observer.LocalProcessSampler.CpuSeconds(pid) ?? 0;
}
