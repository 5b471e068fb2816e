using Constellation.Core.Gate;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Core.Trends;
using Constellation.Tests;

namespace Constellation.Core.Tests.Gate;

public sealed class GateEvaluatorTests
{
    // 60 s: a 10 s warm-up at 1 s per request, then 100 ms; seconds 40–44 have 2 errors of 10 each.
    private static string PlanText(string thresholds, string extra = "") => $$"""
        name: gated
        targets: { api: { baseUrl: "http://127.0.0.1:9" } }
        scenarios:
          - name: api
            target: api
            load:
              model: open
              stages: [{ name: warm-up, duration: 10s, rate: 10 }, { name: steady, duration: 50s, rate: 10 }]
            thresholds:
        {{thresholds}}
        {{extra}}
        """;

    private static (RunRecord Run, Plan Plan) Gated(string thresholds, string extra = "", Func<int, double>? latency = null)
    {
        var text = PlanText(thresholds, extra);
        var loaded = PlanLoader.Parse(text);
        loaded.Errors.ShouldBeEmpty();
        var run = TestRuns.Steady(text, 60, latency ?? (i => i < 10 ? 1000 : 100), i => i is >= 40 and < 45 ? 2 : 0);
        return (run, loaded.Plan!);
    }

    [Fact]
    public void Windows_WarmUpSkip_Stage_AndSlidingWindows()
    {
        var (run, plan) = Gated("""
                  - "p(95) < 500ms"
                  - "p(95) < 500ms after 10s"
                  - "p(95) < 500ms during stage \"steady\""
                  - "p(95) < 500ms over any 5s"
                  - "error_rate < 5%"
                  - "error_rate < 10% over any 10s"
                  - "rate >= 9/s"
                  - "dropped == 0"
                  - "requests == 600"
                  - "max < 2s"
                  - "avg < 300ms"
            """);

        var gate = GateEvaluator.Evaluate(run, plan, baseline: null)!;

        gate.Verdict.ShouldBe(GateResult.Failed);
        var r = gate.Thresholds.ToDictionary(t => t.Threshold);
        r["p(95) < 500ms"].Passed.ShouldBeFalse();
        r["p(95) < 500ms"].Observed.ShouldBe("1s");
        r["p(95) < 500ms after 10s"].Passed.ShouldBeTrue();
        r["p(95) < 500ms after 10s"].Value!.Value.ShouldBe(100, 0.1);
        r["p(95) < 500ms during stage \"steady\""].Passed.ShouldBeTrue();
        var window = r["p(95) < 500ms over any 5s"];
        window.Passed.ShouldBeFalse();
        window.Detail!.ShouldStartWith("first broken in seconds 0–5");
        r["error_rate < 5%"].Passed.ShouldBeTrue();
        r["error_rate < 5%"].Observed.ShouldBe("1.67%");
        var errors = r["error_rate < 10% over any 10s"];
        errors.Passed.ShouldBeFalse();
        errors.Observed.ShouldBe("10%");
        errors.Detail!.ShouldContain("worst window 35–45");
        r["rate >= 9/s"].Passed.ShouldBeTrue();
        r["rate >= 9/s"].Observed.ShouldBe("9.83/s");
        r["dropped == 0"].Passed.ShouldBeTrue();
        r["requests == 600"].Passed.ShouldBeTrue();
        r["max < 2s"].Passed.ShouldBeTrue();
        r["avg < 300ms"].Passed.ShouldBeTrue();
        r["avg < 300ms"].Value!.Value.ShouldBe(250, 1);
        gate.Thresholds.ShouldAllBe(t => t.Scope == "api");
    }

    [Fact]
    public void AllPassing_IsPassed()
    {
        var (run, plan) = Gated("""      - "p(95) < 2s" """);
        GateEvaluator.Evaluate(run, plan, null)!.Verdict.ShouldBe(GateResult.Passed);
    }

