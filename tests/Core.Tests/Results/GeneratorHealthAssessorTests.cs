using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

public sealed class GeneratorHealthAssessorTests
{
    [Fact]
    public void Assess_CalmGenerator_IsNotABottleneck()
    {
        var seconds = Enumerable.Range(0, 30).Select(i => new GeneratorSecond(i, 20, 50, 1.5, 10)).ToList();

        var health = GeneratorHealthAssessor.Assess(seconds);

        health.Bottleneck.ShouldBeFalse();
        health.Warnings.ShouldBeEmpty();
        health.MaxCpuPercent.ShouldBe(20);
    }

    [Fact]
    public void Assess_SaturatedCpuInMoreThanATenthOfSeconds_IsABottleneck()
    {
        var seconds = Enumerable.Range(0, 30).Select(i => new GeneratorSecond(i, i is >= 1 and <= 4 ? 97 : 30, 100, 1, 10)).ToList();

        var health = GeneratorHealthAssessor.Assess(seconds);

        health.Bottleneck.ShouldBeTrue();
        health.Warnings.ShouldContain(w => w.Contains("4 of 29 seconds", StringComparison.Ordinal));
    }

    [Fact]
    public void Assess_BusyFirstSecondOnly_IsStartUpNotABottleneck()
    {
        var seconds = Enumerable.Range(0, 3).Select(i => new GeneratorSecond(i, i == 0 ? 99 : 20, null, i == 0 ? 80 : 1, 10)).ToList();

        GeneratorHealthAssessor.Assess(seconds).Bottleneck.ShouldBeFalse();
    }

    [Fact]
    public void Assess_LatePacerOnce_WarnsButIsNotABottleneck()
    {
        var seconds = Enumerable.Range(0, 30).Select(i => new GeneratorSecond(i, 10, null, i == 7 ? 120 : 1, 10)).ToList();

        var health = GeneratorHealthAssessor.Assess(seconds);

        health.Bottleneck.ShouldBeFalse();
        health.MaxPacerLagMs.ShouldBe(120);
        health.Warnings.ShouldContain(w => w.Contains("pacer", StringComparison.Ordinal));
    }

    [Fact]
    public void Assess_PacerLagP99_WithoutHistograms_IsTheWorstSecondAfterTheFirst()
    {
        var seconds = new List<GeneratorSecond>
        {
            new(0, 50, null, 30, 10) { PacerLagP99Ms = 12 }, // start-up
            new(1, 10, null, 2, 10) { PacerLagP99Ms = 0.4 },
            new(2, 10, null, 3, 10) { PacerLagP99Ms = 0.9 },
            new(3, 10, null, 0, 0),
        };

        var health = GeneratorHealthAssessor.Assess(seconds);

        health.PacerLagP99Ms.ShouldBe(0.9);
        health.DescribePacerLag().ShouldBe("max pacer lag 30 ms (p99 of arrivals 0.9 ms)");
        GeneratorHealthAssessor.Assess([new GeneratorSecond(0, 10, null, 1, 1), new GeneratorSecond(1, 10, null, 1, 1)]).PacerLagP99Ms.ShouldBeNull();
    }

    [Fact]
    public void Assess_PacerLagP99_MergesEveryArrivalAfterTheFirstSecond()
    {
        // 1,000 arrivals a second: second 1 has 30 late by 5 ms (3%: its own p99 is 5 ms), second 2 none late. Merged,
        // 30 of 2,000 (1.5%) are late: still 5 ms. With second 3 on time too, 30 of 3,000 (1%): the p99 is on time.
        static GeneratorSecond Second(int i, int late) => new(i, 10, null, late > 0 ? 5 : 0.1, 1)
        {
            PacerLagHistogram = Histograms.Encode(Lags((1000 - late, 100), (late, 5000))),
        };

        var startUp = new GeneratorSecond(0, 90, null, 40, 1) { PacerLagHistogram = Histograms.Encode(Lags((1000, 40_000))) };

        GeneratorHealthAssessor.Assess([startUp, Second(1, 30), Second(2, 0)]).PacerLagP99Ms!.Value.ShouldBe(5, tolerance: 0.01);
        GeneratorHealthAssessor.Assess([startUp, Second(1, 30), Second(2, 0), Second(3, 0)]).PacerLagP99Ms!.Value.ShouldBe(0.1, tolerance: 0.001);
    }

    [Fact]
    public void Combine_AgentsSeconds_MergesTheirLagsExactly()
    {
        var a = new GeneratorSecond(4, 30, 50, 2, 10) { PacerLagP99Ms = 0.1, GcPauseMs = 1, PacerLagHistogram = Histograms.Encode(Lags((990, 100), (10, 2000))) };
        var b = new GeneratorSecond(4, 40, 60, 1, 5) { PacerLagP99Ms = 0.2, GcPauseMs = 3, PacerLagHistogram = Histograms.Encode(Lags((1000, 200))) };

        var c = GeneratorHealthAssessor.Combine(4, [a, b], sumInFlight: true);

        (c.CpuPercent, c.MachineCpuPercent, c.PacerLagMaxMs, c.InFlight, c.PacerLagP99Ms, c.GcPauseMs).ShouldBe((40.0, (double?)60, 2.0, 15L, (double?)0.2, (double?)3));
        Histograms.Decode(c.PacerLagHistogram!).TotalCount.ShouldBe(2000);
    }

    private static HdrHistogram.LongHistogram Lags(params (int Count, long Micros)[] groups)
    {
        var h = Histograms.Create();
        foreach (var (count, micros) in groups)
        {
            h.RecordValueWithCount(micros, count);
        }

        return h;
    }
}
