using Constellation.Core.Load;
using Constellation.Core.Results;

namespace Constellation.Core.Tests.Load;

public sealed class StopConditionTests
{
    [Theory]
    [InlineData("error_rate > 5% over 10s", StopMetric.ErrorRate, 0.05, 10)]
    [InlineData("p95 > 2s over 10s", StopMetric.Percentile, 2000, 10)]
    [InlineData("p(99.9) >= 1500ms over 5s", StopMetric.Percentile, 1500, 5)]
    [InlineData("dropped > 1% over 3s", StopMetric.DroppedRate, 0.01, 3)]
    [InlineData("avg > 300ms over 1m", StopMetric.Mean, 300, 60)]
    public void TryParse_ValidText_ParsesMetricThresholdAndWindow(string text, StopMetric metric, double threshold, int windowSeconds)
    {
        StopCondition.TryParse(text, out var c, out var error).ShouldBeTrue(error);

        c!.Metric.ShouldBe(metric);
        c.Threshold.ShouldBe(threshold, 1e-9);
        c.Window.ShouldBe(TimeSpan.FromSeconds(windowSeconds));
    }

    [Theory]
    [InlineData("p95 > 2 over 10s", "duration with a unit")]
    [InlineData("error_rate > 5 over 10s", "percentage")]
    [InlineData("p95 > 2s", "expected")]
    [InlineData("p101 > 2s over 5s", "between 0 and 100")]
    [InlineData("p95 > 2s over 0s", "at least 1s")]
    public void TryParse_InvalidText_SaysWhatIsWrong(string text, string expected)
    {
        StopCondition.TryParse(text, out _, out var error).ShouldBeFalse();
        error.ShouldNotBeNull().ShouldContain(expected);
    }

    [Fact]
    public void Observe_PercentileOverWindow_UsesMergedHistogram()
    {
        StopCondition.TryParse("p95 > 100ms over 2s", out var c, out _);
        var h = Histograms.Create();
        for (int i = 1; i <= 100; i++)
        {
            h.RecordValue(i * 2_000); // 2 ms … 200 ms
        }

        var observed = c!.Observe(new WindowStats(100, 100, 0, 0, h));

        observed.ShouldNotBeNull().ShouldBeInRange(189, 191);
        c.Holds(observed.Value).ShouldBeTrue();
    }

    [Fact]
    public void Observe_ErrorAndDroppedRates_AreShares()
    {
        StopCondition.TryParse("error_rate > 10% over 1s", out var errors, out _);
        StopCondition.TryParse("dropped > 10% over 1s", out var dropped, out _);
        var window = new WindowStats(Started: 90, Completed: 80, Errors: 8, Dropped: 10, Latency: null);

        errors!.Observe(window).ShouldBe(0.1);
        errors.Holds(0.1).ShouldBeFalse();
        dropped!.Observe(window).ShouldBe(0.1);
        errors.Observe(new WindowStats(0, 0, 0, 0, null)).ShouldBeNull();
    }
}