    [Fact]
    public void ScalingThresholds_ReadTheDerivedMetrics()
    {
        var run = TestRuns.Observed();
        var plan = PlanLoader.Parse("""
            name: scaled
            targets: { spin: { baseUrl: "http://127.0.0.1:9" }, webapp: { baseUrl: "http://127.0.0.1:8" } }
            scenarios: [{ name: spin-ramp, target: spin, load: { model: open, rate: 1, duration: 20s } }]
            observe:
              probes: [{ target: webapp }]
              kubernetes: { workloads: [{ namespace: demo, deployment: spin, hpa: spin }] }
            thresholds:
              - "scale.spin.first_pod_ready < 10s"
              - "scale.spin.peak_replicas >= 8"
              - "nodes.first_ready < 300s"
              - "control.webapp.p95_delta < 20%"
              - "scale.spin.scale_in < 10s"
            """).Plan!;

        var gate = GateEvaluator.Evaluate(run, plan, null)!;
        var r = gate.Thresholds.ToDictionary(t => t.Threshold);
        r["scale.spin.first_pod_ready < 10s"].Passed.ShouldBeTrue();
        r["scale.spin.first_pod_ready < 10s"].Observed.ShouldBe("6s");
        r["scale.spin.peak_replicas >= 8"].Passed.ShouldBeFalse();
        r["scale.spin.peak_replicas >= 8"].Observed.ShouldBe("6");
        r["nodes.first_ready < 300s"].Passed.ShouldBeTrue();
        r["control.webapp.p95_delta < 20%"].Passed.ShouldBeFalse();
        r["control.webapp.p95_delta < 20%"].Observed.ShouldBe("150%");
        r["scale.spin.scale_in < 10s"].Passed.ShouldBeTrue();
        gate.Thresholds.ShouldAllBe(t => t.Scope == "run");
        gate.Verdict.ShouldBe(GateResult.Failed);
    }

    [Fact]
    public void Change_TheLatestRunsStartAShift_FailsBeyondTheLimit()
    {
        var (run, plan) = Gated("""
                  - "p(95) change < 10%"
                  - "rate change < 10%"
            """);
        var random = new Random(5);
        List<TrendValue> History(int count, Func<int, double> value) =>
            [.. Enumerable.Range(0, count).Select(i => new TrendValue($"night-{i}", DateTimeOffset.UnixEpoch.AddDays(i), value(i) * (1 + ((random.NextDouble() - 0.5) * 0.04))))];

        // 30 nights at 100 ms, the last two (tonight last) at 125 ms; the rate steady.
        var shifted = GateEvaluator.Evaluate(run, plan, null, history: (_, metric) => metric == "p95" ? History(32, i => i < 30 ? 100 : 125) : History(32, _ => 10))!;

        var r = shifted.Thresholds.ToDictionary(t => t.Threshold);
        r["p(95) change < 10%"].Passed.ShouldBeFalse();
        r["p(95) change < 10%"].Value!.Value.ShouldBe(0.25, tolerance: 0.03);
        r["p(95) change < 10%"].Detail!.ShouldContain("from run night-30");
        r["rate change < 10%"].Passed.ShouldBeTrue();
        r["rate change < 10%"].Observed.ShouldBe("no shift");
        shifted.Verdict.ShouldBe(GateResult.Failed);

        // A rate that fell is worse; one that rose is not.
        var fell = GateEvaluator.Evaluate(run, plan, null, history: (_, metric) => metric == "rate" ? History(32, i => i < 30 ? 10 : 7) : History(32, _ => 100))!;
        fell.Thresholds.Single(t => t.Threshold == "rate change < 10%").Passed.ShouldBeFalse();
        var rose = GateEvaluator.Evaluate(run, plan, null, history: (_, metric) => metric == "rate" ? History(32, i => i < 30 ? 10 : 13) : History(32, _ => 100))!;
        rose.Verdict.ShouldBe(GateResult.Passed);

        // An old shift is the current level; too short a history is not judged.
        var old = GateEvaluator.Evaluate(run, plan, null, history: (_, _) => History(40, i => i < 10 ? 100 : 125))!;
        old.Verdict.ShouldBe(GateResult.Passed);
        old.Thresholds.First().Detail!.ShouldContain("is the current level");
        var young = GateEvaluator.Evaluate(run, plan, null, history: (_, _) => History(4, _ => 100))!;
        young.Thresholds.ShouldAllBe(t => t.Skipped);
        GateEvaluator.Evaluate(run, plan, null)!.Thresholds.ShouldAllBe(t => t.Skipped);
    }

