using System.Globalization;
using Constellation.Core.Text;

namespace Constellation.Core.Results;

/// <summary>How a piece of a report reads: plain, a note, a pass, a failure, not judged, a warning or an error.</summary>
public enum Tone
{
    Plain,
    Note,
    Pass,
    Fail,
    Skipped,
    Warning,
    Error,
}

/// <summary>
/// One section of a run's outputs, built once and rendered both as Markdown (summary.md) and as HTML (index.html),
/// so the two never disagree.
/// </summary>
public sealed record ReportSection(string Title, IReadOnlyList<ReportBlock> Blocks);

/// <summary>A paragraph, a list or a table of a section.</summary>
public abstract record ReportBlock;

/// <summary>A run of text, strong or code where it says so.</summary>
public sealed record Inline(string Text, bool Strong = false, bool Code = false)
{
    public static implicit operator Inline(string text) => new(text);
}

/// <summary>A paragraph.</summary>
public sealed record TextBlock(IReadOnlyList<Inline> Parts, Tone Tone = Tone.Plain) : ReportBlock
{
    public TextBlock(string text, Tone tone = Tone.Plain)
        : this([new Inline(text)], tone)
    {
    }
}

/// <summary>A bulleted list.</summary>
public sealed record ListBlock(IReadOnlyList<TextBlock> Items) : ReportBlock;

/// <summary>A table; a row's tone marks it (passed, failed…), a cell's its own text.</summary>
public sealed record TableBlock(IReadOnlyList<string> Columns, IReadOnlyList<TableRow> Rows) : ReportBlock;

public sealed record TableRow(IReadOnlyList<TableCell> Cells, Tone Tone = Tone.Plain);

public sealed record TableCell(string Text, bool Code = false, Tone Tone = Tone.Plain, string? Title = null)
{
    public static implicit operator TableCell(string text) => new(text);
}

