namespace Constellation.Core.Results;

/// <summary>
/// Merges what several load agents recorded for the same run into one record, exactly: per scenario and second,
/// counts add up and latency histograms are added bucket by bucket, so the merged p99 is the p99 of every
/// request, never an average of percentiles. (The groundwork of distributed runs, issue 9.)
/// </summary>
public static class RunMerger
{
    /// <summary>One scenario from the parts of several agents (same name); seconds are aligned by their index.</summary>
    public static ScenarioResult MergeScenario(IReadOnlyList<ScenarioResult> parts)
    {
        if (parts.Count == 0)
        {
            throw new ArgumentException("nothing to merge", nameof(parts));
        }

        if (parts.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            throw new ArgumentException($"parts of different scenarios: {string.Join(", ", parts.Select(p => p.Name).Distinct(StringComparer.Ordinal))}", nameof(parts));
        }

        var seconds = parts.SelectMany(p => p.Seconds)
            .GroupBy(s => s.Second)
            .OrderBy(g => g.Key)
            .Select(g => MergeSecond(g.Key, [.. g]))
            .ToList();
        var duration = parts.Max(p => p.DurationSeconds);
        var first = parts[0];
        return first with
        {
            StartOffsetSeconds = parts.Min(p => p.StartOffsetSeconds),
            DurationSeconds = duration,
            EndReason = parts.Select(p => p.EndReason).Where(r => r != EndReason.Completed).DefaultIfEmpty(EndReason.Completed).First(),
            Seconds = seconds,
            Totals = ScenarioTotalsCalculator.FromSamples(seconds, duration),
            BreakingPoint = parts.Select(p => p.BreakingPoint).OfType<BreakingPoint>().MinBy(b => b.ElapsedSeconds),
        };
    }

    /// <summary>One second from several agents' samples of it.</summary>
    public static SecondSample MergeSecond(int second, IReadOnlyList<SecondSample> samples)
    {
        var latency = Histograms.Merge(samples.Select(s => s.LatencyHistogram).OfType<string>().Select(Histograms.Decode));
        var service = Histograms.Merge(samples.Select(s => s.ServiceTimeHistogram).OfType<string>().Select(Histograms.Decode));
        return new SecondSample
        {
            Second = second,
            Offered = samples.Sum(s => s.Offered),
            Started = samples.Sum(s => s.Started),
            Outcomes = samples.Aggregate(new OutcomeCounts(), (sum, s) => sum + s.Outcomes),
            BytesReceived = samples.Sum(s => s.BytesReceived),
            InFlight = samples.Sum(s => s.InFlight),
            Latency = Histograms.Summarise(latency),
            ServiceTime = Histograms.Summarise(service),
            LatencyHistogram = latency.TotalCount == 0 ? null : Histograms.Encode(latency),
            ServiceTimeHistogram = service.TotalCount == 0 ? null : Histograms.Encode(service),
        };
    }
}
