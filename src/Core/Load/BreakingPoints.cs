using Constellation.Core.Results;

namespace Constellation.Core.Load;

/// <summary>Derives where a ramp-to-fail scenario broke, from its curve and what it measured.</summary>
public static class BreakingPoints
{
    /// <summary>
    /// The condition held over the window that ended at <paramref name="elapsed"/>: the load at that moment is
    /// the failing load, and the load at the start of the window the last one that was still healthy.
    /// </summary>
    public static BreakingPoint Derive(
        StopCondition condition,
        double observed,
        LoadCurve curve,
        string unit,
        TimeSpan elapsed,
        DateTimeOffset atUtc,
        long peakOkPerSecond)
    {
        var healthyAt = elapsed - condition.Window;
        if (healthyAt < TimeSpan.Zero)
        {
            healthyAt = TimeSpan.Zero;
        }

        // The clock may run a hair past the curve's end; report the last point on it.
        var failingAt = elapsed >= curve.Duration ? curve.Duration - TimeSpan.FromTicks(1) : elapsed;
        return new BreakingPoint
        {
            Condition = condition.Text,
            Observed = condition.FormatObserved(observed),
            AtUtc = atUtc,
            ElapsedSeconds = Math.Round(elapsed.TotalSeconds, 3),
            Unit = unit,
            OfferedAtFailure = Math.Round(curve.ValueAt(failingAt), 2),
            LastHealthyOffered = Math.Round(curve.ValueAt(healthyAt), 2),
            LastHealthyStage = curve.StageNameAt(healthyAt),
            PeakOkPerSecond = peakOkPerSecond,
        };
    }
}
