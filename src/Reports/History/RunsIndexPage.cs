using System.Globalization;
using System.Net;
using System.Text;
using Constellation.Core.Text;
using ScottPlot;

namespace Constellation.Reports.History;

/// <summary>
/// The runs index (index.html at the runs root): every run newest first with its key numbers and a link to
/// its report, and per plan a trend of p95 and of the breaking point across runs. Self-contained like the
/// run report.
/// </summary>
public static class RunsIndexPage
{
    /// <param name="runs">Newest first.</param>
    /// <param name="reportLink">The link to a run's report; default: the relative RUN-ID/index.html.</param>
    public static string Render(IReadOnlyList<RunSummary> runs, Func<RunSummary, string>? reportLink = null)
    {
        reportLink ??= r => $"{Uri.EscapeDataString(r.RunId)}/index.html";
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Constellation runs</title>\n<style>\n");
        sb.Append("body{font-family:\"DejaVu Sans\",system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#1b1b1b}table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}.scroll{overflow-x:auto}figure svg{width:100%;height:auto;display:block}.completed{color:#060}.cancelled{color:#960}.failed{color:#a00}\n");
        sb.Append("</style>\n</head>\n<body>\n<h1>Constellation runs</h1>\n");
        if (runs.Count == 0)
        {
            sb.Append("<p>No runs yet.</p>\n");
        }

        int figure = 0;
        foreach (var plan in runs.GroupBy(r => r.PlanName).Where(g => g.Count() >= 2))
        {
            sb.Append(inv, $"<section><h2>Trend: {E(plan.Key)}</h2>\n");
            sb.Append("<figure>").Append(TrendChart(plan.Key, [.. plan.Reverse()], figure++)).Append("</figure></section>\n");
        }

        sb.Append("<section><h2>All runs</h2><div class=\"scroll\"><table>\n<thead><tr><th>started (UTC)</th><th>plan</th><th>status</th><th>duration</th><th>scenarios: rps · errors · p95 · breaking point</th><th>report</th></tr></thead>\n<tbody>\n");
        foreach (var r in runs)
        {
            var scenarios = string.Join("<br>", r.Scenarios.Select(s => string.Create(inv,
                $"{E(s.Name)}: {s.Rps:0.0}/s · {s.ErrorRate * 100:0.##}% · {Durations.Format(TimeSpan.FromMilliseconds(s.P95Ms))}{(s.BrokeAt is { } b ? $" · broke at {b:0.#} {E(s.Unit ?? string.Empty)}" : string.Empty)}")));
            var status = r.Status.ToString().ToLowerInvariant();
            sb.Append(inv, $"<tr><td>{r.StartedUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss}</td><td>{E(r.PlanName)}</td><td class=\"{status}\">{status}</td><td>{Durations.Format(TimeSpan.FromSeconds(r.DurationSeconds))}</td><td>{scenarios}</td><td><a href=\"{E(reportLink(r))}\">{E(r.RunId)}</a></td></tr>\n");
        }

        sb.Append("</tbody></table></div></section>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>The same list as plain text, for `constellation runs list`.</summary>
    public static string RenderText(IReadOnlyList<RunSummary> runs)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"{"started (UTC)",-19}  {"status",-9}  {"plan",-20}  {"run id",-36}  scenarios\n");
        foreach (var r in runs)
        {
            var scenarios = string.Join("; ", r.Scenarios.Select(s => string.Create(inv,
                $"{s.Name} {s.Rps:0.0}/s {s.ErrorRate * 100:0.##}% p95 {Durations.Format(TimeSpan.FromMilliseconds(s.P95Ms))}{(s.BrokeAt is { } b ? $" broke at {b:0.#} {s.Unit}" : string.Empty)}")));
            sb.Append(inv, $"{r.StartedUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {r.Status.ToString().ToLowerInvariant(),-9}  {Trim(r.PlanName, 20),-20}  {Trim(r.RunId, 36),-36}  {scenarios}\n");
        }

        return sb.ToString();
    }

    private static string TrendChart(string plan, IReadOnlyList<RunSummary> oldestFirst, int figure)
    {
        var plot = new Plot();
        Charts.RunCharts.Style(plot, $"{plan}: p95 and breaking point by run", "run (oldest → newest)", "p95 ms / breaking point");
        double[] xs = [.. Enumerable.Range(1, oldestFirst.Count).Select(i => (double)i)];
        int colour = 1;
        foreach (var name in oldestFirst.SelectMany(r => r.Scenarios.Select(s => s.Name)).Distinct())
        {
            double[] p95 = [.. oldestFirst.Select(r => r.Scenarios.FirstOrDefault(s => s.Name == name)?.P95Ms ?? double.NaN)];
            Charts.RunCharts.AddLine(plot, xs, p95, $"{name} p95 (ms)", colour++);
            if (oldestFirst.Any(r => r.Scenarios.Any(s => s.Name == name && s.BrokeAt is not null)))
            {
                double[] broke = [.. oldestFirst.Select(r => r.Scenarios.FirstOrDefault(s => s.Name == name)?.BrokeAt ?? double.NaN)];
                Charts.RunCharts.AddLine(plot, xs, broke, $"{name} broke at ({oldestFirst.SelectMany(r => r.Scenarios).FirstOrDefault(s => s.Name == name && s.Unit is not null)?.Unit})", colour++, dashed: true);
            }
        }

        return Html.HtmlReport.InlineSvg(plot.GetSvgXml(Charts.RunCharts.Width, Charts.RunCharts.Height), $"trend of {plan}", figure);
    }

    private static string Trim(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