    [Fact]
    public void Change_FromALevelOfZero_IsNotJudged_AndTwoRecentShiftsCountAsTheirNet()
    {
        var (run, plan) = Gated("""
                  - "p(95) change < 10%"
            """);
        static List<TrendValue> History(params double[] values) =>
            [.. values.Select((v, i) => new TrendValue($"night-{i}", DateTimeOffset.UnixEpoch.AddDays(i), v))];

        // Zero every night, then two nights with some: no % of 0 — not judged, and no infinity in the record.
        var fromZero = GateEvaluator.Evaluate(run, plan, null, history: (_, _) => History([.. Enumerable.Repeat(0.0, 20), 30, 31]))!;
        var t = fromZero.Thresholds.Single();
        (t.Skipped, t.Value, t.Observed).ShouldBe((true, (double?)null, "from 0"));
        RunRecordJson.Serialize(run with { Gate = fromZero }).ShouldContain("the level before was 0");

        // 100 → 150 four nights ago, then 150 → 120 for the last two: net 20% worse, though the last step was better.
        var values = Enumerable.Repeat(100.0, 20).Concat([150, 151, 149, 120, 121]).Select((v, i) => v + (i % 2 * 0.5)).ToArray();
        var net = GateEvaluator.Evaluate(run, plan, null, history: (_, _) => History(values))!.Thresholds.Single();
        net.Passed.ShouldBeFalse();
        net.Value!.Value.ShouldBe(0.2, tolerance: 0.01);
        net.Detail!.ShouldContain("through 2 change points since run night-20");
    }

    [Fact]
    public void Regression_AgainstABaseline_AndSkippedWithoutOne()
    {
        var (run, plan) = Gated("""      - "p(95) regression < 10%" """, "baseline: latest-passed", latency: _ => 120);
        var baseline = TestRuns.Steady(run.PlanText!, 60, _ => 100) with { RunId = "base-run" };

        var gate = GateEvaluator.Evaluate(run, plan, baseline)!;
        var r = gate.Thresholds.Single();
        r.Passed.ShouldBeFalse();
        r.Value!.Value.ShouldBe(0.2, 0.002); // within the histograms' 3 significant digits
        r.Observed.ShouldStartWith("+20");
        r.Detail!.ShouldMatch(@"^120(\.\d+)?ms against 100(\.\d+)?ms in baseline base-run$");
        gate.BaselineRunId.ShouldBe("base-run");

        var within = GateEvaluator.Evaluate(TestRuns.Steady(run.PlanText!, 60, _ => 105), plan, baseline)!;
        within.Verdict.ShouldBe(GateResult.Passed);

        var none = GateEvaluator.Evaluate(run, plan, null)!;
        none.Thresholds.Single().Skipped.ShouldBeTrue();
        none.Verdict.ShouldBe(GateResult.Passed);
    }

    [Fact]
    public void ASaturatedGenerator_OrObserverGaps_MakeTheRunInvalid()
    {
        var (run, plan) = Gated("""      - "p(95) < 2s" """, "validity: { maxObserverGap: 1s }");
        var saturated = run with { Generator = run.Generator with { Bottleneck = true } };
        var gate = GateEvaluator.Evaluate(saturated, plan, null)!;
        gate.Verdict.ShouldBe(GateResult.Invalid);
        gate.InvalidReasons.Single().ShouldContain("generator was saturated");

        var observed = TestRuns.Observed(); // 2 s of gaps
        var gaps = GateEvaluator.Evaluate(observed, plan, null)!;
        gaps.Verdict.ShouldBe(GateResult.Invalid);
        gaps.InvalidReasons.Single().ShouldContain("beyond the tolerance of 1s");
    }

