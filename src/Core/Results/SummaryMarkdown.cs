using System.Globalization;
using System.Text;
using Constellation.Core.Text;

namespace Constellation.Core.Results;

/// <summary>Renders summary.md: a short Markdown digest of a run for CI step summaries and PR comments.</summary>
public static class SummaryMarkdown
{
    public static string Render(RunRecord run)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var env = run.Environment;
        sb.Append(inv, $"# Constellation run `{run.RunId}` — {Escape(run.PlanName)}\n\n");
        sb.Append(inv, $"- Verdict: **{run.Verdict}**{(run.Verdict == RunVerdict.Passed ? " ✓" : $" ✗ ({RunVerdict.Describe(run.Verdict)[(run.Verdict.Length + 3)..]})")}\n");
        sb.Append(inv, $"- Status: {run.Status.ToString().ToLowerInvariant()}\n");
        if (run.Gate is { } gate)
        {
            sb.Append(inv, $"- Gate: **{gate.Verdict}**{(gate.Verdict == GateResult.Passed ? " ✓" : " ✗")}{(gate.BaselineRunId is null ? string.Empty : $" (baseline `{gate.BaselineRunId}`)")}\n");
        }

        if (run.Tags.Count > 0)
        {
            sb.Append(inv, $"- Tags: {string.Join(", ", run.Tags.Select(t => $"`{t}`"))}\n");
        }
        sb.Append(inv, $"- Started: {env.StartedUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC, duration {Durations.Format(env.EndedUtc - env.StartedUtc)}\n");
        sb.Append(inv, $"- Generator: constellation {env.ToolVersion}, {env.Cores} cores, {Escape(env.Machine)}\n");
        if (run.Error is not null)
        {
            sb.Append(inv, $"- Error: {Escape(run.Error)}\n");
        }

        sb.Append('\n');
        sb.Append("| scenario | requests | rps | errors | dropped | p50 | p95 | p99 | max | end |\n");
        sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        foreach (var s in run.Scenarios)
        {
            var t = s.Totals;
            var l = t.Latency;
            sb.Append(inv, $"| {Escape(s.Name)} | {t.Requests} | {t.Rps:0.0} | {t.ErrorRate * 100:0.##}% | {t.Outcomes.Dropped} | {Ms(l.P50Ms)} | {Ms(l.P95Ms)} | {Ms(l.P99Ms)} | {Ms(l.MaxMs)} | {s.EndReason.Name()} |\n");
        }

        if (run.Gate is { } judged)
        {
            Thresholds(sb, judged);
        }

        var breaks = run.Scenarios.Where(s => s.BreakingPoint is not null).ToList();
        if (breaks.Count > 0)
        {
            sb.Append("\n## Breaking points\n\n");
            foreach (var s in breaks)
            {
                var b = s.BreakingPoint!;
                sb.Append(inv, $"- **{Escape(s.Name)}** broke at {b.ElapsedSeconds:0.#}s: `{Escape(b.Condition)}` (observed {b.Observed}) at {b.OfferedAtFailure:0.#} {b.Unit} offered; last healthy {b.LastHealthyOffered:0.#} {b.Unit} ({Escape(b.LastHealthyStage)}); peak {b.PeakOkPerSecond} ok/s.\n");
            }
        }

        var modelled = run.Scenarios.Where(s => s.Capacity is not null).ToList();
        if (modelled.Count > 0)
        {
            sb.Append("\n## Capacity model (Universal Scalability Law)\n\n");
            foreach (var s in modelled)
            {
                sb.Append(inv, $"- **{Escape(s.Name)}**: {Escape(s.Capacity!.Describe())}.\n");
            }
        }

        if (run.Scaling is { } m)
        {
            Scaling(sb, m);
        }

        var g = run.Generator;
        sb.Append(inv, $"\n## Generator\n\nmax CPU {g.MaxCpuPercent:0}% of all cores, {g.DescribePacerLag()}{(g.Bottleneck ? " — **the generator was a bottleneck: treat the result with care**" : string.Empty)}.\n");
        if (g.Cost.Count > 0)
        {
            sb.Append(inv, $"CPU per 1k requests: {string.Join(", ", g.Cost.Select(c => string.Create(inv, $"{c.Scenario} {c.CpuMsPer1kRequests:0.#} ms")))}.\n");
        }

        foreach (var w in g.Warnings)
        {
            sb.Append(inv, $"- {Escape(w)}\n");
        }

        if (run.Distribution is { } d)
        {
            Agents(sb, d);
        }

        return sb.ToString();
    }

    private static void Agents(StringBuilder sb, Distribution d)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"\n## Agents\n\n{d.Agents.Count} agents ({d.Mode}); their seconds were merged exactly (histograms added). Exchange: `{Escape(d.Exchange)}`.\n\n");
        if (d.Degraded)
        {
            sb.Append("**Degraded: the planned load was not fully sent, so the run is invalid.**\n\n");
            foreach (var p in d.Problems)
            {
                sb.Append(inv, $"- {Escape(p)}\n");
            }

            sb.Append('\n');
        }

