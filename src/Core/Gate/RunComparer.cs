using System.Globalization;
using System.Text;
using Constellation.Core.Results;

namespace Constellation.Core.Gate;

/// <summary>How big a change must be to count: relative to the baseline and never below an absolute floor, and for per-second series also significant in a rank test.</summary>
public sealed record CompareTolerance
{
    /// <summary>Relative change that counts. Default: 10%.</summary>
    public double Relative { get; init; } = 0.10;

    /// <summary>Latency changes below this never count (timer and scheduling noise). Default: 2 ms.</summary>
    public double LatencyFloorMs { get; init; } = 2;

    /// <summary>Error-rate changes below this (absolute) never count. Default: 0.5 percentage points.</summary>
    public double ErrorRateFloor { get; init; } = 0.005;

    /// <summary>Scaling-time changes below this never count. Default: 5 s.</summary>
    public double SecondsFloor { get; init; } = 5;

    /// <summary>Significance level of the one-sided Mann–Whitney test on the per-second values. Default: 0.01.</summary>
    public double Alpha { get; init; } = 0.01;

    /// <summary>Fewer per-second values than this on either side: the rank test is not used (only the tolerance).</summary>
    public int MinSeconds { get; init; } = 8;
}

/// <summary>One metric of the current run against the baseline.</summary>
public sealed record MetricDelta(string Scope, string Metric, ThresholdUnit Unit, double? Baseline, double? Current, string Verdict, string Why)
{
    public const string Regression = "regression";
    public const string Improvement = "improvement";
    public const string Same = "within noise";
    public const string NotComparable = "n/a";

    /// <summary>Relative change, (current − baseline) / baseline.</summary>
    public double? Change => Baseline is { } b && Current is { } c && b != 0 ? (c - b) / b : null;
}

/// <summary>The comparison of two runs, metric by metric, with a verdict.</summary>
public sealed record Comparison(string RunId, string BaselineRunId, IReadOnlyList<MetricDelta> Metrics)
{
    public bool Regressed => Metrics.Any(m => m.Verdict == MetricDelta.Regression);
}

/// <summary>
/// Compares a run with a baseline: per scenario p50/p95/p99, error rate, throughput and breaking point, and the
/// scaling times. A change is a regression only when it is bigger than the tolerance (relative, with an
/// absolute floor) AND, where per-second values exist, a one-sided Mann–Whitney rank test over them says the
/// shift is not chance: per-second latencies are skewed and bursty, so a mean-based test or a bare percentage
/// flags noise; the rank test needs the whole distribution to move.
/// </summary>
public static class RunComparer
{
    public static Comparison Compare(RunRecord current, RunRecord baseline, CompareTolerance? tolerance = null)
    {
        var tol = tolerance ?? new CompareTolerance();
        var metrics = new List<MetricDelta>();
        foreach (var s in current.Scenarios)
        {
            var b = baseline.Scenarios.FirstOrDefault(x => x.Name == s.Name);
            if (b is null)
            {
                metrics.Add(new MetricDelta(s.Name, "scenario", ThresholdUnit.Count, null, null, MetricDelta.NotComparable, "not in the baseline"));
                continue;
            }

            var curP95 = PerSecond(s, x => x.Latency.Count > 0 ? x.Latency.P95Ms : null);
            var baseP95 = PerSecond(b, x => x.Latency.Count > 0 ? x.Latency.P95Ms : null);
            metrics.Add(Latency(s.Name, "p50", b.Totals.Latency.P50Ms, s.Totals.Latency.P50Ms, PerSecond(b, x => x.Latency.Count > 0 ? x.Latency.P50Ms : null), PerSecond(s, x => x.Latency.Count > 0 ? x.Latency.P50Ms : null), tol));
            metrics.Add(Latency(s.Name, "p95", b.Totals.Latency.P95Ms, s.Totals.Latency.P95Ms, baseP95, curP95, tol));
            metrics.Add(Latency(s.Name, "p99", b.Totals.Latency.P99Ms, s.Totals.Latency.P99Ms, PerSecond(b, x => x.Latency.Count > 0 ? x.Latency.P99Ms : null), PerSecond(s, x => x.Latency.Count > 0 ? x.Latency.P99Ms : null), tol));
            metrics.Add(Judge(s.Name, "error_rate", ThresholdUnit.Fraction, b.Totals.ErrorRate, s.Totals.ErrorRate, higherIsWorse: true, Math.Max(tol.Relative * b.Totals.ErrorRate, tol.ErrorRateFloor), null, null, tol));
            metrics.Add(Judge(s.Name, "rate", ThresholdUnit.PerSecond, b.Totals.Rps, s.Totals.Rps, higherIsWorse: false, Math.Max(tol.Relative * b.Totals.Rps, 1), PerSecond(b, x => x.Outcomes.Ok), PerSecond(s, x => x.Outcomes.Ok), tol));
            metrics.Add(BreakingPoint(s, b, tol));
        }

        if (current.Scaling is { } cs && baseline.Scaling is { } bs)
        {
            foreach (var w in cs.Workloads)
            {
                var bw = bs.Workloads.FirstOrDefault(x => x.Deployment == w.Deployment);
                foreach (var (name, pick) in new (string, Func<WorkloadScaling, double?>)[]
                {
                    ("first_hpa_increase", x => x.FirstDesiredIncreaseSeconds),
                    ("first_pod_ready", x => x.FirstNewPodReadySeconds),
                    ("time_to_peak", x => x.PeakSeconds),
                    ("scale_in", x => x.ScaleInSeconds),
                })
                {
                    metrics.Add(Seconds($"scale.{w.Deployment}", name, bw is null ? null : pick(bw), pick(w), tol));
                }
            }

            if (cs.Nodes is { } cn)
            {
                metrics.Add(Seconds("nodes", "first_ready", bs.Nodes?.FirstNewNodeReadySeconds, cn.FirstNewNodeReadySeconds, tol));
            }

            foreach (var c in cs.Control)
            {
                var bc = bs.Control.FirstOrDefault(x => x.Target == c.Target);
                metrics.Add(Latency($"control.{c.Target}", "p95 (scale-out window)", bc?.WindowP95Ms, c.WindowP95Ms, [], [], tol));
            }
        }

        return new Comparison(current.RunId, baseline.RunId, metrics);
    }

