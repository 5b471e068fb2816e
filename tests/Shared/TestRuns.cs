using Constellation.Core.Results;

namespace Constellation.Tests;

/// <summary>Run records built from synthetic per-second data, for rendering tests.</summary>
internal static class TestRuns
{
    public static RunRecord Sample(string planName = "nightly", string scenarioName = "spin-ramp", string? planText = "name: nightly\n")
    {
        var seconds = Enumerable.Range(0, 20).Select(i => Second(i, ok: 10 + (i * 5), errors: i > 15 ? 8 : 0, baseMs: 20 + (i * i))).ToList();
        var start = new DateTimeOffset(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);
        return new RunRecord
        {
            RunId = "20261125-020000-nightly-abcd",
            PlanName = planName,
            Status = RunStatus.Completed,
            Environment = new RunEnvironment
            {
                ToolVersion = "0.1.0",
                Machine = "ci-1",
                Os = "Linux",
                Runtime = ".NET 10",
                Cores = 2,
                StartedUtc = start,
                EndedUtc = start.AddSeconds(20),
                Targets = new Dictionary<string, string> { ["spin"] = "http://127.0.0.1:5000/" },
            },
            PlanText = planText,
            Scenarios =
            [
                new ScenarioResult
                {
                    Name = scenarioName,
                    Target = "spin",
                    Model = "open",
                    Url = "http://127.0.0.1:5000/api/spin",
                    StartOffsetSeconds = 0,
                    DurationSeconds = 20,
                    EndReason = EndReason.Stopped,
                    Seconds = seconds,
                    Totals = ScenarioTotalsCalculator.FromSamples(seconds, 20),
                    BreakingPoint = new BreakingPoint
                    {
                        Condition = "error_rate > 5% over 3s",
                        Observed = "8%",
                        AtUtc = start.AddSeconds(19),
                        ElapsedSeconds = 19,
                        Unit = "req/s",
                        OfferedAtFailure = 105,
                        LastHealthyOffered = 90,
                        LastHealthyStage = "ramp",
                        PeakOkPerSecond = 105,
                    },
                },
            ],
            Generator = GeneratorHealthAssessor.Assess([new GeneratorSecond(0, 12.5, 97, 0.8, 3)]),
        };
    }

