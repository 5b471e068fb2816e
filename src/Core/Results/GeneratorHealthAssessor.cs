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
            PacerLagP99Ms = steady.Max(s => s.PacerLagP99Ms),
            Bottleneck = saturated >= limit || late >= limit,
            Warnings = warnings,
        };
    }
}