    [Fact]
    public void ADegradedDistributedRun_IsInvalid_EvenWithoutThresholds()
    {
        var plan = PlanLoader.Parse("name: x\ntargets: { a: { baseUrl: \"http://127.0.0.1:9\" } }\nscenarios: [{ name: s, target: a, load: { model: open, rate: 1, duration: 1s } }]").Plan!;
        var agents = new Distribution
        {
            Mode = "local",
            Exchange = "/tmp/x",
            Agents = [new AgentSummary { Index = 0, Weight = 1, Share = 0.5, State = AgentState.Completed }, new AgentSummary { Index = 1, Weight = 1, Share = 0.5, State = AgentState.Failed }],
        };

        GateEvaluator.Evaluate(TestRuns.Sample() with { Distribution = agents }, plan, null).ShouldBeNull(); // every agent delivered: nothing to judge

        var degraded = agents with { Problems = ["agent 1 (50% of the load) failed after second 3: killed"] };
        var gate = GateEvaluator.Evaluate(TestRuns.Sample() with { Distribution = degraded }, plan, null).ShouldNotBeNull();
        gate.Verdict.ShouldBe(GateResult.Invalid);
        gate.InvalidReasons.Single().ShouldBe("the planned load was not fully sent: agent 1 (50% of the load) failed after second 3: killed");
    }

    [Fact]
    public void NoThresholds_NoGate() =>
        GateEvaluator.Evaluate(TestRuns.Sample(), PlanLoader.Parse("name: x\ntargets: { a: { baseUrl: \"http://127.0.0.1:9\" } }\nscenarios: [{ name: s, target: a, load: { model: open, rate: 1, duration: 1s } }]").Plan!, null).ShouldBeNull();

    [Fact]
    public void LiveGate_AbortsOnceASlidingWindowIsLost_AfterItsGrace()
    {
        var (run, plan) = Gated("""      - { threshold: "error_rate < 5% over any 3s", abortOnFail: true, delayAbortEval: 5s } """);
        var live = new LiveGate(plan);
        string? lostAt = null;
        foreach (var s in run.Scenarios[0].Seconds)
        {
            var lost = live.Observe(s.Second, [("api", s.Second, s)]);
            if (lost is not null)
            {
                lostAt = $"{s.Second}: {lost}";
                break;
            }
        }

        lostAt.ShouldBe("40: api: error_rate < 5% over any 3s (observed 6.67%)");
    }

    [Fact]
    public void PlanErrors_ThresholdsAreCheckedAgainstThePlan_WithPositions()
    {
        var result = PlanLoader.Parse("""
            name: bad
            targets: { api: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - name: api
                target: api
                load: { model: open, rate: 10, duration: 10s }
                thresholds:
                  - "p(95) < 500"
                  - "p(95) < 1s during stage \"steady\""
                  - { threshold: "p(95) regression < 10%", abortOnFail: true }
                  - "scale.spin.peak_replicas >= 2"
            thresholds: ["control.webapp.p95 < 10ms", "nodes.peak >= 3", "p(95) change < 10%"]
            """);

        var messages = result.Errors.Select(e => e.ToString()).ToList();
        messages.ShouldContain("scenarios[0].thresholds[0]: column 9: a duration needs a unit (us, ms, s, m, h), e.g. 500ms in 'p(95) < 500' (line 8)");
        messages.ShouldContain(m => m.StartsWith("scenarios[0].thresholds: 'p(95) < 1s during stage \"steady\"': no stage named \"steady\" in scenario api"));
        messages.ShouldContain(m => m.Contains("a regression threshold needs a baseline"));
        messages.ShouldContain(m => m.Contains("abortOnFail works on load metrics"));
        messages.ShouldContain(m => m.Contains("scaling thresholds belong to the run"));
        messages.ShouldContain(m => m.Contains("'webapp' is not a probed control app"));
        messages.ShouldContain(m => m.Contains("node metrics need the Kubernetes sampler"));
        messages.ShouldContain("thresholds: 'p(95) change < 10%': the stored runs keep p(95) per scenario: put a change of it in a scenario's thresholds (line 12)");
    }
}