        sb.Append("| agent | share | state | host | requests | rps | errors | p95 | p99 | max CPU | max pacer lag |\n|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var a in d.Agents)
        {
            sb.Append(inv, $"| {a.Index} | {a.Share * 100:0.#}% | {a.State.Name()} | {Escape(a.Host ?? "?")} | {a.Requests} | {a.Rps:0.#} | {a.Errors} | {OptionalMs(a.P95Ms)} | {OptionalMs(a.P99Ms)} | {a.MaxCpuPercent:0}% | {a.MaxPacerLagMs:0.#} ms |\n");
        }

        static string OptionalMs(double? ms) => ms is { } v ? Ms(v) : "-";
    }

    private static void Thresholds(StringBuilder sb, GateResult g)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append("\n## Thresholds\n\n");
        foreach (var reason in g.InvalidReasons)
        {
            sb.Append(inv, $"- ✗ **run invalid**: {Escape(reason)}\n");
        }

        if (g.AbortedBy is { } why)
        {
            sb.Append(inv, $"- ⏹ stopped early (abortOnFail): {Escape(why)}\n");
        }

        if (g.InvalidReasons.Count > 0 || g.AbortedBy is not null)
        {
            sb.Append('\n');
        }

        if (g.Thresholds.Count == 0)
        {
            return;
        }

        sb.Append("| | scope | threshold | observed | detail |\n|---|---|---|---:|---|\n");
        foreach (var t in g.Thresholds)
        {
            var mark = t.Skipped ? "–" : t.Passed ? "✓" : "✗";
            sb.Append(inv, $"| {mark} | {Escape(t.Scope)} | `{Escape(t.Threshold)}` | {Escape(t.Observed)} | {Escape(t.Detail ?? string.Empty)} |\n");
        }
    }

    private static void Scaling(StringBuilder sb, ScalingMetrics m)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append("\n## Scaling\n\n");
        if (m.Workloads.Count > 0)
        {
            sb.Append("| deployment | start | first HPA increase | first new pod Ready | peak | peak at | longest Pending | back to start after load |\n");
            sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            foreach (var w in m.Workloads)
            {
                sb.Append(inv, $"| {Escape(w.Namespace)}/{Escape(w.Deployment)} | {w.InitialReady} | {Secs(w.FirstDesiredIncreaseSeconds)} | {Secs(w.FirstNewPodReadySeconds)} | {w.PeakReplicas} | {Secs(w.PeakSeconds)} | {Secs(w.LongestPendingSeconds)} | {Secs(w.ScaleInSeconds)} |\n");
            }

            sb.Append('\n');
        }

        if (m.Nodes is { } n)
        {
            sb.Append(inv, $"- Nodes: {n.InitialReady} → peak {n.PeakReady} ({Escape(string.Join(", ", n.PeakPerZone.Select(z => $"{z.Key} {z.Value}")))}), first new node Ready after {Secs(n.FirstNewNodeReadySeconds)}, {n.NodeMinutes:0.##} node-minutes\n");
        }

        foreach (var c in m.Control)
        {
            var delta = c.P95DeltaPercent is { } d ? $"{(d >= 0 ? "+" : string.Empty)}{d:0.#}%" : "n/a";
            sb.Append(inv, $"- Control app {Escape(c.Target)}: p95 {Opt(c.BaselineP95Ms)} calm → {Opt(c.WindowP95Ms)} in the {c.Window} window (**{delta}**, {c.WindowErrors} failed probes)\n");
        }

        foreach (var note in m.Notes)
        {
            sb.Append(inv, $"- ⚠ {Escape(note)}\n");
        }
    }

    private static string Secs(double? s) => s is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:0.#}s") : "–";

    private static string Opt(double? ms) => ms is { } v ? Ms(v) : "n/a";

    private static string Ms(double ms) => Durations.Format(TimeSpan.FromMilliseconds(ms));

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
