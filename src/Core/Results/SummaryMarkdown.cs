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

        if (RunSections.Requests(run) is { } requests)
        {
            SectionMarkdown.Append(sb, requests);
        }

        if (RunSections.Failures(run) is { } failures)
        {
            SectionMarkdown.Append(sb, failures);
        }

        if (run.Gate is { } judged)
        {
            SectionMarkdown.Append(sb, RunSections.Thresholds(judged));
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

        if (RunSections.Capacity(run) is { } capacity)
        {
            SectionMarkdown.Append(sb, capacity);
        }

        if (run.Scaling is { } m)
        {
            SectionMarkdown.Append(sb, RunSections.Scaling(m));
            if (RunSections.Reactions(m) is { } reactions)
            {
                SectionMarkdown.Append(sb, reactions);
            }
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
            SectionMarkdown.Append(sb, RunSections.Agents(d));
        }

        return sb.ToString();
    }

    private static string Ms(double ms) => Durations.Format(TimeSpan.FromMilliseconds(ms));

    private static string Escape(string s) => SectionMarkdown.Escape(s);
}
