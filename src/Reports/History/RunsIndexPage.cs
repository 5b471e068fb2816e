using System.Globalization;
using System.Net;
using System.Text;
using Constellation.Core.Text;
using ScottPlot;

namespace Constellation.Reports.History;

/// <summary>
/// The runs index (index.html at the runs root): every run newest first with its key numbers and a link to
/// its report, its verdict and tags, and per plan a chart of p95 and one of the breaking point across runs. Self-contained like the
/// run report.
/// </summary>
public static class RunsIndexPage
{
    /// <param name="runs">Newest first.</param>
    /// <param name="reportLink">The link to a run's report; default: the relative RUN-ID/index.html.</param>
    public static string Render(IReadOnlyList<RunSummary> runs, Func<RunSummary, string>? reportLink = null)
    {
        reportLink ??= r => $"{Uri.EscapeDataString(r.Folder ?? r.RunId)}/index.html";
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Constellation runs</title>\n<style>\n");
        sb.Append("body{font-family:\"DejaVu Sans\",system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#1b1b1b}table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}.scroll{overflow-x:auto}figure svg{width:100%;height:auto;display:block}.v{font-weight:bold}.v-passed{color:#1e6b1e}.v-cancelled{color:#8a6d00}.v-failed,.v-error,.v-aborted{color:#fff;background:#c9302c;padding:0 .3rem;border-radius:.2rem}.v-invalid{background:#f0ad4e;padding:0 .3rem;border-radius:.2rem}.tag{background:#eef;border-radius:.2rem;padding:0 .25rem;margin-right:.2rem;white-space:nowrap}.worse{color:#c9302c;font-weight:bold}.better{color:#1e6b1e;font-weight:bold}.changes{font-size:.85rem}\n");
        sb.Append("</style>\n</head>\n<body>\n<h1>Constellation runs</h1>\n");
        if (runs.Count == 0)
        {
            sb.Append("<p>No runs yet.</p>\n");
        }

        int figure = 0;
        var trends = RunTrends.Analyze(runs);
        foreach (var plan in runs.GroupBy(r => r.PlanName).Where(g => g.Count() >= 2))
        {
            // Latency and the breaking point are different units: a chart each, runs on the x axis by date and id.
            var oldestFirst = plan.Reverse().ToList();
            var planTrends = trends.Where(t => t.Plan == plan.Key).ToList();
            sb.Append(inv, $"<section><h2>Trend: {E(plan.Key)}</h2>\n");
            sb.Append("<figure>").Append(TrendChart(plan.Key, oldestFirst, "p95 latency (ms)", s => s.P95Ms, figure++, planTrends, Core.Trends.TrendMetrics.P95)).Append("</figure>\n");
            if (oldestFirst.Any(r => r.Scenarios.Any(s => s.BrokeAt is not null)))
            {
                var unit = oldestFirst.SelectMany(r => r.Scenarios).FirstOrDefault(s => s.Unit is not null)?.Unit ?? string.Empty;
                sb.Append("<figure>").Append(TrendChart(plan.Key, oldestFirst, $"breaking point ({unit})", s => s.BrokeAt ?? double.NaN, figure++, planTrends, Core.Trends.TrendMetrics.BreakingPoint)).Append("</figure>\n");
            }

            var changed = planTrends.Where(t => t.ChangePoints.Count > 0).ToList();
            if (changed.Count > 0)
            {
                sb.Append("<p>Change points (Hunter's E-Divisive means with a t-test, p &lt; 0.001; dashed on the charts):</p>\n<ul class=\"changes\">\n");
                foreach (var t in changed)
                {
                    foreach (var p in t.ChangePoints.Reverse())
                    {
                        bool worse = Core.Trends.TrendMetrics.IsWorse(t.Metric, p);
                        sb.Append(inv, $"<li><strong>{E(t.Label)}</strong> <span class=\"{(worse ? "worse" : "better")}\">{RunTrends.Percent(p)}</span>: {E(Core.Trends.TrendMetrics.Describe(p, t.Values, t.Unit))}</li>\n");
                    }
                }

                sb.Append("</ul>\n");
            }

            sb.Append("</section>\n");
        }

        sb.Append("<section><h2>All runs</h2><div class=\"scroll\"><table>\n<thead><tr><th>started (UTC)</th><th>plan</th><th>verdict</th><th>tags</th><th>duration</th><th>scenarios: rps · errors · p95 · breaking point</th><th>report</th></tr></thead>\n<tbody>\n");
        foreach (var r in runs)
        {
            var scenarios = string.Join("<br>", r.Scenarios.Select(s => string.Create(inv,
                $"{E(s.Name)}: {s.Rps:0.0}/s · {s.ErrorRate * 100:0.##}% · {Durations.Format(TimeSpan.FromMilliseconds(s.P95Ms))}{(s.BrokeAt is { } b ? $" · broke at {b:0.#} {E(s.Unit ?? string.Empty)}" : string.Empty)}")));
            var verdict = r.Outcome;
            var tags = string.Concat(r.Tags.Select(t => $"<span class=\"tag\">{E(t)}</span>"));
            sb.Append(inv, $"<tr><td>{r.StartedUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss}</td><td>{E(r.PlanName)}</td><td><span class=\"v v-{verdict}\">{verdict}</span></td><td>{tags}</td><td>{Durations.Format(TimeSpan.FromSeconds(r.DurationSeconds))}</td><td>{scenarios}</td><td><a href=\"{E(reportLink(r))}\">{E(r.RunId)}</a></td></tr>\n");
        }

        sb.Append("</tbody></table></div></section>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>The same list as plain text, for `constellation runs list`.</summary>
    public static string RenderText(IReadOnlyList<RunSummary> runs)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"{"started (UTC)",-19}  {"verdict",-9}  {"plan",-20}  {"run id",-36}  {"tags",-16}  scenarios\n");
        foreach (var r in runs)
        {
            var scenarios = string.Join("; ", r.Scenarios.Select(s => string.Create(inv,
                $"{s.Name} {s.Rps:0.0}/s {s.ErrorRate * 100:0.##}% p95 {Durations.Format(TimeSpan.FromMilliseconds(s.P95Ms))}{(s.BrokeAt is { } b ? $" broke at {b:0.#} {s.Unit}" : string.Empty)}")));
            sb.Append(inv, $"{r.StartedUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {r.Outcome,-9}  {Trim(r.PlanName, 20),-20}  {Trim(r.RunId, 36),-36}  {Trim(string.Join(",", r.Tags), 16),-16}  {scenarios}\n");
        }

        return sb.ToString();
    }

    /// <summary>One value per scenario across the plan's runs, the runs labelled with their start (UTC) and id.</summary>
    private static string TrendChart(string plan, IReadOnlyList<RunSummary> oldestFirst, string what, Func<ScenarioSummary, double> value, int figure, IReadOnlyList<Trend> trends, string metric)
    {
        var plot = new Plot();
        Charts.RunCharts.Style(plot, $"{plan}: {what} by run", "run (oldest → newest)", what);
        double[] xs = [.. Enumerable.Range(1, oldestFirst.Count).Select(i => (double)i)];
        var runIds = oldestFirst.Select(r => r.RunId).ToList();
        int colour = 1;
        double top = 0;
        foreach (var name in oldestFirst.SelectMany(r => r.Scenarios.Select(s => s.Name)).Distinct())
        {
            double[] ys = [.. oldestFirst.Select(r => r.Scenarios.FirstOrDefault(s => s.Name == name) is { } s ? value(s) : double.NaN)];
            if (ys.Any(double.IsFinite))
            {
                Charts.RunCharts.AddLine(plot, xs, ys, name, colour);
                top = Math.Max(top, ys.Where(double.IsFinite).Max());

                // Its change points: a dashed line at the run that starts the new level.
                var trend = trends.FirstOrDefault(t => t.Scope == name && t.Metric == metric);
                foreach (var p in trend?.ChangePoints ?? [])
                {
                    var runId = trend!.Values[p.Index].RunId;
                    int at = runIds.IndexOf(runId);
                    if (at >= 0)
                    {
                        Charts.RunCharts.AddMarker(plot, at + 1, $"{name}: {RunTrends.Percent(p)}", colour);
                    }
                }

                colour++;
            }
        }

        plot.Axes.SetLimitsY(0, top > 0 ? top * 1.15 : 1); // from zero: a steady value is a flat line, not noise magnified

        // A tick per run (at most 12 labelled, evenly spread): its date and time and the end of its id.
        int every = Math.Max(1, (int)Math.Ceiling(oldestFirst.Count / 12.0));
        var ticks = xs.Where((_, i) => i % every == 0 || i == xs.Length - 1).ToArray();
        var labels = ticks.Select(x => oldestFirst[(int)x - 1]).Select(r => $"{r.StartedUtc.UtcDateTime:MM-dd HH:mm}\n{Tail(r.RunId, 12)}").ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, labels);
        plot.Axes.SetLimitsX(0.5, oldestFirst.Count + 0.5);
        return Html.HtmlReport.InlineSvg(plot.GetSvgXml(Charts.RunCharts.Width, Charts.RunCharts.Height), $"{what} of {plan} by run", figure);
    }

    private static string Tail(string s, int max) => s.Length <= max ? s : "…" + s[^(max - 1)..];

    private static string Trim(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
