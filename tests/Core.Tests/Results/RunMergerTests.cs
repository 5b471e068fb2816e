using Constellation.Core.Results;
using Constellation.Tests;

namespace Constellation.Core.Tests.Results;

public sealed class RunMergerTests
{
    [Fact]
    public void MergingAgentsHistograms_EqualsOneHistogramOfAllValues_BitForBit()
    {
        var random = new Random(42);
        var values = Enumerable.Range(0, 30_000).Select(_ => (long)Math.Exp(random.NextDouble() * 14)).ToList(); // 1 µs to ~1.2 s, skewed
        var all = Histograms.Create();
        var agents = new[] { Histograms.Create(), Histograms.Create(), Histograms.Create() };
        for (int i = 0; i < values.Count; i++)
        {
            all.RecordClamped(values[i]);
            agents[i % 3].RecordClamped(values[i]);
        }

        var parts = agents.Select(h => Sample(0, h)).ToList();
        var merged = RunMerger.MergeSecond(0, parts);

        merged.LatencyHistogram.ShouldBe(Histograms.Encode(all));
        merged.Latency.ShouldBe(Histograms.Summarise(all));
        merged.Outcomes.Status2xx.ShouldBe(values.Count);
        merged.Started.ShouldBe(values.Count);
    }

    [Fact]
    public void MergeScenario_AlignsSeconds_AddsCounts_AndTotalsComeFromTheMergedHistograms()
    {
        var a = TestRuns.Steady("name: x\n", 10, _ => 100).Scenarios[0];
        var b = TestRuns.Steady("name: x\n", 12, i => i < 5 ? 100 : 300).Scenarios[0];

        var merged = RunMerger.MergeScenario([a, b]);

        merged.Seconds.Count.ShouldBe(12);
        merged.Seconds[0].Outcomes.Status2xx.ShouldBe(20);
        merged.Seconds[11].Outcomes.Status2xx.ShouldBe(10); // only b had second 11
        merged.Totals.Requests.ShouldBe(220);
        merged.DurationSeconds.ShouldBe(12);
        // 100 of 220 requests at 100 ms, 70 at ~300 ms (b after second 5) and 50 more at 100 ms: p50 is 100 ms, p99 300 ms.
        merged.Totals.Latency.P50Ms.ShouldBe(100, 0.2);
        merged.Totals.Latency.P99Ms.ShouldBe(300, 0.5);
    }

    [Fact]
    public void PartsOfDifferentScenarios_AreRefused()
    {
        var a = TestRuns.Steady("name: x\n", 2, _ => 1, scenario: "a").Scenarios[0];
        var b = TestRuns.Steady("name: x\n", 2, _ => 1, scenario: "b").Scenarios[0];
        Should.Throw<ArgumentException>(() => RunMerger.MergeScenario([a, b])).Message.ShouldContain("parts of different scenarios");
    }

    private static SecondSample Sample(int second, HdrHistogram.LongHistogram h) => new()
    {
        Second = second,
        Offered = h.TotalCount,
        Started = h.TotalCount,
        Outcomes = new OutcomeCounts { Status2xx = h.TotalCount },
        BytesReceived = 0,
        Latency = Histograms.Summarise(h),
        ServiceTime = LatencySummary.Empty,
        LatencyHistogram = Histograms.Encode(h),
    };
}
