using Constellation.Core.Load;
using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Load;

public sealed class LoadCurveTests
{
    private static readonly TimeSpan S = TimeSpan.FromSeconds(1);

    [Fact]
    public void ArrivalsBetween_ConstantRate_IsTheRateEverySecond()
    {
        var curve = new LoadCurve([new LoadSegment(10 * S, 37, 37)]);

        Enumerable.Range(0, 10).Select(i => curve.ArrivalsBetween(i * S, (i + 1) * S)).ShouldAllBe(n => n == 37);
        curve.TotalArrivals.ShouldBe(370);
    }

    [Fact]
    public void ArrivalsBetween_LinearRamp_FollowsTheIntegral()
    {
        var curve = new LoadCurve([new LoadSegment(4 * S, 0, 200)]);

        Enumerable.Range(0, 4).Select(i => curve.ArrivalsBetween(i * S, (i + 1) * S)).ShouldBe([25L, 75L, 125L, 175L]);
    }

    [Fact]
    public void Schedule_MatchesArrivalsBetween_AndIsOrdered()
    {
        var curve = new LoadCurve([new LoadSegment(2 * S, 10, 10), new LoadSegment(3 * S, 10, 90), new LoadSegment(S, 0, 0), new LoadSegment(2 * S, 50, 50)]);
        var schedule = curve.Schedule();
        var times = new List<double>();
        while (schedule.TryNext(out var t))
        {
            times.Add(t);
        }

        times.ShouldBeInOrder();
        times.Count.ShouldBe((int)curve.ArrivalsBetween(TimeSpan.Zero, curve.Duration));
        for (int sec = 0; sec < 8; sec++)
        {
            times.Count(t => t >= sec && t < sec + 1).ShouldBe((int)curve.ArrivalsBetween(sec * S, (sec + 1) * S), $"second {sec}");
        }

        times.Count(t => t >= 5 && t < 6).ShouldBe(0);
    }

    [Fact]
    public void ValueAt_AndStageNames_FollowTheSegments()
    {
        var curve = new LoadCurve([new LoadSegment(10 * S, 0, 100, "ramp"), new LoadSegment(5 * S, 100, 100)]);

        curve.ValueAt(5 * S).ShouldBe(50);
        curve.ValueAt(12 * S).ShouldBe(100);
        curve.StageNameAt(3 * S).ShouldBe("ramp");
        curve.StageNameAt(11 * S).ShouldBe("stage 2");
        curve.StageNameAt(20 * S).ShouldBe("done");
        curve.Peak.ShouldBe(100);
    }
}
