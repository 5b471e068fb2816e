using System.Globalization;
using Constellation.Core.Gate;

namespace Constellation.Core.Trends;

/// <summary>
/// The values of one metric over a plan's runs, oldest first (the run being judged last); null when there is no such
/// history. <paramref name="scope"/> is a scenario name, or "run" for the scaling metrics.
/// </summary>
public delegate IReadOnlyList<TrendValue>? HistoryOf(string scope, string metric);

/// <summary>One run's value of a metric.</summary>
public sealed record TrendValue(string RunId, DateTimeOffset StartedUtc, double Value);

/// <summary>The metrics tracked across runs, and how a <c>change</c> threshold judges their history.</summary>
public static class TrendMetrics
{
    public const string P95 = "p95";
    public const string P99 = "p99";
    public const string ErrorRate = "error_rate";
    public const string Rate = "rate";
    public const string BreakingPoint = "breaking_point";

    /// <summary>A change point among the last this many runs (the judged one included) is news; an older one is the current normal.</summary>
    public const int RecentRuns = 5;

    /// <summary>Fewest runs a change is judged on.</summary>
    public const int MinRuns = 6;

    /// <summary>The history key of a change threshold's metric.</summary>
    public static string KeyOf(Threshold t) => t.Kind switch
    {
        ThresholdMetricKind.Percentile => t.Percentile >= 99 ? P99 : P95,
        ThresholdMetricKind.Rate => Rate,
        ThresholdMetricKind.Scaling => t.ScalingName!,
        _ => t.MetricText,
    };

    /// <summary>Lower is worse for a rate, a breaking point and peaks; higher for latencies, error rates and times.</summary>
    /// <summary>Whether a change point moved <paramref name="metric"/> in its worse direction.</summary>
    public static bool IsWorse(string metric, ChangePoint p) => HigherIsWorse(metric) ? p.MeanAfter > p.MeanBefore : p.MeanAfter < p.MeanBefore;

    public static bool HigherIsWorse(string metric) => metric is not (Rate or BreakingPoint) && !metric.EndsWith(".peak_replicas", StringComparison.Ordinal) && !metric.EndsWith(".peak", StringComparison.Ordinal);

    /// <summary>
    /// The change points of a history and the one the latest runs start, if any: its shift in the worse direction
    /// (+0.2 = 20% worse), and a line saying what happened.
    /// </summary>
    /// <returns>
    /// The change points; the shift the latest runs make (null: none), as the level after the last recent change
    /// point against the level before the first one (two recent points, up then partly down, still count as the net
    /// shift), in the worse direction (+0.2 = 20% worse; null when the level before was 0, where a relative change
    /// means nothing); and a line saying what happened.
    /// </returns>
    public static (IReadOnlyList<ChangePoint> Points, ChangePoint? Latest, double? WorseChange, string Detail) Judge(IReadOnlyList<TrendValue> history, string metric, ThresholdUnit unit)
    {
        var inv = CultureInfo.InvariantCulture;
        var points = ChangePoints.Detect([.. history.Select(v => v.Value)]);
        var recent = points.Where(p => p.Index >= history.Count - RecentRuns).ToList();
        if (recent.Count == 0)
        {
            var last = points.LastOrDefault();
            return (points, null, 0, last is null
                ? string.Create(inv, $"{history.Count} runs, no change point")
                : string.Create(inv, $"{history.Count} runs, none in the last {RecentRuns} (the latest, {Describe(last, history, unit)}, is the current level)"));
        }

        var (first, latest) = (recent[0], recent[^1]);
        var net = first == latest ? latest : latest with { MeanBefore = first.MeanBefore, StdBefore = first.StdBefore, PValue = Math.Max(first.PValue, latest.PValue) };
        var detail = Describe(net, history, unit) + (first == latest ? string.Empty : string.Create(inv, $" (through {recent.Count} change points since run {history[first.Index].RunId})")) + string.Create(inv, $", over {history.Count} runs");
        if (net.MeanBefore == 0 || !double.IsFinite(net.Change))
        {
            return (points, latest, null, detail);
        }

        return (points, latest, HigherIsWorse(metric) ? net.Change : -net.Change, detail);
    }

    /// <summary>"412ms → 507ms from run X (2026-11-20), p 0.0003".</summary>
    public static string Describe(ChangePoint p, IReadOnlyList<TrendValue> history, ThresholdUnit unit)
    {
        var at = history[p.Index];
        return string.Create(CultureInfo.InvariantCulture, $"{Threshold.Format(p.MeanBefore, unit)} → {Threshold.Format(p.MeanAfter, unit)} from run {at.RunId} ({at.StartedUtc.UtcDateTime:yyyy-MM-dd HH:mm}), p {(p.PValue < 0.0001 ? "< 0.0001" : p.PValue.ToString("0.####", CultureInfo.InvariantCulture))}");
    }
}
