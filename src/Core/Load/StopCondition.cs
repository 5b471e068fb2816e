using System.Globalization;
using System.Text.RegularExpressions;
using Constellation.Core.Text;
using HdrHistogram;

namespace Constellation.Core.Load;

/// <summary>What a stop condition measures over its window.</summary>
public enum StopMetric
{
    /// <summary>Share of completed requests that failed (4xx, 5xx, timeout, connection error).</summary>
    ErrorRate,

    /// <summary>Share of offered arrivals that were dropped at the in-flight cap.</summary>
    DroppedRate,

    /// <summary>A latency percentile (from intended start in the open model).</summary>
    Percentile,

    /// <summary>Mean latency.</summary>
    Mean,
}

/// <summary>
/// A ramp-to-fail condition such as <c>error_rate &gt; 5% over 10s</c> or <c>p95 &gt; 2s over 10s</c>,
/// evaluated over a sliding window of whole seconds.
/// </summary>
public sealed partial record StopCondition(StopMetric Metric, double Percentile, bool OrEqual, double Threshold, TimeSpan Window, string Text)
{
    /// <summary>Parses a condition; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string text, out StopCondition? condition, out string? error)
    {
        condition = null;
        var m = Syntax().Match(text ?? string.Empty);
        if (!m.Success)
        {
            error = $"expected '<metric> > <value> over <window>' (metrics: error_rate, dropped, avg, p95, p(99.9)), got '{text}'";
            return false;
        }

        var metricText = m.Groups["metric"].Value.ToLowerInvariant();
        var valueText = m.Groups["value"].Value;
        bool orEqual = m.Groups["op"].Value == ">=";
        if (!Durations.TryParse(m.Groups["window"].Value, out var window) || window < TimeSpan.FromSeconds(1))
        {
            error = $"window must be a duration of at least 1s, got '{m.Groups["window"].Value}'";
            return false;
        }

        window = TimeSpan.FromSeconds(Math.Round(window.TotalSeconds));
        StopMetric metric;
        double percentile = 0;
        switch (metricText)
        {
            case "error_rate":
                metric = StopMetric.ErrorRate;
                break;
            case "dropped":
            case "dropped_rate":
                metric = StopMetric.DroppedRate;
                break;
            case "avg":
            case "mean":
                metric = StopMetric.Mean;
                break;
            default:
                var p = metricText.StartsWith("p(", StringComparison.Ordinal) ? metricText[2..^1] : metricText[1..];
                if (!double.TryParse(p, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out percentile) || percentile <= 0 || percentile > 100)
                {
                    error = $"percentile must be between 0 and 100, got '{metricText}'";
                    return false;
                }

                metric = StopMetric.Percentile;
                break;
        }

        double threshold;
        if (metric is StopMetric.ErrorRate or StopMetric.DroppedRate)
        {
            if (!valueText.EndsWith('%') || !double.TryParse(valueText[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var pct) || pct < 0 || pct > 100)
            {
                error = $"{metricText} takes a percentage such as 5%, got '{valueText}'";
                return false;
            }

            threshold = pct / 100;
        }
        else
        {
            if (!Durations.TryParse(valueText, out var d) || d <= TimeSpan.Zero)
            {
                error = $"{metricText} takes a duration with a unit such as 500ms or 2s, got '{valueText}'";
                return false;
            }

            threshold = d.TotalMilliseconds;
        }

        condition = new StopCondition(metric, percentile, orEqual, threshold, window, text!.Trim());
        error = null;
        return true;
    }

    /// <summary>The observed value of the metric over a window (a fraction, or milliseconds); null when the window has no data for it.</summary>
    public double? Observe(WindowStats window)
    {
        switch (Metric)
        {
            case StopMetric.ErrorRate:
                return window.Completed == 0 ? null : (double)window.Errors / window.Completed;
            case StopMetric.DroppedRate:
                var attempted = window.Started + window.Dropped;
                return attempted == 0 ? null : (double)window.Dropped / attempted;
            case StopMetric.Mean:
                return window.Latency is null || window.Latency.TotalCount == 0 ? null : window.Latency.GetMean() / 1000.0;
            default:
                return window.Latency is null || window.Latency.TotalCount == 0 ? null : window.Latency.GetValueAtPercentile(Percentile) / 1000.0;
        }
    }

    /// <summary>True when the observed value breaks the condition.</summary>
    public bool Holds(double observed) => OrEqual ? observed >= Threshold : observed > Threshold;

    /// <summary>Formats an observed value in the condition's unit.</summary>
    public string FormatObserved(double observed) => Metric is StopMetric.ErrorRate or StopMetric.DroppedRate
        ? string.Create(CultureInfo.InvariantCulture, $"{observed * 100:0.##}%")
        : Durations.Format(TimeSpan.FromMilliseconds(observed));

    public override string ToString() => Text;

    [GeneratedRegex(@"^\s*(?<metric>error_rate|dropped_rate|dropped|avg|mean|p\(\d+(\.\d+)?\)|p\d+(\.\d+)?)\s*(?<op>>=|>)\s*(?<value>[0-9.]+\s*(%|[a-zµ]+)?)\s+over\s+(?<window>[0-9.]+\s*[a-z]+)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Syntax();
}

/// <summary>Totals over a stop condition's window.</summary>
public sealed record WindowStats(long Started, long Completed, long Errors, long Dropped, HistogramBase? Latency);
