using Constellation.Core.Gate;
using Constellation.Tests;

namespace Constellation.Core.Tests.Gate;

public sealed class RunComparerTests
{
    private const string Plan = "name: gated\n";

    /// <summary>Latency that varies second to second around a level, as real runs do (deterministic).</summary>
    private static Func<int, double> Noisy(double level, double spread) => i => level + (spread * Math.Sin(i * 1.7) * Math.Cos(i * 0.3));

    [Fact]
    public void ASlowerRun_IsARegression()
    {
        var baseline = TestRuns.Steady(Plan, 60, Noisy(100, 8)) with { RunId = "base" };
        var current = TestRuns.Steady(Plan, 60, Noisy(130, 8)) with { RunId = "now" };

        var c = RunComparer.Compare(current, baseline);

        c.Regressed.ShouldBeTrue();
        var p95 = c.Metrics.Single(m => m.Metric == "p95");
        p95.Verdict.ShouldBe(MetricDelta.Regression);
        p95.Why.ShouldContain("p = ");
        p95.Change!.Value.ShouldBe(0.3, 0.06);
        RunComparer.Render(c).ShouldContain("**Regression**: ");
    }

    [Fact]
    public void AFasterRun_IsAnImprovement_NotARegression()
    {
        var baseline = TestRuns.Steady(Plan, 60, Noisy(130, 8)) with { RunId = "base" };
        var current = TestRuns.Steady(Plan, 60, Noisy(100, 8)) with { RunId = "now" };

        var c = RunComparer.Compare(current, baseline);

        c.Regressed.ShouldBeFalse();
        c.Metrics.Single(m => m.Metric == "p95").Verdict.ShouldBe(MetricDelta.Improvement);
    }

    [Fact]
    public void NoiseWithinTolerance_IsNotARegression()
    {
        var baseline = TestRuns.Steady(Plan, 60, Noisy(100, 8)) with { RunId = "base" };
        var current = TestRuns.Steady(Plan, 60, i => Noisy(100, 8)(i + 7) * 1.05) with { RunId = "now" };

        var c = RunComparer.Compare(current, baseline);

        c.Regressed.ShouldBeFalse();
        c.Metrics.Single(m => m.Metric == "p95").Verdict.ShouldBe(MetricDelta.Same);
        RunComparer.Render(c).ShouldContain("No regression: 0 of");
    }

    [Fact]
    public void OneBadSecond_BeyondTheTolerance_IsNotEnough_TheDistributionMustMove()
    {
        // The whole-run p99 jumps (one slow second), but the per-second values are the same: the rank test says noise.
        var baseline = TestRuns.Steady(Plan, 60, Noisy(100, 8)) with { RunId = "base" };
        var current = TestRuns.Steady(Plan, 60, i => i == 30 ? 5000 : Noisy(100, 8)(i)) with { RunId = "now" };

        var p99 = RunComparer.Compare(current, baseline).Metrics.Single(m => m.Metric == "p99");
        p99.Verdict.ShouldBe(MetricDelta.Same);
        p99.Why.ShouldContain("Mann–Whitney");
    }

    [Fact]
    public void ErrorsAndBreakingPoints_AreCompared()
    {
        var baseline = TestRuns.Sample() with { RunId = "base" }; // broke at 105 req/s
        var worse = baseline with
        {
            RunId = "now",
            Scenarios = [baseline.Scenarios[0] with { BreakingPoint = baseline.Scenarios[0].BreakingPoint! with { OfferedAtFailure = 70 } }],
        };

        var c = RunComparer.Compare(worse, baseline);
        var bp = c.Metrics.Single(m => m.Metric.StartsWith("breaking point"));
        bp.Verdict.ShouldBe(MetricDelta.Regression);
        bp.Baseline.ShouldBe(105);
        bp.Current.ShouldBe(70);
    }

    [Fact]
    public void ScalingTimes_AreCompared_WithAFloor()
    {
        var baseline = TestRuns.Observed() with { RunId = "base" };
        var scaling = baseline.Scaling!;
        var slower = baseline with
        {
            RunId = "now",
            Scaling = scaling with { Workloads = [scaling.Workloads[0] with { FirstNewPodReadySeconds = 60, FirstDesiredIncreaseSeconds = 5 }] },
        };

        var c = RunComparer.Compare(slower, baseline);
        c.Metrics.Single(m => m.Scope == "scale.spin" && m.Metric == "first_pod_ready").Verdict.ShouldBe(MetricDelta.Regression);
        c.Metrics.Single(m => m.Scope == "scale.spin" && m.Metric == "first_hpa_increase").Verdict.ShouldBe(MetricDelta.Same); // 3 s → 5 s is under the 5 s floor
    }

    [Fact]
    public void MannWhitney_SeparatesShiftedSamples_AndNotIdenticalOnes()
    {
        double[] a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        double[] b = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
        RunComparer.MannWhitneyP(a, b).ShouldBeLessThan(0.001);
        RunComparer.MannWhitneyP(b, a).ShouldBeGreaterThan(0.99);
        RunComparer.MannWhitneyP(a, a).ShouldBeInRange(0.4, 0.6);
    }
}