    /// <summary>
    /// <see cref="Sample"/> with a scripted scale-out observed from −5 s to 30 s (load 0–20 s): spin 2→6 replicas
    /// (HPA up at 3 s, first new pod Ready at 6 s, peak at 9 s, pending 4 s for lack of nodes), nodes 2→3 (new
    /// node Ready at 8 s, gone at 28 s), webapp probed every second: 2 ms calm, 5 ms while scaling.
    /// </summary>
    public static RunRecord Observed()
    {
        var run = Sample();
        var probes = Enumerable.Range(-5, 35).Select(t => new ProbeSample(t, t is >= 3 and <= 9 ? 5 : 2, t == 7 ? 503 : 200)).ToList();
        var observation = new Observation
        {
            FromSeconds = -5,
            ToSeconds = 30,
            Samplers = [new SamplerReport("kubernetes", "KubernetesSampler", 120, 2) { GapSeconds = 2, Notes = ["nodes: 410 Gone, listed again"] }],
            Gaps = [new ObservationGap("kubernetes metrics.k8s.io", 1, 3, "metrics.k8s.io: HTTP 503 ServiceUnavailable")],
            Probes = [new ProbeResult("webapp", "http://127.0.0.1:5001/", 1, probes)],
            Kubernetes = new KubernetesTimeline
            {
                Workloads =
                [
                    new WorkloadTimeline("demo", "spin", "spin",
                    [
                        new ReplicaPoint(-5, 2, 2, 20), new ReplicaPoint(3, 6, 2, 180), new ReplicaPoint(6, 6, 3, 170), new ReplicaPoint(7, 6, 5, 150),
                        new ReplicaPoint(9, 6, 6, 90), new ReplicaPoint(22, 2, 6, 10), new ReplicaPoint(24, 2, 2, 10),
                    ]),
                ],
                Pods =
                [
                    new PodLife { Namespace = "demo", Name = "spin-1", Deployment = "spin", CreatedSeconds = -3600, ScheduledSeconds = -3599, ReadySeconds = -3590, Node = "a1" },
                    new PodLife { Namespace = "demo", Name = "spin-2", Deployment = "spin", CreatedSeconds = -3600, ScheduledSeconds = -3599, ReadySeconds = -3590, Node = "b1" },
                    new PodLife { Namespace = "demo", Name = "spin-3", Deployment = "spin", CreatedSeconds = 3.2, ScheduledSeconds = 3.4, ReadySeconds = 6, DeletedSeconds = 24, Node = "a1" },
                    new PodLife { Namespace = "demo", Name = "spin-4", Deployment = "spin", CreatedSeconds = 3.2, ScheduledSeconds = 3.4, ReadySeconds = 7, DeletedSeconds = 24, Node = "b1" },
                    new PodLife { Namespace = "demo", Name = "spin-5", Deployment = "spin", CreatedSeconds = 3.2, ScheduledSeconds = 3.5, ReadySeconds = 7, DeletedSeconds = 24, Node = "b1" },
                    new PodLife { Namespace = "demo", Name = "spin-6", Deployment = "spin", CreatedSeconds = 3.2, ScheduledSeconds = 7.2, ReadySeconds = 9, DeletedSeconds = 24, Node = "a2", PendingReason = "Unschedulable: 0/2 nodes are available: 2 Insufficient cpu." },
                ],
                Nodes =
                [
                    new NodeLife { Name = "a1", Zone = "eu-west-1a", CreatedSeconds = -86400, ReadySeconds = -86300 },
                    new NodeLife { Name = "b1", Zone = "eu-west-1b", CreatedSeconds = -86400, ReadySeconds = -86300 },
                    new NodeLife { Name = "a2", Zone = "eu-west-1a", CreatedSeconds = 5, ReadySeconds = 8, GoneSeconds = 28, InstanceType = "m5.large", CapacityType = "spot", NodeGroup = "workers" },
                ],
            },
        };
        run = run with
        {
            Observation = observation,
            Observations = [new ObservedSeries("node CPU", "workers", "cores", [new SeriesPoint(-5, 0.4), new SeriesPoint(10, 3.5), new SeriesPoint(25, 0.5)])],
            Events =
            [
                new ObservedEvent(3, "SuccessfulRescale", "New size: 6; reason: cpu resource utilization (percentage of request) above target") { Object = "horizontalpodautoscaler/demo/spin" },
                new ObservedEvent(3.5, "FailedScheduling", "0/2 nodes are available: 2 Insufficient cpu.") { Object = "pod/demo/spin-6" },
                new ObservedEvent(4, "TriggeredScaleUp", "pod triggered scale-up") { Object = "pod/demo/spin-6" },
                new ObservedEvent(8, "NodeReady", "node a2 Ready (eu-west-1a, m5.large, spot, workers)") { Object = "node/a2" },
                new ObservedEvent(22, "SuccessfulRescale", "New size: 2; reason: All metrics below target") { Object = "horizontalpodautoscaler/demo/spin" },
                new ObservedEvent(28, "NodeRemoved", "node a2 (eu-west-1a) was deleted") { Object = "node/a2" },
            ],
        };
        return run with { Scaling = ScalingAnalyzer.Derive(run) };
    }