    /// <summary>The comparison as a Markdown table with the verdict.</summary>
    public static string Render(Comparison c)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# {c.RunId} against baseline {c.BaselineRunId}\n\n");
        sb.Append("| scope | metric | baseline | this run | change | verdict |\n|---|---|---:|---:|---:|---|\n");
        foreach (var m in c.Metrics)
        {
            var change = m.Change is { } ch ? (ch >= 0 ? "+" : string.Empty) + Threshold.Format(ch, ThresholdUnit.Fraction) : "–";
            var verdict = m.Verdict == MetricDelta.Regression ? $"**{m.Verdict}** ({m.Why})" : m.Verdict == MetricDelta.Same ? m.Verdict : $"{m.Verdict} ({m.Why})";
            sb.Append(CultureInfo.InvariantCulture, $"| {m.Scope} | {m.Metric} | {Fmt(m.Baseline, m.Unit)} | {Fmt(m.Current, m.Unit)} | {change} | {verdict} |\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"\n{(c.Regressed ? "**Regression**" : "No regression")}: {c.Metrics.Count(m => m.Verdict == MetricDelta.Regression)} of {c.Metrics.Count} metrics got worse beyond noise.\n");
        return sb.ToString();
    }

    /// <summary>
    /// One-sided Mann–Whitney U test: the probability of seeing <paramref name="higher"/> rank this far above
    /// <paramref name="lower"/> by chance (normal approximation with tie and continuity correction).
    /// </summary>
    public static double MannWhitneyP(IReadOnlyList<double> lower, IReadOnlyList<double> higher)
    {
        int n1 = lower.Count, n2 = higher.Count;
        if (n1 == 0 || n2 == 0)
        {
            return 1;
        }

        var all = lower.Select(v => (v, g: 0)).Concat(higher.Select(v => (v, g: 1))).OrderBy(x => x.v).ToList();
        var ranks = new double[all.Count];
        double tieTerm = 0;
        for (int i = 0; i < all.Count;)
        {
            int j = i;
            while (j + 1 < all.Count && all[j + 1].v == all[i].v)
            {
                j++;
            }

            double rank = (i + j + 2) / 2.0;
            for (int k = i; k <= j; k++)
            {
                ranks[k] = rank;
            }

            double t = j - i + 1;
            tieTerm += (t * t * t) - t;
            i = j + 1;
        }

        double r2 = 0;
        for (int i = 0; i < all.Count; i++)
        {
            if (all[i].g == 1)
            {
                r2 += ranks[i];
            }
        }

        double u2 = r2 - (n2 * (n2 + 1) / 2.0);
        double n = n1 + n2;
        double sigma = Math.Sqrt(n1 * n2 / 12.0 * ((n + 1) - (tieTerm / (n * (n - 1)))));
        if (sigma == 0)
        {
            return 1;
        }

        double z = (u2 - (n1 * n2 / 2.0) - 0.5) / sigma;
        return 0.5 * Erfc(z / Math.Sqrt(2));
    }

    private static MetricDelta Latency(string scope, string name, double? before, double? after, IReadOnlyList<double> beforeSeries, IReadOnlyList<double> afterSeries, CompareTolerance tol) =>
        Judge(scope, name, ThresholdUnit.Milliseconds, before, after, higherIsWorse: true, Math.Max(tol.Relative * (before ?? 0), tol.LatencyFloorMs), beforeSeries, afterSeries, tol);

    private static MetricDelta Seconds(string scope, string name, double? before, double? after, CompareTolerance tol) =>
        Judge(scope, name, ThresholdUnit.Seconds, before, after, higherIsWorse: true, Math.Max(tol.Relative * (before ?? 0), tol.SecondsFloor), null, null, tol);

    private static MetricDelta Judge(string scope, string name, ThresholdUnit unit, double? before, double? after, bool higherIsWorse, double allowed, IReadOnlyList<double>? beforeSeries, IReadOnlyList<double>? afterSeries, CompareTolerance tol)
    {
        if (before is not { } b || after is not { } a)
        {
            return new MetricDelta(scope, name, unit, before, after, MetricDelta.NotComparable, "missing on one side");
        }

        double worse = higherIsWorse ? a - b : b - a;
        if (Math.Abs(worse) <= allowed)
        {
            return new MetricDelta(scope, name, unit, b, a, MetricDelta.Same, $"within ±{Threshold.Format(allowed, unit)}");
        }

        // Beyond the tolerance: with enough per-second values on both sides the shift must also be significant.
        if (beforeSeries is { } bs && afterSeries is { } as_ && bs.Count >= tol.MinSeconds && as_.Count >= tol.MinSeconds)
        {
            bool gotWorse = worse > 0;
            var (low, high) = gotWorse == higherIsWorse ? (bs, as_) : (as_, bs);
            var p = MannWhitneyP(low, high);
            if (p > tol.Alpha)
            {
                return new MetricDelta(scope, name, unit, b, a, MetricDelta.Same, $"per-second values overlap (Mann–Whitney p = {p:0.###})");
            }

            return new MetricDelta(scope, name, unit, b, a, gotWorse ? MetricDelta.Regression : MetricDelta.Improvement, $"beyond ±{Threshold.Format(allowed, unit)}, p = {p:0.####}");
        }

        return new MetricDelta(scope, name, unit, b, a, worse > 0 ? MetricDelta.Regression : MetricDelta.Improvement, $"beyond ±{Threshold.Format(allowed, unit)}");
    }

    private static MetricDelta BreakingPoint(ScenarioResult s, ScenarioResult b, CompareTolerance tol)
    {
        var unit = ThresholdUnit.Count;
        return (b.BreakingPoint, s.BreakingPoint) switch
        {
            (null, null) => new MetricDelta(s.Name, "breaking point", unit, null, null, MetricDelta.Same, "neither broke"),
            (null, { } now) => new MetricDelta(s.Name, "breaking point", unit, null, now.OfferedAtFailure, MetricDelta.Regression, $"broke at {now.OfferedAtFailure:0.#} {now.Unit}; the baseline did not break"),
            ({ } then, null) => new MetricDelta(s.Name, "breaking point", unit, then.OfferedAtFailure, null, MetricDelta.Improvement, "did not break; the baseline did"),
            ({ } then, { } now) => Judge(s.Name, $"breaking point ({now.Unit})", unit, then.OfferedAtFailure, now.OfferedAtFailure, higherIsWorse: false, Math.Max(tol.Relative * then.OfferedAtFailure, 1), null, null, tol),
        };
    }

    private static List<double> PerSecond(ScenarioResult s, Func<SecondSample, double?> pick) => s.Seconds.Select(pick).OfType<double>().ToList();

    private static string Fmt(double? v, ThresholdUnit unit) => v is { } x ? Threshold.Format(x, unit) : "–";

    /// <summary>Complementary error function (Numerical Recipes' erfcc, fractional error below 1.2e-7).</summary>
    private static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + (0.5 * z));
        double[] c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        double poly = 0;
        for (int k = c.Length - 1; k >= 0; k--)
        {
            poly = c[k] + (t * poly);
        }

        double r = t * Math.Exp((-z * z) + poly);
        return x >= 0 ? r : 2 - r;
    }
}
