using System.Globalization;
using System.Text;
using Constellation.Core.Gate;
using Constellation.Core.Results;
using Constellation.Core.Trends;

namespace Constellation.Reports.History;

/// <summary>One metric of one plan across its runs, oldest first, with its change points.</summary>
public sealed record Trend(string Plan, string Scope, string Metric, ThresholdUnit Unit, IReadOnlyList<TrendValue> Values, IReadOnlyList<ChangePoint> ChangePoints)
{
    /// <summary>"spin-ramp p95", or the scaling metric's own name.</summary>
    public string Label => Scope == "run" ? Metric : $"{Scope} {Metric}";
}

/// <summary>
/// Change points across nights: per plan, per scenario metric (p95, p99, error rate, rate, breaking point) and per
/// scaling metric, over the runs that measured it (completed, not invalid), with Hunter's change point detection.
/// </summary>
public static class RunTrends
{
    /// <summary>Every trend of every plan (or of <paramref name="plan"/>) in <paramref name="runs"/> (any order).</summary>
    public static IReadOnlyList<Trend> Analyze(IReadOnlyList<RunSummary> runs, string? plan = null)
    {
        var trends = new List<Trend>();
        foreach (var group in Measured(runs).Where(r => plan is null || r.PlanName == plan).GroupBy(r => r.PlanName).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var oldestFirst = group.OrderBy(r => r.StartedUtc).ThenBy(r => r.RunId, StringComparer.Ordinal).ToList();
            foreach (var (scope, metric, unit) in oldestFirst.SelectMany(Keys).Distinct())
            {
                var values = Series(oldestFirst, scope, metric);
                trends.Add(new Trend(group.Key, scope, metric, unit, values, values.Count < 3 ? [] : ChangePoints.Detect([.. values.Select(v => v.Value)])));
            }
        }

        return trends;
    }

    /// <summary>For a run's change thresholds: the plan's history of a metric with <paramref name="current"/> last.</summary>
    public static HistoryOf HistoryFor(IReadOnlyList<RunSummary> stored, RunSummary current)
    {
        var runs = Measured(stored).Where(r => r.PlanName == current.PlanName && r.RunId != current.RunId && r.StartedUtc <= current.StartedUtc)
            .OrderBy(r => r.StartedUtc).ThenBy(r => r.RunId, StringComparer.Ordinal).Append(current).ToList();
        return (scope, metric) =>
        {
            var values = Series(runs, scope, metric);
            return values.Count > 0 && values[^1].RunId == current.RunId ? values : null; // this run has no such value: nothing to judge
        };
    }

    /// <summary>`constellation runs trends`: every trend with its change points, the latest first.</summary>
    public static string RenderText(IReadOnlyList<Trend> trends)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        if (trends.Count == 0)
        {
            return "No runs to follow yet (a trend needs completed runs of a plan).\n";
        }

        foreach (var plan in trends.GroupBy(t => t.Plan))
        {
            int runs = plan.Max(t => t.Values.Count);
            var changed = plan.Where(t => t.ChangePoints.Count > 0).ToList();
            sb.Append(inv, $"{Printable(plan.Key)}: {runs} runs, {plan.Count()} metrics, {changed.Count} with change points\n");
            foreach (var t in changed)
            {
                foreach (var p in t.ChangePoints.Reverse())
                {
                    bool worse = TrendMetrics.IsWorse(t.Metric, p);
                    var recent = p.Index >= t.Values.Count - TrendMetrics.RecentRuns ? "  ← the latest runs" : string.Empty;
                    sb.Append(inv, $"  {Printable(t.Label),-40} {Percent(p)} ({(worse ? "worse" : "better")}): {Printable(TrendMetrics.Describe(p, t.Values, t.Unit))}{recent}\n");
                }
            }

            var steady = plan.Count() - changed.Count;
            if (steady > 0)
            {
                sb.Append(inv, $"  no change point: {Printable(string.Join(", ", plan.Where(t => t.ChangePoints.Count == 0).Select(t => t.Label)))}\n");
            }
        }

        return sb.ToString();
    }

    /// <summary>Names from files go to a terminal: control characters (a line break, an escape sequence) become '?'.</summary>
    private static string Printable(string s) => string.Concat(s.Select(ch => char.IsControl(ch) ? '?' : ch));

    /// <summary>"+28.6%", or "from 0" where a relative change means nothing.</summary>
    public static string Percent(ChangePoint p) => p.MeanBefore == 0
        ? "from 0"
        : string.Create(CultureInfo.InvariantCulture, $"{(p.Change >= 0 ? "+" : string.Empty)}{p.Change * 100:0.#}%");

    /// <summary>Runs whose numbers can be compared: completed, and not invalid (a saturated generator, gaps).</summary>
    private static IEnumerable<RunSummary> Measured(IEnumerable<RunSummary> runs) =>
        runs.Where(r => r.Status == RunStatus.Completed && r.Outcome != RunVerdict.Invalid);

    private static IEnumerable<(string Scope, string Metric, ThresholdUnit Unit)> Keys(RunSummary r) =>
        r.Scenarios.SelectMany(s => new[]
        {
            (s.Name, TrendMetrics.P95, ThresholdUnit.Milliseconds),
            (s.Name, TrendMetrics.P99, ThresholdUnit.Milliseconds),
            (s.Name, TrendMetrics.ErrorRate, ThresholdUnit.Fraction),
            (s.Name, TrendMetrics.Rate, ThresholdUnit.PerSecond),
        }.Concat(s.BrokeAt is null ? [] : [(s.Name, TrendMetrics.BreakingPoint, ThresholdUnit.Count)]))
        .Concat(r.Scaling.Keys.Select(k => ("run", k, ThresholdParser.UnitOf(ThresholdMetricKind.Scaling, k))));

    private static List<TrendValue> Series(IEnumerable<RunSummary> oldestFirst, string scope, string metric) =>
        [.. oldestFirst.Select(r => (r, Value(r, scope, metric))).Where(x => x.Item2 is not null).Select(x => new TrendValue(x.r.RunId, x.r.StartedUtc, x.Item2!.Value))];

    private static double? Value(RunSummary r, string scope, string metric)
    {
        if (scope == "run")
        {
            return r.Scaling.TryGetValue(metric, out var v) ? v : null;
        }

        var s = r.Scenarios.FirstOrDefault(x => x.Name == scope);
        return s is null ? null : metric switch
        {
            TrendMetrics.P95 => s.P95Ms,
            TrendMetrics.P99 => s.P99Ms,
            TrendMetrics.ErrorRate => s.ErrorRate,
            TrendMetrics.Rate => s.Rps,
            TrendMetrics.BreakingPoint => s.BrokeAt,
            _ => null,
        };
    }
}
