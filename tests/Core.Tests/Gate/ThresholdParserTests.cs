using Constellation.Core.Gate;

namespace Constellation.Core.Tests.Gate;

public sealed class ThresholdParserTests
{
    [Theory]
    [InlineData("p(95) < 500ms", ThresholdMetricKind.Percentile, 95, "<", 500, ThresholdUnit.Milliseconds, WindowKind.Whole)]
    [InlineData("p(99.9) < 2s", ThresholdMetricKind.Percentile, 99.9, "<", 2000, ThresholdUnit.Milliseconds, WindowKind.Whole)]
    [InlineData("p95<=300ms", ThresholdMetricKind.Percentile, 95, "<=", 300, ThresholdUnit.Milliseconds, WindowKind.Whole)]
    [InlineData("avg < 200ms", ThresholdMetricKind.Avg, 0, "<", 200, ThresholdUnit.Milliseconds, WindowKind.Whole)]
    [InlineData("max < 5s", ThresholdMetricKind.Max, 0, "<", 5000, ThresholdUnit.Milliseconds, WindowKind.Whole)]
    [InlineData("error_rate < 1%", ThresholdMetricKind.ErrorRate, 0, "<", 0.01, ThresholdUnit.Fraction, WindowKind.Whole)]
    [InlineData("rate >= 95/s", ThresholdMetricKind.Rate, 0, ">=", 95, ThresholdUnit.PerSecond, WindowKind.Whole)]
    [InlineData("dropped == 0", ThresholdMetricKind.Dropped, 0, "==", 0, ThresholdUnit.Count, WindowKind.Whole)]
    [InlineData("p(95) < 300ms over any 30s", ThresholdMetricKind.Percentile, 95, "<", 300, ThresholdUnit.Milliseconds, WindowKind.OverAny)]
    [InlineData("rate >= 95/s during stage \"steady\"", ThresholdMetricKind.Rate, 0, ">=", 95, ThresholdUnit.PerSecond, WindowKind.DuringStage)]
    [InlineData("p(99) < 1s after 60s", ThresholdMetricKind.Percentile, 99, "<", 1000, ThresholdUnit.Milliseconds, WindowKind.After)]
    [InlineData("scale.spin.first_pod_ready < 120s", ThresholdMetricKind.Scaling, 0, "<", 120, ThresholdUnit.Seconds, WindowKind.Whole)]
    [InlineData("scale.spin.peak_replicas >= 6", ThresholdMetricKind.Scaling, 0, ">=", 6, ThresholdUnit.Count, WindowKind.Whole)]
    [InlineData("nodes.first_ready < 5m", ThresholdMetricKind.Scaling, 0, "<", 300, ThresholdUnit.Seconds, WindowKind.Whole)]
    [InlineData("control.webapp.p95_delta < 20%", ThresholdMetricKind.Scaling, 0, "<", 0.2, ThresholdUnit.Fraction, WindowKind.Whole)]
    [InlineData("p(95) regression < 10%", ThresholdMetricKind.Percentile, 95, "<", 0.1, ThresholdUnit.Fraction, WindowKind.Whole)]
    public void Parse_Valid(string text, ThresholdMetricKind kind, double percentile, string op, double limit, ThresholdUnit unit, WindowKind window)
    {
        ThresholdParser.TryParse(text, out var t, out var error).ShouldBeTrue(error?.ToString());
        t!.Kind.ShouldBe(kind);
        t.Percentile.ShouldBe(percentile);
        t.Operator.ShouldBe(op);
        t.Limit.ShouldBe(limit, 1e-9);
        t.Unit.ShouldBe(unit);
        t.Window.Kind.ShouldBe(window);
        t.Text.ShouldBe(text);
    }

    [Fact]
    public void Parse_Windows_KeepTheirArguments()
    {
        Parse("p(95) < 300ms over any 30s").Window.Length.ShouldBe(TimeSpan.FromSeconds(30));
        Parse("rate >= 5/s during stage \"steady state\"").Window.Stage.ShouldBe("steady state");
        Parse("avg < 1s after 1m").Window.Length.ShouldBe(TimeSpan.FromMinutes(1));
        Parse("p(95) regression < 10%").Regression.ShouldBeTrue();
        Parse("p(95) regression < 10%").MetricUnit.ShouldBe(ThresholdUnit.Milliseconds);
        var change = Parse("p(95) change < 10%");
        (change.Change, change.Regression, change.Limit, change.Unit, change.MetricUnit).ShouldBe((true, false, 0.1, ThresholdUnit.Fraction, ThresholdUnit.Milliseconds));
        Parse("scale.spin.first_pod_ready change < 20%").Change.ShouldBeTrue();
        Parse("rate change < 5%").MetricUnit.ShouldBe(ThresholdUnit.PerSecond);
    }

    [Theory]
    [InlineData("p(95) < 500", 9, "a duration needs a unit (us, ms, s, m, h), e.g. 500ms")]
    [InlineData("p95 500ms", 5, "expected a comparison (<, <=, >, >=, ==, !=) after 'p95', got '500ms'")]
    [InlineData("p(120) < 1s", 1, "a percentile is between 0 and 100")]
    [InlineData("latency < 1s", 1, "unknown metric 'latency'")]
    [InlineData("error_rate < 0.01", 14, "expected a percentage such as 0.01%")]
    [InlineData("rate >= 95", 9, "expected a rate such as 95/s")]
    [InlineData("dropped == 0ms", 12, "expected a plain count")]
    [InlineData("p(95) < 300ms over 30s", 20, "expected 'over any <duration>'")]
    [InlineData("p(95) < 300ms over any 500ms", 24, "expected a window of at least 1s")]
    [InlineData("p(95) < 300ms during stage steady", 28, "expected the stage name in double quotes")]
    [InlineData("p(95) < 300ms after 60", 21, "expected a duration with a unit")]
    [InlineData("p(95) < 300ms when warm", 15, "expected nothing more, or a window")]
    [InlineData("scale.spin.replicas >= 6", 1, "expected scale.DEPLOYMENT.METRIC with METRIC one of first_hpa_increase")]
    [InlineData("scale.spin.peak_replicas >= 6 over any 30s", 31, "a scaling metric is one number for the run")]
    [InlineData("error_rate regression < 10%", 12, "a regression is measured in % of the baseline's value")]
    [InlineData("avg change < 10%", 5, "a change is tracked over the plan's stored runs, which keep p(95), p(99), rate and the scaling metrics")]
    [InlineData("error_rate change < 10%", 12, "use it on one of those, not error_rate")]
    [InlineData("p(90) change < 10%", 7, "a change is tracked over the plan's stored runs")]
    [InlineData("p(95) change < 10% over any 30s", 20, "a change compares whole runs: it takes no window")]
    [InlineData("rate change > 5%", 13, "use < or <=, e.g. rate change < 10%")]
    [InlineData("p(95) change < -5%", 16, "a limit on p(95) cannot be negative")]
    [InlineData("", 1, "expected a metric")]
    public void Parse_Invalid_SaysWhereAndWhat(string text, int column, string message)
    {
        ThresholdParser.TryParse(text, out var t, out var error).ShouldBeFalse();
        t.ShouldBeNull();
        error!.Column.ShouldBe(column);
        error.Message.ShouldContain(message);
    }

    private static Threshold Parse(string text)
    {
        ThresholdParser.TryParse(text, out var t, out var error).ShouldBeTrue(error?.ToString());
        return t!;
    }
}
