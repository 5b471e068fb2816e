namespace Constellation.Core.Results;

/// <summary>Sums a scenario's per-second samples into its totals with exact histogram merging.</summary>
public static class ScenarioTotalsCalculator
{
    public static ScenarioTotals FromSamples(IReadOnlyList<SecondSample> seconds, double durationSeconds)
    {
        var outcomes = seconds.Aggregate(new OutcomeCounts(), (sum, s) => sum + s.Outcomes);
        var latency = Histograms.Merge(seconds.Where(s => s.LatencyHistogram is not null).Select(s => Histograms.Decode(s.LatencyHistogram!)));
        var service = Histograms.Merge(seconds.Where(s => s.ServiceTimeHistogram is not null).Select(s => Histograms.Decode(s.ServiceTimeHistogram!)));
        var completed = outcomes.Completed;
        return new ScenarioTotals
        {
            Requests = completed,
            Outcomes = outcomes,
            BytesReceived = seconds.Sum(s => s.BytesReceived),
            Rps = durationSeconds <= 0 ? 0 : Math.Round(completed / durationSeconds, 2),
            ErrorRate = completed == 0 ? 0 : Math.Round((double)outcomes.Errors / completed, 6),
            Latency = Histograms.Summarise(latency),
            ServiceTime = Histograms.Summarise(service),
            LatencyHistogram = Histograms.Encode(latency),
            ServiceTimeHistogram = Histograms.Encode(service),
        };
    }
}
