using System.Globalization;
using System.Net;
using System.Text;
using Constellation.Core.Results;
using Constellation.Core.Text;
using Constellation.Reports.Charts;

namespace Constellation.Reports.Html;

/// <summary>
/// Renders one self-contained HTML file from a run record: inline CSS and SVG charts, no scripts and no
/// external fetches, so it opens from disk, a CI artifact or a presigned link, offline. Every string that
/// comes from the plan or the environment is HTML-escaped.
/// </summary>
public static partial class HtmlReport
{
    public static string Render(RunRecord run)
    {
        var inv = CultureInfo.InvariantCulture;
        var env = run.Environment;
        var sb = new StringBuilder(64 * 1024);
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append(inv, $"<title>Constellation — {E(run.PlanName)} — {E(run.RunId)}</title>\n");
        sb.Append("<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append(inv, $"<header><h1>{E(run.PlanName)}</h1><p class=\"status verdict-{run.Verdict}\" data-verdict=\"{run.Verdict}\">{E(StatusText(run))}</p>\n");
        sb.Append("<dl class=\"facts\">");
        Fact(sb, "run", run.RunId);
        Fact(sb, "started (UTC)", env.StartedUtc.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", inv));
        Fact(sb, "duration", Durations.Format(env.EndedUtc - env.StartedUtc));
        Fact(sb, "generator", $"constellation {env.ToolVersion}, {env.Cores} cores");
        sb.Append("</dl>\n");
        if (run.Error is not null)
        {
            sb.Append(inv, $"<p class=\"error\">Error: {E(run.Error)}</p>\n");
        }

        foreach (var s in run.Scenarios.Where(s => s.BreakingPoint is not null))
        {
            var b = s.BreakingPoint!;
            sb.Append(inv, $"<p class=\"breaking\"><strong>{E(s.Name)}</strong> broke after {b.ElapsedSeconds:0.#} s: <code>{E(b.Condition)}</code> (observed {E(b.Observed)}) at {b.OfferedAtFailure:0.#} {E(b.Unit)} offered. Last healthy: {b.LastHealthyOffered:0.#} {E(b.Unit)} ({E(b.LastHealthyStage)}); peak {b.PeakOkPerSecond} ok/s.</p>\n");
        }

        if (run.Gate is { } gate)
        {
            sb.Append(inv, $"<p class=\"gate gate-{E(gate.Verdict)}\">Gate: <strong>{E(gate.Verdict)}</strong>{(gate.BaselineRunId is null ? string.Empty : $" (baseline {E(gate.BaselineRunId)})")}</p>\n");
        }

        sb.Append("</header>\n<main>\n");
        if (run.Gate is { } judged)
        {
            SectionHtml.Append(sb, RunSections.Thresholds(judged));
        }

        sb.Append("<section><h2>Scenarios</h2>\n<div class=\"scroll\"><table>\n");
        sb.Append("<thead><tr><th>scenario</th><th>model</th><th>requests</th><th>rate /s</th><th>errors</th><th>dropped</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>end</th></tr></thead>\n<tbody>\n");
        foreach (var s in run.Scenarios)
        {
            var t = s.Totals;
            var l = t.Latency;
            sb.Append(inv, $"<tr><td>{E(s.Name)}</td><td>{E(s.Model)}</td><td>{t.Requests}</td><td>{t.Rps:0.0}</td><td>{t.ErrorRate * 100:0.##}%</td><td>{t.Outcomes.Dropped}</td><td>{Ms(l.P50Ms)}</td><td>{Ms(l.P95Ms)}</td><td>{Ms(l.P99Ms)}</td><td>{Ms(l.MaxMs)}</td><td>{E(s.EndReason.Name())}</td></tr>\n");
        }

        sb.Append("</tbody></table></div></section>\n");
        if (RunSections.Requests(run) is { } requests)
        {
            SectionHtml.Append(sb, requests);
        }

        if (RunSections.Failures(run) is { } failures)
        {
            SectionHtml.Append(sb, failures);
        }

        foreach (var s in run.Scenarios)
        {
            sb.Append(inv, $"<section class=\"charts\"><h2>{E(s.Name)} <small>{E(s.Url)}</small></h2>\n");
            Figure(sb, RunCharts.LoadChart(s), $"Load of {s.Name}: offered and achieved requests per second, errors and dropped");
            Figure(sb, RunCharts.LatencyChart(s), $"Latency of {s.Name} per second: p50, p95, p99 and max");
            Figure(sb, RunCharts.PercentileChart(s), $"Latency of {s.Name} by percentile");
            if (s.Capacity is { } capacity)
            {
                Figure(sb, RunCharts.CapacityChart(s, capacity), $"Capacity of {s.Name}: ok/s against concurrency, with the fitted Universal Scalability Law");
                SectionHtml.AppendBlocks(sb, [new TextBlock([new Inline("Capacity model", Strong: true), $": {capacity.Describe()}."], capacity.Fit is null ? Tone.Note : Tone.Plain)]);
            }

            foreach (var r in s.Requests.Take(RunCharts.MaxRequestCharts))
            {
                Figure(sb, RunCharts.LatencyChart(r with { Name = $"{s.Name} › {r.Name}" }), $"Latency of the request {r.Name} of {s.Name} per second: p50, p95, p99 and max");
            }

            if (s.Requests.Count > RunCharts.MaxRequestCharts)
            {
                sb.Append(inv, $"<p class=\"note\">Latency charts for the first {RunCharts.MaxRequestCharts} of {s.Requests.Count} requests; the table above has them all.</p>\n");
            }

            var o = s.Totals.Outcomes;
            sb.Append(inv, $"<p class=\"outcomes\">2xx {o.Status2xx} · 3xx {o.Status3xx} · 4xx {o.Status4xx} · 5xx {o.Status5xx} · timeout {o.Timeout} · connection error {o.ConnectionError} · check failed {o.CheckFailed} · dropped {o.Dropped}{(o.Cancelled > 0 ? $" · cancelled {o.Cancelled} (cut off by a hard stop)" : string.Empty)}</p>\n</section>\n");
        }

        if (run.Observation is not null || run.Observations.Count > 0)
        {
            Observed(sb, run);
        }

        var g = run.Generator;
        sb.Append(inv, $"<section><h2>Generator</h2><p>Max CPU {g.MaxCpuPercent:0}% of all cores, {E(g.DescribePacerLag())}.{(g.Bottleneck ? " <strong class=\"error\">The generator was a bottleneck: treat the result with care.</strong>" : string.Empty)}</p>\n");
        if (g.Cost.Count > 0)
        {
            sb.Append(inv, $"<p>CPU per 1k requests: {string.Join(", ", g.Cost.Select(c => string.Create(inv, $"{E(c.Scenario)} {c.CpuMsPer1kRequests:0.#} ms")))}.</p>\n");
        }

        if (g.Warnings.Count > 0)
        {
            sb.Append("<ul>");
            foreach (var w in g.Warnings)
            {
                sb.Append(inv, $"<li>{E(w)}</li>");
            }

            sb.Append("</ul>\n");
        }

        sb.Append("</section>\n");
        if (run.Distribution is { } d)
        {
            SectionHtml.Append(sb, RunSections.Agents(d));
        }

        sb.Append("<section><h2>Environment</h2><dl class=\"facts\">");
        Fact(sb, "machine", env.Machine);
        Fact(sb, "OS", env.Os);
        Fact(sb, "runtime", env.Runtime);
        foreach (var (name, url) in env.Targets)
        {
            Fact(sb, $"target {name}", url);
        }

        sb.Append("</dl></section>\n");
        if (run.PlanText is not null)
        {
            sb.Append(inv, $"<section><h2>Plan as run</h2><pre>{E(run.PlanText)}</pre></section>\n");
        }

        sb.Append(inv, $"</main>\n<footer>run.json schema {run.SchemaVersion} · rendered by constellation</footer>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>The scaling metrics, the observer's charts, its gaps and its samplers.</summary>
    private static void Observed(StringBuilder sb, RunRecord run)
    {
        var inv = CultureInfo.InvariantCulture;
        var obs = run.Observation;
        var m = run.Scaling;
        double from = obs?.FromSeconds ?? run.Observations.SelectMany(o => o.Points).Select(p => p.Seconds).DefaultIfEmpty(0).Min();
        double to = obs?.ToSeconds ?? run.Observations.SelectMany(o => o.Points).Select(p => p.Seconds).DefaultIfEmpty(1).Max();
        sb.Append("<section class=\"charts\"><h2>Scaling and control app</h2>\n");
        if (m is not null)
        {
            SectionHtml.AppendBlocks(sb, RunSections.Scaling(m).Blocks);
        }

        if (m is not null && RunSections.Reactions(m) is { } reactions)
        {
            sb.Append("<h3>Scale reactions (waterfall)</h3>\n");
            SectionHtml.AppendBlocks(sb, reactions.Blocks);
            foreach (var r in m.Reactions)
            {
                foreach (var step in r.Steps.Where(s => s.DesiredRaised is not null || s.Unreached.Count > 0).Take(RunCharts.MaxWaterfalls))
                {
                    Figure(sb, RunCharts.WaterfallChart(r, step), $"How {r.Deployment} reacted to step {step.Number} of {r.Scenario} ({step.Stage})");
                }
            }
        }

        if (obs?.Kubernetes is { } k8s)
        {
            foreach (var w in k8s.Workloads)
            {
                Figure(sb, RunCharts.ReplicaChart(w, run.Events, from, to), $"Desired and ready replicas of {w.Deployment}, scaling events marked");
            }

            if (k8s.Nodes.Count > 0)
            {
                Figure(sb, RunCharts.NodesChart(k8s.Nodes, run.Events, from, to), "Ready nodes per zone");
            }
        }

        foreach (var p in obs?.Probes ?? [])
        {
            Figure(sb, RunCharts.ControlChart(p, m?.Control.FirstOrDefault(c => c.Target == p.Target), run.Events, from, to), $"Latency of the control app {p.Target} (probes, not the load), with scaling events");
        }

        foreach (var group in run.Observations.GroupBy(o => o.Group))
        {
            Figure(sb, RunCharts.ObservationChart(group.Key, [.. group], run.Events), $"{group.Key} during the run");
        }

        if (obs is not null)
        {
            if (obs.Gaps.Count > 0)
            {
                sb.Append("<h3>Observer gaps</h3><div class=\"scroll\"><table><thead><tr><th>sampler</th><th>from</th><th>to</th><th>why</th></tr></thead><tbody>\n");
                foreach (var g in obs.Gaps)
                {
                    sb.Append(inv, $"<tr><td>{E(g.Sampler)}</td><td>{g.FromSeconds:0.#} s</td><td>{g.ToSeconds:0.#} s</td><td>{E(g.Reason)}</td></tr>\n");
                }

                sb.Append("</tbody></table></div>\n");
            }

            sb.Append("<h3>Samplers</h3><ul>");
            foreach (var r in obs.Samplers)
            {
                var notes = r.Notes.Count == 0 ? string.Empty : "; " + string.Join("; ", r.Notes);
                sb.Append(inv, $"<li>{E(r.Name)}: {r.Samples} samples, {r.Errors} errors, {r.GapSeconds:0.#} s without data{E(notes)}</li>");
            }

            sb.Append("</ul>\n");
        }

        var marked = run.Events.Where(e => RunCharts.ScalingEventKinds.Contains(e.Kind)).ToList();
        if (marked.Count > 0)
        {
            sb.Append("<details><summary>Events (").Append(marked.Count.ToString(inv)).Append(")</summary><div class=\"scroll\"><table><thead><tr><th>at</th><th>event</th><th>object</th><th>message</th></tr></thead><tbody>\n");
            foreach (var e in marked.Take(500))
            {
                sb.Append(inv, $"<tr><td>{e.Seconds:0.#} s</td><td>{E(e.Kind)}</td><td>{E(e.Object ?? string.Empty)}</td><td>{E(e.Text)}</td></tr>\n");
            }

            sb.Append("</tbody></table></div></details>\n");
        }

        sb.Append("</section>\n");
    }

    /// <summary>The top badge: the run's verdict, and a found breaking point or how a partial run ended.</summary>
    private static string StatusText(RunRecord run) => run.Verdict switch
    {
        RunVerdict.Passed when run.Scenarios.Any(s => s.BreakingPoint is not null) => "passed — breaking point found",
        RunVerdict.Aborted => "aborted — the run was killed; every second its journal kept",
        var v => RunVerdict.Describe(v),
    };

    private static void Fact(StringBuilder sb, string name, string value) =>
        sb.Append("<div><dt>").Append(E(name)).Append("</dt><dd>").Append(E(value)).Append("</dd></div>");

    private static void Figure(StringBuilder sb, string svg, string caption) =>
        sb.Append("<figure>").Append(InlineSvg(svg, caption, CountFigures(sb))).Append("<figcaption>").Append(E(caption)).Append("</figcaption></figure>\n");

    /// <summary>
    /// Makes a ScottPlot SVG fit to inline in a page: drops the XML prolog, adds a viewBox so it scales with the
    /// page instead of being cropped, labels it for screen readers, and renumbers Skia's clip-path ids (taken
    /// from a process-wide counter) per figure, so the same record renders the same bytes and ids stay unique.
    /// </summary>
    internal static string InlineSvg(string svg, string label, int figure)
    {
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        var body = start > 0 ? svg[start..] : svg;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        body = ClipId().Replace(body, m =>
        {
            if (!ids.TryGetValue(m.Groups[1].Value, out var n))
            {
                ids[m.Groups[1].Value] = n = ids.Count;
            }

            return string.Create(CultureInfo.InvariantCulture, $"f{figure}c{n}");
        });
        return body.Replace("<svg ", string.Create(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {RunCharts.Width} {RunCharts.Height}\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"{E(label)}\" "), StringComparison.Ordinal);
    }

    private static int CountFigures(StringBuilder sb)
    {
        int count = 0;
        foreach (var chunk in sb.GetChunks())
        {
            var span = chunk.Span;
            int i;
            while ((i = span.IndexOf("<figure>".AsSpan(), StringComparison.Ordinal)) >= 0)
            {
                count++;
                span = span[(i + 8)..];
            }
        }

        return count;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bcl_([0-9a-fA-F]+)\b")]
    private static partial System.Text.RegularExpressions.Regex ClipId();

    private static string Ms(double ms) => Durations.Format(TimeSpan.FromMilliseconds(ms));

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Css = """
        :root { font-family: "DejaVu Sans", system-ui, sans-serif; color: #1b1b1b; background: #fff; }
        body { margin: 0 auto; max-width: 960px; padding: 1rem; line-height: 1.4; }
        h1 { margin: 0 0 .25rem; font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
        h2 small { font-weight: normal; color: #555; font-size: .8rem; word-break: break-all; }
        .status { display: inline-block; padding: .2rem .6rem; border-radius: .3rem; font-weight: bold; }
        .verdict-passed { background: #dff0d8; color: #1e4620; } .verdict-cancelled { background: #fcf8e3; color: #5c4400; }
        .verdict-failed, .verdict-error, .verdict-aborted { background: #c9302c; color: #fff; } .verdict-invalid { background: #f0ad4e; color: #1b1b1b; }
        .facts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: .75rem 0; }
        .facts dt { font-size: .75rem; color: #555; } .facts dd { margin: 0; word-break: break-all; }
        .breaking { border-left: 4px solid #d55e00; padding-left: .6rem; }
        .error { color: #a00; }
        .note { color: #555; font-size: .9rem; }
        .gate { display: inline-block; padding: .2rem .6rem; border-radius: .3rem; }
        .gate-passed { background: #dff0d8; } .gate-failed, .gate-invalid { background: #f2dede; }
        tr.fail td { color: #a00; } tr.skipped td { color: #777; }
        details { margin: .8rem 0; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        th, td { padding: .3rem .5rem; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
        th:first-child, td:first-child { text-align: left; }
        figure { margin: 1rem 0; } figure svg { width: 100%; height: auto; display: block; }
        figcaption { font-size: .8rem; color: #555; }
        pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; font-size: .8rem; }
        footer { margin-top: 2rem; font-size: .75rem; color: #777; }

        """;
}
