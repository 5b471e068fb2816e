using Constellation.Core.Results;
using Constellation.Core.Trends;
using Constellation.Reports.History;

namespace Constellation.Reports.Tests;

/// <summary>Change points across nights on synthetic histories.</summary>
public sealed class RunTrendsTests
{
    private static readonly DateTimeOffset Night0 = new(2026, 10, 1, 2, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Analyze_AShiftInP95_IsFoundAtItsRun_AndNoiseElsewhereRaisesNothing()
    {
        var random = new Random(11);
        var runs = Enumerable.Range(0, 40).Select(i => Night(i, p95: (i < 25 ? 200 : 260) + (random.NextDouble() * 8), rps: 50 + random.NextDouble())).ToList();

        var trends = RunTrends.Analyze(runs);

        var p95 = trends.Single(t => t.Scope == "api" && t.Metric == TrendMetrics.P95);
        p95.Values.Count.ShouldBe(40);
        var p = p95.ChangePoints.ShouldHaveSingleItem();
        p95.Values[p.Index].RunId.ShouldBe("night-25");
        p.Change.ShouldBe(0.3, tolerance: 0.03);
        trends.Where(t => t.Metric != TrendMetrics.P95 && t.Metric != TrendMetrics.P99).ShouldAllBe(t => t.ChangePoints.Count == 0);
        trends.Single(t => t.Metric == "scale.api.first_pod_ready").Values.Count.ShouldBe(40);

        var text = RunTrends.RenderText(trends);
        text.ShouldContain("nightly: 40 runs");
        text.ShouldContain("api p95");
        text.ShouldContain("from run night-25 (2026-10-26 02:00)");
        text.ShouldContain("(worse)");
    }

    [Fact]
    public void Analyze_SkipsRunsWhoseNumbersCannotBeCompared_AndOtherPlans()
    {
        var runs = Enumerable.Range(0, 12).Select(i => Night(i, p95: 100, rps: 10)).ToList();
        runs[3] = runs[3] with { Status = RunStatus.Cancelled, Verdict = RunVerdict.Cancelled };
        runs[5] = runs[5] with { Verdict = RunVerdict.Invalid };
        runs.Add(Night(20, p95: 900, rps: 1) with { PlanName = "other" });

        var trends = RunTrends.Analyze(runs, plan: "nightly");

        trends.ShouldAllBe(t => t.Plan == "nightly");
        trends.First().Values.Select(v => v.RunId).ShouldNotContain("night-3");
        trends.First().Values.Select(v => v.RunId).ShouldNotContain("night-5");
        trends.First().Values.Count.ShouldBe(10);
    }

    [Fact]
    public void HistoryFor_ATonightThatShifts_IsLastInItsHistory()
    {
        // Last night started a new level and tonight is the second run of it (one odd night alone is no shift).
        var stored = Enumerable.Range(0, 20).Select(i => Night(i, p95: i == 19 ? 141 : 100 + (i % 3), rps: 10)).ToList();
        var tonight = Night(20, p95: 140, rps: 10);

        var history = RunTrends.HistoryFor([.. stored, Night(25, p95: 500, rps: 10)], tonight)("api", TrendMetrics.P95)!; // a later run is not history

        history.Count.ShouldBe(21);
        history[^1].RunId.ShouldBe("night-20");
        var (_, latest, worse, _) = TrendMetrics.Judge(history, TrendMetrics.P95, Core.Gate.ThresholdUnit.Milliseconds);
        latest.ShouldNotBeNull().Index.ShouldBe(19);
        worse!.Value.ShouldBe(0.4, tolerance: 0.02);
        var lone = RunTrends.HistoryFor([.. stored.Take(19)], tonight)("api", TrendMetrics.P95)!;
        TrendMetrics.Judge(lone, TrendMetrics.P95, Core.Gate.ThresholdUnit.Milliseconds).Latest.ShouldBeNull();
        RunTrends.HistoryFor(stored, tonight)("missing", TrendMetrics.P95).ShouldBeNull();
    }

    [Fact]
    public void RunsIndex_MarksChangePointsOnTheTrendChart_AndListsThem()
    {
        var runs = Enumerable.Range(0, 30).Select(i => Night(i, p95: i < 20 ? 100 + (i % 2) : 150 + (i % 2), rps: 10)).Reverse().ToList();

        var html = RunsIndexPage.Render(runs);

        html.ShouldContain("Change points (Hunter");
        html.ShouldContain("<strong>api p95</strong> <span class=\"worse\">+");
        html.ShouldContain("from run night-20");
        html.ShouldContain("api: +49"); // the dashed marker's legend on the p95 chart
    }

    private static RunSummary Night(int i, double p95, double rps) => new()
    {
        RunId = $"night-{i}",
        PlanName = "nightly",
        Status = RunStatus.Completed,
        StartedUtc = Night0.AddDays(i),
        DurationSeconds = 600,
        Verdict = RunVerdict.Passed,
        Scenarios = [new ScenarioSummary("api", 30_000, rps, 0.001, p95, p95 * 1.5, null, null, null)],
        Scaling = new Dictionary<string, double> { ["scale.api.first_pod_ready"] = 60 + (i % 4) },
    };
}
