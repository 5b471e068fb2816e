using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Core.Results;

namespace Constellation.Core.Tests.Load;

public sealed class BreakingPointsTests
{
    [Fact]
    public void Derive_ConditionHeldOverWindow_LastHealthyIsTheLoadAtWindowStart()
    {
        var curve = new LoadCurve([new LoadSegment(TimeSpan.FromSeconds(10), 10, 10, "warm-up"), new LoadSegment(TimeSpan.FromSeconds(50), 10, 110, "ramp")]);
        StopCondition.TryParse("p95 > 1s over 5s", out var c, out _);
        var samples = new[] { Sample(0, ok: 10), Sample(1, ok: 42), Sample(2, ok: 30) };
        var at = new DateTimeOffset(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);

        var bp = BreakingPoints.Derive(c!, 1500, curve, "req/s", TimeSpan.FromSeconds(35), at, samples.Max(s => s.Outcomes.Ok));

        bp.OfferedAtFailure.ShouldBe(60);
        bp.LastHealthyOffered.ShouldBe(50);
        bp.LastHealthyStage.ShouldBe("ramp");
        bp.Observed.ShouldBe("1.5s");
        bp.PeakOkPerSecond.ShouldBe(42);
        bp.AtUtc.ShouldBe(at);
    }

    private static SecondSample Sample(int second, long ok) => new()
    {
        Second = second,
        Offered = ok,
        Started = ok,
        Outcomes = new OutcomeCounts { Status2xx = ok },
        BytesReceived = 0,
        Latency = LatencySummary.Empty,
        ServiceTime = LatencySummary.Empty,
    };
}
