using Constellation.Tests;
using Constellation.Reports.Charts;

namespace Constellation.Reports.Tests;

public sealed class RunChartsTests
{
    [Fact]
    public void Charts_DrawTitlesAxesAndLegendsAsTextInTheShippedFont()
    {
        var s = TestRuns.Sample().Scenarios[0];

        foreach (var (svg, title) in new[] { (RunCharts.LoadChart(s), "spin-ramp: load"), (RunCharts.LatencyChart(s), "spin-ramp: latency"), (RunCharts.PercentileChart(s), "spin-ramp: latency by percentile") })
        {
            svg.ShouldContain("<svg");
            svg.ShouldContain(title);
            svg.ShouldContain("DejaVu Sans");
            svg.ShouldContain("<text");
        }

        RunCharts.LoadChart(s).ShouldContain("requests/s");
        RunCharts.LoadChart(s).ShouldContain("broke: error_rate &gt; 5% over 3s at 105 req/s");
        RunCharts.PercentileChart(s).ShouldContain("99%");
    }

    [Fact]
    public void PercentileSpectrum_IsMonotonicAndEndsNearTheMaximum()
    {
        var s = TestRuns.Sample().Scenarios[0];

        var points = RunCharts.PercentileSpectrum(s.Totals.LatencyHistogram);

        points.Count.ShouldBeGreaterThan(20);
        points.Select(p => p.Ms).ShouldBeInOrder();
        points[^1].Ms.ShouldBeInRange(s.Totals.Latency.P99Ms, s.Totals.Latency.MaxMs + 1);
    }

    [Fact]
    public void Charts_ScenarioWithoutData_StillRender()
    {
        var s = TestRuns.Sample().Scenarios[0] with { Seconds = [] };

        RunCharts.LoadChart(s).ShouldContain("<svg");
        RunCharts.LatencyChart(s).ShouldContain("<svg");
    }
}

public sealed class DownsampleTests
{
    [Fact]
    public void Downsample_LongSeries_KeepsSpikesForLatencyAndMeansForRates()
    {
        double[] xs = [.. Enumerable.Range(0, 3600).Select(i => (double)i)];
        double[] ys = [.. Enumerable.Range(0, 3600).Select(i => i == 1234 ? 5000.0 : 10.0)];

        var (mx, my) = RunCharts.Downsample(xs, ys, 720, keepMax: true);
        var (_, mean) = RunCharts.Downsample(xs, ys, 720, keepMax: false);

        mx.Length.ShouldBeLessThanOrEqualTo(720);
        my.Max().ShouldBe(5000);
        mean.Max().ShouldBe((5000 + (4 * 10.0)) / 5, 1e-9);
        mx[0].ShouldBe(0);
    }

    [Fact]
    public void Downsample_ShortSeries_IsUnchanged()
    {
        double[] xs = [0, 1, 2];

        RunCharts.Downsample(xs, [5, 6, 7], 720, keepMax: true).Ys.ShouldBe([5.0, 6.0, 7.0]);
    }
}
