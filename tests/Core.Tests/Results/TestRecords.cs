using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

/// <summary>A fixed run record for round-trip and snapshot tests.</summary>
internal static class TestRecords
{
    public static RunRecord Sample()
    {
        var h = Histograms.Create();
        foreach (var v in new[] { 1_000, 2_000, 3_000, 50_000, 1_200_000 })
        {
            h.RecordValue(v);
        }

        var second = new SecondSample
        {
            Second = 0,
            Offered = 5,
            Started = 5,
            Outcomes = new OutcomeCounts { Status2xx = 4, Status5xx = 1 },
            BytesReceived = 500,
            Latency = Histograms.Summarise(h),
            ServiceTime = Histograms.Summarise(h),
            LatencyHistogram = Histograms.Encode(h),
            ServiceTimeHistogram = Histograms.Encode(h),
        };
        var start = new DateTimeOffset(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);
        return new RunRecord
        {
            RunId = "20261125-020000-nightly-abcd",
            PlanName = "nightly | spin",
            Status = RunStatus.Completed,
            Environment = new RunEnvironment
            {
                ToolVersion = "0.1.0",
                Machine = "ci-1",
                Os = "Linux",
                Runtime = ".NET 10",
                Cores = 2,
                StartedUtc = start,
                EndedUtc = start.AddSeconds(61.5),
                Targets = new Dictionary<string, string> { ["spin"] = "http://127.0.0.1:5000/" },
            },
            PlanText = "name: nightly\n",
            Scenarios =
            [
                new ScenarioResult
                {
                    Name = "spin-ramp",
                    Target = "spin",
                    Model = "open",
                    Url = "http://127.0.0.1:5000/api/spin",
                    StartOffsetSeconds = 0,
                    DurationSeconds = 1,
                    EndReason = "stopped",
                    Seconds = [second],
                    Totals = ScenarioTotalsCalculator.FromSamples([second], 1),
                    BreakingPoint = new BreakingPoint
                    {
                        Condition = "p95 > 1s over 5s",
                        Observed = "1.2s",
                        AtUtc = start.AddSeconds(35),
                        ElapsedSeconds = 35,
                        Unit = "req/s",
                        OfferedAtFailure = 60,
                        LastHealthyOffered = 50,
                        LastHealthyStage = "ramp",
                        PeakOkPerSecond = 42,
                    },
                },
            ],
            Generator = GeneratorHealthAssessor.Assess([new GeneratorSecond(0, 12.5, 97, 0.8, 3)]),
        };
    }
}
