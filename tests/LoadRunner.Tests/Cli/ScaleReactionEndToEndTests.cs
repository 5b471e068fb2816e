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
            for (int i = 0; i < 100; i++) // past the tiered compiler's 30 calls, so its recompiling burns no CPU in the base step
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

        // Every step held to what the simulator did in it: the HPA's rise in the step's window, the pods that rise
        // created, followed to their scheduling and readiness whenever that was, and the node they waited for.
        double T(SimulatedAction a) => (a.At - origin).TotalSeconds;
        foreach (var step in reaction.Steps)
        {
            double from = step.StartSeconds, to = step.EndSeconds;
            string where = $"step {step.Number} ({step.Stage}) [{from:0.#}, {to:0.#})\n{story}";
            int desiredBefore = (int)truth.Where(a => a.Kind == "desired" && T(a) < from).Select(a => a.Value).DefaultIfEmpty(cluster.MinReplicas).Last();
            var raise = truth.FirstOrDefault(a => a.Kind == "desired" && a.Value > desiredBefore && T(a) >= from && T(a) < to);
            step.DesiredBefore.ShouldBe(desiredBefore, where);
            if (raise is null)
            {
                new[] { step.DesiredRaised, step.PodCreated, step.NodeReady, step.Reaction }.ShouldAllBe(v => v == null, where);
                continue;
            }

            step.DesiredRaised!.Value.ShouldBe(T(raise) - from, ToTheSecond, where);
            step.DesiredPeak.ShouldBe((int)truth.Where(a => a.Kind == "desired" && T(a) >= from && T(a) < to).Max(a => a.Value), where);
            var created = truth.Where(a => a.Kind == "pod-created" && T(a) >= T(raise) - 0.01 && T(a) < to).ToList();
            var scheduled = created.Select(c => truth.First(a => a.Kind == "pod-scheduled" && a.Name == c.Name)).ToList();
            var ready = created.Select(c => truth.First(a => a.Kind == "pod-ready" && a.Name == c.Name)).ToList();
            step.NewPods.ShouldBe(created.Count, where);
            var atStart = truth.LastOrDefault(a => a.Kind == "metric" && T(a) < from);
            double metricAbove = atStart is { Value: > 50 } ? 0 : T(truth.First(a => a.Kind == "metric" && a.Value > 50 && T(a) >= from)) - from;
            step.MetricAbove!.Value.ShouldBe(metricAbove, ToTheSecond, where);
            step.PodCreated!.Value.ShouldBe(T(created[0]) - from, ToTheSecond, where);
            step.Pending!.Value.ShouldBe(created.Zip(scheduled).Max(p => T(p.Second) - T(p.First)), ToTheSecond, where);
            step.Reaction!.Value.ShouldBe(ready.Max(T) - from, ToTheSecond, where);
            var newNodes = truth.Where(a => a.Kind == "node-created" && T(a) >= from && T(a) < to).Select(a => a.Name).ToHashSet();
            var hosting = scheduled.Where(p => newNodes.Contains(p.Node!)).Select(p => p.Node).ToHashSet();
            if (truth.Any(a => a.Kind == "pod-unschedulable" && created.Any(c => c.Name == a.Name)))
            {
                step.NodeReady!.Value.ShouldBe(truth.Where(a => a.Kind == "node-ready" && hosting.Contains(a.Name)).Min(T) - from, ToTheSecond, where);
                step.PendingReason.ShouldNotBeNull().ShouldContain("Insufficient cpu");
            }
            else
            {
                step.NodeReady.ShouldBeNull(where);
            }

            step.Unreached.ShouldBeEmpty(where);
        }

        // The step up needed more than the first node holds: new pods waited for a new node.
        var up = reaction.Steps[1];
        up.DesiredPeak.ShouldBeGreaterThanOrEqualTo(3, story);
        up.NodeReady.ShouldNotBeNull(story);
        up.Recovered.ShouldBe(0); // 10 req/s of 20 ms never takes spin's p95 near 2 s

        // Gated on it: both held, and summary.md and the report carry the waterfall.
        record.Gate.ShouldNotBeNull().Thresholds.Where(t => t.Threshold.StartsWith("scale.", StringComparison.Ordinal)).ShouldAllBe(t => t.Passed, story);
        var scaled = reaction.Phases.Single(p => p.Phase == "reaction");
        File.ReadAllText(Path.Combine(_dir, "reaction", "summary.md")).ShouldContain($"| new pods Ready | `scale.spin.reaction` | {scaled.Steps} | {scaled.Reached} |"); // the base may scale too on a busy machine
        File.ReadAllText(Path.Combine(_dir, "reaction", "index.html")).ShouldContain("How spin reacted to step 2 of spin-cycles (cycle 1 up)");
    }

    private static double LocalProcessSamplerCpu(int pid) => Observer.LocalProcessSampler.CpuSeconds(pid) ?? 0;
}
