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
    public void Assess_PacerLagP99_IsTheWorstSecondAfterTheFirst()
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
        health.DescribePacerLag().ShouldBe("max pacer lag 30 ms (p99 of arrivals 0.9 ms in the worst second)");
        GeneratorHealthAssessor.Assess([new GeneratorSecond(0, 10, null, 1, 1), new GeneratorSecond(1, 10, null, 1, 1)]).PacerLagP99Ms.ShouldBeNull();
    }
}