/// <summary>The sections summary.md and index.html share: thresholds, scaling, the capacity model, agents.</summary>
public static class RunSections
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Every threshold with its result, and why the run is invalid or stopped early.</summary>
    public static ReportSection Thresholds(GateResult g)
    {
        var blocks = new List<ReportBlock>();
        blocks.AddRange(g.InvalidReasons.Select(r => new TextBlock([new Inline("Run invalid", Strong: true), $": {r}"], Tone.Error)));
        if (g.AbortedBy is { } why)
        {
            blocks.Add(new TextBlock($"Stopped early (abortOnFail): {why}", Tone.Warning));
        }

        if (g.Thresholds.Count > 0)
        {
            blocks.Add(new TableBlock(
                ["result", "scope", "threshold", "observed", "detail"],
                [.. g.Thresholds.Select(t =>
                {
                    var tone = t.Skipped ? Tone.Skipped : t.Passed ? Tone.Pass : Tone.Fail;
                    var result = t.Skipped ? "– not judged" : t.Passed ? "✓ passed" : "✗ failed";
                    return new TableRow([result, t.Scope, new TableCell(t.Threshold, Code: true), t.Observed, t.Detail ?? string.Empty], tone);
                })]));
        }

        return new ReportSection("Thresholds", blocks);
    }

    /// <summary>How the watched deployments, the nodes and the control app did while the load scaled them.</summary>
    public static ReportSection Scaling(ScalingMetrics m)
    {
        var blocks = new List<ReportBlock>();
        if (m.Workloads.Count > 0)
        {
            blocks.Add(new TableBlock(
                ["deployment", "replicas at start", "first HPA increase", "first new pod Ready", "peak (ready)", "peak reached", "longest Pending", "scale-in started", "back to start"],
                [.. m.Workloads.Select(w =>
                {
                    var pending = w.LongestPendingSeconds is { } lp ? $"{Secs(lp)}{(w.LongestPendingUnfinished ? "+ (still pending)" : string.Empty)} {w.LongestPendingPod}" : "–";
                    return new TableRow([
                        $"{w.Namespace}/{w.Deployment}",
                        string.Create(Inv, $"{w.InitialReady} ready / {w.InitialDesired} desired"),
                        Secs(w.FirstDesiredIncreaseSeconds),
                        Secs(w.FirstNewPodReadySeconds),
                        string.Create(Inv, $"{w.PeakReplicas} (desired {w.PeakDesired})"),
                        Secs(w.PeakSeconds),
                        new TableCell(pending, Title: w.LongestPendingReason),
                        Secs(w.ScaleInStartSeconds),
                        Secs(w.ScaleInSeconds)]);
                })]));
            blocks.Add(new TextBlock("Times from the load start (scale-out) or the load end (scale-in); – when it did not happen while observed.", Tone.Note));
            blocks.AddRange(m.Workloads.Where(w => w.LongestPendingReason is not null)
                .Select(w => new TextBlock($"{w.Deployment}: longest Pending {w.LongestPendingPod}: {w.LongestPendingReason}", Tone.Note)));
        }

        if (m.Nodes is { } n)
        {
            var zones = string.Join(", ", n.PeakPerZone.Select(z => $"{z.Key} {z.Value}"));
            blocks.Add(new TextBlock(string.Create(Inv, $"Nodes: {n.InitialReady} Ready at the load start, peak {n.PeakReady} ({zones}); first new node Ready after {Secs(n.FirstNewNodeReadySeconds)}; back to {n.InitialReady} {Secs(n.ScaleInSeconds)} after the load; {n.NodeMinutes:0.##} node-minutes observed.")));
        }

        foreach (var c in m.Control)
        {
            var delta = c.P95DeltaPercent is { } d ? string.Create(Inv, $"{(d >= 0 ? "+" : string.Empty)}{d:0.#}%") : "–";
            blocks.Add(new TextBlock(
                [
                    "Control app ",
                    new Inline(c.Target, Strong: true),
                    string.Create(Inv, $": p95 {Ms(c.BaselineP95Ms)} in the calm baseline ({c.BaselineSamples} probes), {Ms(c.WindowP95Ms)} in the {c.Window} window ({c.WindowSamples} probes, {c.WindowErrors} failed): "),
                    new Inline(delta, Strong: true),
                    ".",
                ]));
        }

        blocks.AddRange(m.Notes.Select(note => new TextBlock(note, Tone.Warning)));
        return new ReportSection("Scaling", blocks);
    }

    /// <summary>
    /// Each request of the scenarios of several requests, with JMeter's Aggregate Report columns (samples, mean,
    /// median, 90/95/99% lines, min, max, error %, throughput, received KB/s); null when no scenario has several.
    /// </summary>
    public static ReportSection? Requests(RunRecord run)
    {
        var withRequests = run.Scenarios.Where(s => s.Requests.Count > 0).ToList();
        if (withRequests.Count == 0)
        {
            return null;
        }

        var rows = new List<TableRow>();
        foreach (var s in withRequests)
        {
            foreach (var r in s.Requests.Prepend(s))
            {
                var t = r.Totals;
                var l = t.Latency;
                double? min = t.LatencyHistogram is { } h && t.Requests > 0 ? Histograms.Decode(h) is var d && d.TotalCount > 0 ? d.LowestEquivalentValue(d.GetValueAtPercentile(0)) / 1000.0 : null : null;
                double seconds = Math.Max(r.DurationSeconds, 1e-9);
                rows.Add(new TableRow(
                    [
                        r == s ? $"{s.Name} (all)" : $"{s.Name} › {r.Name}",
                        t.Requests.ToString(Inv),
                        Ms(l.MeanMs),
                        Ms(l.P50Ms),
                        Ms(l.P90Ms),
                        Ms(l.P95Ms),
                        Ms(l.P99Ms),
                        Ms(min),
                        Ms(l.MaxMs),
                        string.Create(Inv, $"{t.ErrorRate * 100:0.##}%"),
                        string.Create(Inv, $"{t.Rps:0.##}/s"),
                        string.Create(Inv, $"{t.BytesReceived / 1024.0 / seconds:0.##}"),
                    ],
                    r == s ? Tone.Note : t.Outcomes.Errors > 0 ? Tone.Warning : Tone.Plain));
            }
        }

        return new ReportSection("Requests (aggregate report)", [
            new TableBlock(["request", "samples", "mean", "median", "90% line", "95% line", "99% line", "min", "max", "error %", "throughput", "received KB/s"], rows),
            new TextBlock("The scenario's own row (all), then one row per request label of its sequence (the request's name, else METHOD path; requests of one label share a row, as samplers of one name do in JMeter). Latency from each request's intended start (the open model) or its send; gate one with p(95){request:NAME} < 300ms in the scenario's thresholds.", Tone.Note),
        ]);
    }

    /// <summary>Failed checks by their named reason (an extractor that found nothing), per scenario; null when there are none.</summary>
    public static ReportSection? Failures(RunRecord run)
    {
        var rows = run.Scenarios.SelectMany(s => s.Failures.OrderByDescending(f => f.Value).Select(f => new TableRow([s.Name, f.Key, f.Value.ToString(Inv)], Tone.Warning))).ToList();
        return rows.Count == 0 ? null : new ReportSection("Failed checks by reason", [new TableBlock(["scenario", "reason", "answers"], rows)]);
    }

    /// <summary>Most steps listed one by one in the reaction table (all of them count in the phase statistics).</summary>
    public const int MaxStepRows = 20;

    /// <summary>The scale-reaction waterfall of each scenario aimed at a watched deployment; null when there is none.</summary>
    public static ReportSection? Reactions(ScalingMetrics m)
    {
        if (m.Reactions.Count == 0)
        {
            return null;
        }

        var blocks = new List<ReportBlock>
        {
            new TextBlock("Seconds from each step up of the load to each phase of the reaction (pending: the longest a new pod waited to be scheduled). – : nothing to react to in that step; not reached: it did not happen (the HPA's rise before the next step, the rest before observing ended). A step that did not reach a phase counts as longer than any: its max is unknown, and so is its p95 once more than 5% of the steps missed it — their thresholds fail.", Tone.Note),
        };
        foreach (var r in m.Reactions)
        {
            var limits = new List<string>();
            if (r.HpaTarget is { } target)
            {
                limits.Add(string.Create(Inv, $"HPA target {target:0.#}%"));
            }

            if (r.P95LimitMs is { } limit)
            {
                limits.Add($"p95 limit {Ms(limit)}");
            }

            if (r.ControlBaselineP95Ms is { } baseline)
            {
                limits.Add($"control app calm p95 {Ms(baseline)}");
            }

            blocks.Add(new TextBlock([new Inline(r.Scenario, Strong: true), $" → {r.Namespace}/{r.Deployment}: {r.Steps.Count} step(s){(limits.Count == 0 ? string.Empty : "; " + string.Join(", ", limits))}."]));
            blocks.Add(new TableBlock(
                ["phase", "threshold name", "steps", "reached", "p50", "p95", "max"],
                [.. r.Phases.Select(p =>
                {
                    var label = ScaleReactionAnalyzer.PhaseNames.First(n => n.Name == p.Phase).Label;
                    var unreached = p.Steps - p.Reached;
                    return new TableRow(
                        [label, new TableCell($"scale.{r.Deployment}.{p.Phase}", Code: true), p.Steps.ToString(Inv), p.Reached.ToString(Inv), Secs(p.P50), Secs(p.P95), Secs(p.Max)],
                        unreached > 0 ? Tone.Fail : Tone.Plain);
                })]));
            blocks.Add(new TableBlock(
                ["step", "stage", "load", .. ScaleReactionAnalyzer.PhaseNames.Select(p => p.Name)],
                [.. r.Steps.Take(MaxStepRows).Select(s => new TableRow(
                    [
                        s.Number.ToString(Inv),
                        s.Stage,
                        string.Create(Inv, $"{s.From:0.##} → {s.To:0.##} at {s.StartSeconds:0.#} s"),
                        .. ScaleReactionAnalyzer.PhaseNames.Select(p => s.Unreached.Contains(p.Name)
                            ? new TableCell("not reached", Tone: Tone.Error)
                            : new TableCell(Secs(ScaleReactionAnalyzer.Value(s, p.Name)), Title: p.Name == "pending" ? s.PendingReason : null)),
                    ]))]));
            if (r.Steps.Count > MaxStepRows)
            {
                blocks.Add(new TextBlock(string.Create(Inv, $"The first {MaxStepRows} of {r.Steps.Count} steps are listed; run.json has them all."), Tone.Note));
            }

            blocks.AddRange(r.Notes.Select(n => new TextBlock($"{r.Scenario}: {n}", Tone.Note)));
        }

        return new ReportSection("Scale reactions (waterfall)", blocks);
    }

    /// <summary>The capacity model of each ramp, or why it has none; null when no scenario ramps.</summary>
    public static ReportSection? Capacity(RunRecord run)
    {
        var modelled = run.Scenarios.Where(s => s.Capacity is not null).ToList();
        return modelled.Count == 0
            ? null
            : new ReportSection("Capacity model (Universal Scalability Law)", [new ListBlock([.. modelled.Select(s => new TextBlock([new Inline(s.Name, Strong: true), $": {s.Capacity!.Describe()}."], s.Capacity!.Fit is null ? Tone.Note : Tone.Plain))])]);
    }

    /// <summary>The agents of a distributed run: their shares, how each ended, what each measured.</summary>
    public static ReportSection Agents(Distribution d)
    {
        var blocks = new List<ReportBlock>
        {
            new TextBlock([string.Create(Inv, $"{d.Agents.Count} agents ({d.Mode}); their seconds were merged exactly (histograms added). Exchange: "), new Inline(d.Exchange, Code: true), "."]),
        };
        if (d.Degraded)
        {
            blocks.Add(new TextBlock([new Inline("Degraded: the planned load was not fully sent, so the run is invalid.", Strong: true)], Tone.Error));
            blocks.Add(new ListBlock([.. d.Problems.Select(p => new TextBlock(p))]));
        }

        blocks.Add(new TableBlock(
            ["agent", "share", "state", "host", "requests", "rps", "errors", "p95", "p99", "max CPU", "max pacer lag"],
            [.. d.Agents.Select(a => new TableRow([
                a.Index.ToString(Inv),
                string.Create(Inv, $"{a.Share * 100:0.#}%"),
                new TableCell(a.State.Name(), Tone: a.State == AgentState.Completed ? Tone.Plain : Tone.Error),
                a.Host ?? "?",
                a.Requests.ToString(Inv),
                a.Rps.ToString("0.#", Inv),
                a.Errors.ToString(Inv),
                Ms(a.P95Ms),
                Ms(a.P99Ms),
                string.Create(Inv, $"{a.MaxCpuPercent:0}%"),
                string.Create(Inv, $"{a.MaxPacerLagMs:0.#} ms")]))]));
        return new ReportSection("Agents", blocks);
    }

    private static string Secs(double? s) => s is { } v ? string.Create(Inv, $"{v:0.#} s") : "–";

    private static string Ms(double? ms) => ms is { } v ? Durations.Format(TimeSpan.FromMilliseconds(v)) : "–";
}

