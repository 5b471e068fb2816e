using System.Globalization;

namespace Constellation.Core.Results;

/// <summary>Judges from its per-second health whether the load generator itself limited the run.</summary>
public static class GeneratorHealthAssessor
{
    /// <summary>Generator CPU (share of all cores) above which a second counts as saturated. Default: 90.
    /// A run is flagged when at least 10% of its seconds after the first (and at least two) are saturated or late.</summary>
    public const double SaturatedCpuPercent = 90;

    /// <summary>Pacer lag above which a second counts as late. Default: 50 ms.</summary>
    public const double LatePacerMs = 50;

    public static GeneratorHealth Assess(IReadOnlyList<GeneratorSecond> seconds)
    {
        var warnings = new List<string>();

        // The first second carries start-up work (JIT, first connections), not the steady cost of the load.
        var steady = seconds.Count > 1 ? seconds.Skip(1).ToList() : seconds;
        int saturated = steady.Count(s => s.CpuPercent >= SaturatedCpuPercent);
        int late = steady.Count(s => s.PacerLagMaxMs >= LatePacerMs);
        int limit = Math.Max(2, (int)Math.Ceiling(steady.Count * 0.1));
        if (saturated > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture, $"generator CPU was at or above {SaturatedCpuPercent:0}% of all cores in {saturated} of {steady.Count} seconds"));
        }

        if (late > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture, $"the pacer started requests {LatePacerMs:0} ms or more late in {late} of {steady.Count} seconds (latency still counts from the intended time)"));
        }

        return new GeneratorHealth
        {
            Seconds = seconds,
            MaxCpuPercent = seconds.Count == 0 ? 0 : seconds.Max(s => s.CpuPercent),
            MaxPacerLagMs = seconds.Count == 0 ? 0 : Math.Round(seconds.Max(s => s.PacerLagMaxMs), 3),
            PacerLagP99Ms = PacerLagP99(steady),
            Bottleneck = saturated >= limit || late >= limit,
            Warnings = warnings,
        };
    }

    /// <summary>Every arrival's lag merged from the seconds' histograms; without them, the worst second's p99.</summary>
    private static double? PacerLagP99(IReadOnlyList<GeneratorSecond> seconds)
    {
        var encoded = seconds.Select(s => s.PacerLagHistogram).OfType<string>().ToList();
        if (encoded.Count == 0)
        {
            return seconds.Max(s => s.PacerLagP99Ms);
        }

        var merged = Histograms.Merge(encoded.Select(Histograms.Decode));
        return merged.TotalCount == 0 ? null : Math.Round(merged.GetValueAtPercentile(99) / 1000.0, 3);
    }

    /// <summary>One generator second from several (agents, or a bucket of a long run): the worst of each (GC pause too), in-flight summed for agents, the lag histograms merged.</summary>
    public static GeneratorSecond Combine(int second, IReadOnlyCollection<GeneratorSecond> parts, bool sumInFlight)
    {
        var lags = parts.Select(g => g.PacerLagHistogram).OfType<string>().ToList();
        return new GeneratorSecond(second, parts.Max(g => g.CpuPercent), parts.Max(g => g.MachineCpuPercent), parts.Max(g => g.PacerLagMaxMs), sumInFlight ? parts.Sum(g => g.InFlight) : parts.Max(g => g.InFlight))
        {
            PacerLagP99Ms = parts.Max(g => g.PacerLagP99Ms),
            GcPauseMs = parts.Any(g => g.GcPauseMs is not null) ? parts.Max(g => g.GcPauseMs) : null,
            PacerLagHistogram = lags.Count == 0 ? null : Histograms.Encode(Histograms.Merge(lags.Select(Histograms.Decode))),
        };
    }
}
