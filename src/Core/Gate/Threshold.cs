using System.Globalization;
using Constellation.Core.Text;

namespace Constellation.Core.Gate;

/// <summary>What a threshold measures.</summary>
public enum ThresholdMetricKind
{
    /// <summary>A latency percentile, e.g. p(95).</summary>
    Percentile,

    /// <summary>Mean latency.</summary>
    Avg,

    /// <summary>Largest latency.</summary>
    Max,

    /// <summary>Failed (4xx, 5xx, timeout, connection error) / completed requests.</summary>
    ErrorRate,

    /// <summary>Successful (2xx, 3xx) responses per second.</summary>
    Rate,

    /// <summary>Arrivals dropped at the in-flight cap (a count).</summary>
    Dropped,

    /// <summary>Completed requests (a count).</summary>
    Requests,

    /// <summary>A derived scaling metric: scale.DEPLOYMENT.NAME, nodes.NAME or control.TARGET.NAME.</summary>
    Scaling,
}

/// <summary>How a value is written and compared: milliseconds, a fraction (written in %), per second, a count or seconds.</summary>
public enum ThresholdUnit
{
    Milliseconds,
    Fraction,
    PerSecond,
    Count,
    Seconds,
}

/// <summary>Which seconds a threshold looks at.</summary>
public enum WindowKind
{
    /// <summary>All of them.</summary>
    Whole,

    /// <summary>Every sliding window of this length; it fails if any window fails.</summary>
    OverAny,

    /// <summary>The seconds of a named load stage.</summary>
    DuringStage,

    /// <summary>The seconds from this time on (skip the warm-up).</summary>
    After,
}

/// <summary>The window part of a threshold: <c>over any 30s</c>, <c>during stage "steady"</c>, <c>after 60s</c>.</summary>
public sealed record ThresholdWindow(WindowKind Kind, TimeSpan Length = default, string? Stage = null)
{
    public static ThresholdWindow Whole { get; } = new(WindowKind.Whole);

    public override string ToString() => Kind switch
    {
        WindowKind.OverAny => $"over any {Durations.Format(Length)}",
        WindowKind.DuringStage => $"during stage \"{Stage}\"",
        WindowKind.After => $"after {Durations.Format(Length)}",
        _ => string.Empty,
    };
}

/// <summary>
/// A pass/fail rule on a run, in a syntax k6 users can read: <c>p(95) &lt; 500ms</c>, <c>error_rate &lt; 1% over any 30s</c>,
/// <c>rate &gt;= 95/s during stage "steady"</c>, <c>p(99) &lt; 2s after 60s</c>, <c>scale.spin.first_pod_ready &lt; 120s</c>,
/// <c>p(95) regression &lt; 10%</c> (against the baseline run).
/// </summary>
public sealed record Threshold
{
    public required string Text { get; init; }
    public required ThresholdMetricKind Kind { get; init; }

    /// <summary>For <see cref="ThresholdMetricKind.Percentile"/>: 0–100.</summary>
    public double Percentile { get; init; }

    /// <summary>For <see cref="ThresholdMetricKind.Scaling"/>: the dotted name, e.g. scale.spin.first_pod_ready.</summary>
    public string? ScalingName { get; init; }

    public required string Operator { get; init; }

    /// <summary>The limit in the metric's unit: ms, a fraction, per second, a count or seconds (a fraction for regressions).</summary>
    public required double Limit { get; init; }

    public required ThresholdUnit Unit { get; init; }
    public ThresholdWindow Window { get; init; } = ThresholdWindow.Whole;

    /// <summary>Compares the metric's change against the baseline run rather than its value.</summary>
    public bool Regression { get; init; }

    /// <summary>
    /// Judges the shift the latest runs make in the plan's history of this metric (change point detection over the
    /// stored runs): fails when one of the last <see cref="Trends.TrendMetrics.RecentRuns"/> runs starts a shift worse than the limit.
    /// </summary>
    public bool Change { get; init; }

    /// <summary>Stop the run as soon as the threshold is lost (after <see cref="AbortGrace"/>).</summary>
    public bool AbortOnFail { get; init; }

    public TimeSpan AbortGrace { get; init; }

    /// <summary>The metric as written (e.g. "p(95)"), for messages.</summary>
    public required string MetricText { get; init; }

    /// <summary>The request of a sequence it judges (<c>{request:NAME}</c>), instead of the whole scenario.</summary>
    public string? Request { get; init; }

    /// <summary>The unit the metric itself is measured in (a regression's limit is a fraction, its metric is not).</summary>
    public ThresholdUnit MetricUnit => Regression || Change ? ThresholdParser.UnitOf(Kind, ScalingName) : Unit;

    public bool Holds(double value) => Compare(value, Operator, Limit);

    public static bool Compare(double value, string op, double limit) => op switch
    {
        "<" => value < limit,
        "<=" => value <= limit,
        ">" => value > limit,
        ">=" => value >= limit,
        "==" => Math.Abs(value - limit) < 1e-9,
        "!=" => Math.Abs(value - limit) >= 1e-9,
        _ => false,
    };

    /// <summary>A value in this threshold's unit as people write it: 512ms, 0.8%, 95.2/s, 3, 84s.</summary>
    public static string Format(double value, ThresholdUnit unit) => unit switch
    {
        ThresholdUnit.Milliseconds => Durations.Format(TimeSpan.FromMilliseconds(value)),
        ThresholdUnit.Fraction => (value * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%",
        ThresholdUnit.PerSecond => value.ToString("0.##", CultureInfo.InvariantCulture) + "/s",
        ThresholdUnit.Seconds => value.ToString("0.#", CultureInfo.InvariantCulture) + "s",
        _ => value.ToString("0.##", CultureInfo.InvariantCulture),
    };
}

/// <summary>A threshold parse error and where in the text it is (1-based column).</summary>
public sealed record ThresholdError(int Column, string Message)
{
    public override string ToString() => $"column {Column}: {Message}";
}