/// <summary>Renders a <see cref="ReportSection"/> as Markdown.</summary>
public static class SectionMarkdown
{
    public static void Append(System.Text.StringBuilder sb, ReportSection section)
    {
        sb.Append("\n## ").Append(section.Title).Append('\n');
        foreach (var block in section.Blocks)
        {
            sb.Append('\n'); // a blank line between blocks, none after the last
            switch (block)
            {
                case TextBlock t:
                    sb.Append(Mark(t.Tone)).Append(Text(t.Parts)).Append('\n');
                    break;
                case ListBlock l:
                    foreach (var item in l.Items)
                    {
                        sb.Append("- ").Append(Mark(item.Tone)).Append(Text(item.Parts)).Append('\n');
                    }

                    break;
                case TableBlock table:
                    sb.Append("| ").Append(string.Join(" | ", table.Columns.Select(Escape))).Append(" |\n|");
                    sb.Append(string.Concat(table.Columns.Select(_ => "---|"))).Append('\n');
                    foreach (var row in table.Rows)
                    {
                        sb.Append("| ").Append(string.Join(" | ", row.Cells.Select(c => c.Code ? $"`{Escape(c.Text)}`" : Escape(c.Text)))).Append(" |\n");
                    }

                    break;
            }
        }
    }

    private static string Mark(Tone tone) => tone switch
    {
        Tone.Error or Tone.Fail => "✗ ",
        Tone.Warning => "⚠ ",
        _ => string.Empty,
    };

    private static string Text(IEnumerable<Inline> parts) => string.Concat(parts.Select(p => p.Code ? $"`{Escape(p.Text)}`" : p.Strong ? $"**{Escape(p.Text)}**" : Escape(p.Text)));

    /// <summary>Text for a Markdown table cell or line: a pipe escaped, a line break a space.</summary>
    internal static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