    /// <summary>
    /// A scripted scale reaction to two steps of spin's load (0→5 req/s at 0 s, 5→10 at 100 s; observed −30…200 s):
    /// step 1 — HPA metric over its 50% target at 10 s, desired 1→3 at 25 s, pods created at 26 and 27 s, the second
    /// Pending 39 s for a node (Ready at 65 s), both Ready by 72 s; spin's p95 600 ms (limit 500 ms) in seconds 5–49;
    /// webapp's probes 50 ms (calm 10 ms) from 20 to 30 s. Step 2 — nothing to react to.
    /// </summary>
    public static RunRecord Reacting(bool secondPodNeverReady = false)
    {
        var run = Steady("name: nightly\n", 200, i => i is >= 5 and < 50 ? 600 : 300, scenario: "spin-ramp");
        var scenario = run.Scenarios[0] with
        {
            Reaction = new ReactionScope { Deployment = "spin", P95LimitMs = 500, Steps = [new LoadStep("step 1", 0, 0, 5), new LoadStep("step 2", 100, 5, 10)] },
        };
        var probes = Enumerable.Range(-30, 230).Select(t => new ProbeSample(t, t is >= 20 and <= 30 ? 50 : 10, 200)).ToList();
        run = run with
        {
            Scenarios = [scenario],
            Observation = new Observation
            {
                FromSeconds = -30,
                ToSeconds = 200,
                Probes = [new ProbeResult("webapp", "http://127.0.0.1:5001/", 1, probes)],
                Kubernetes = new KubernetesTimeline
                {
                    Workloads =
                    [
                        new WorkloadTimeline("demo", "spin", "spin",
                        [
                            new ReplicaPoint(-30, 1, 1, 20), new ReplicaPoint(10, 1, 1, 80), new ReplicaPoint(25, 3, 1, 90), new ReplicaPoint(35, 3, 2, 70),
                            new ReplicaPoint(72, 3, secondPodNeverReady ? 2 : 3, 40), new ReplicaPoint(130, 3, secondPodNeverReady ? 2 : 3, 45),
                        ]) { HpaTarget = 50 },
                    ],
                    Pods =
                    [
                        new PodLife { Namespace = "demo", Name = "spin-0", Deployment = "spin", CreatedSeconds = -3600, ScheduledSeconds = -3599, ReadySeconds = -3590, Node = "n1" },
                        new PodLife { Namespace = "demo", Name = "spin-a", Deployment = "spin", CreatedSeconds = 26, ScheduledSeconds = 26.5, ReadySeconds = 35, Node = "n1" },
                        new PodLife { Namespace = "demo", Name = "spin-b", Deployment = "spin", CreatedSeconds = 27, ScheduledSeconds = 66, ReadySeconds = secondPodNeverReady ? null : 72, Node = "n2", PendingReason = "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu." },
                    ],
                    Nodes =
                    [
                        new NodeLife { Name = "n1", Zone = "eu-west-1a", CreatedSeconds = -86400, ReadySeconds = -86300 },
                        new NodeLife { Name = "n2", Zone = "eu-west-1b", CreatedSeconds = 40, ReadySeconds = 65 },
                    ],
                },
            },
        };
        return run with { Scaling = ScalingAnalyzer.Derive(run) };
    }

    /// <summary>
    /// A gated run of <paramref name="seconds"/> seconds, 10 requests each: every request of second i takes
    /// <paramref name="latencyMs"/>(i) ms; <paramref name="errors"/>(i) of them are 5xx. Plan text included.
    /// </summary>
    public static RunRecord Steady(string planText, int seconds, Func<int, double> latencyMs, Func<int, int>? errors = null, string scenario = "api")
    {
        var samples = Enumerable.Range(0, seconds).Select(i =>
        {
            var h = Histograms.Create();
            h.RecordValueWithCount((long)(latencyMs(i) * 1000), 10);
            int e = errors?.Invoke(i) ?? 0;
            return new SecondSample
            {
                Second = i,
                Offered = 10,
                Started = 10,
                Outcomes = new OutcomeCounts { Status2xx = 10 - e, Status5xx = e },
                BytesReceived = 1000,
                Latency = Histograms.Summarise(h),
                ServiceTime = Histograms.Summarise(h),
                LatencyHistogram = Histograms.Encode(h),
            };
        }).ToList();
        var run = Sample();
        return run with
        {
            PlanText = planText,
            Scenarios = [run.Scenarios[0] with { Name = scenario, Seconds = samples, DurationSeconds = seconds, BreakingPoint = null, EndReason = EndReason.Completed, Totals = ScenarioTotalsCalculator.FromSamples(samples, seconds) }],
        };
    }

    private static SecondSample Second(int i, long ok, long errors, double baseMs)
    {
        var latency = Histograms.Create();
        var service = Histograms.Create();
        for (int r = 0; r < ok + errors; r++)
        {
            latency.RecordValue((long)((baseMs + r) * 1000));
            service.RecordValue((long)((baseMs / 2 + r) * 1000));
        }

        return new SecondSample
        {
            Second = i,
            Offered = ok + errors,
            Started = ok + errors,
            Outcomes = new OutcomeCounts { Status2xx = ok, Status5xx = errors },
            BytesReceived = (ok + errors) * 100,
            Latency = Histograms.Summarise(latency),
            ServiceTime = Histograms.Summarise(service),
            LatencyHistogram = Histograms.Encode(latency),
            ServiceTimeHistogram = Histograms.Encode(service),
        };
    }
}
