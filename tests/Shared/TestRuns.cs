using Constellation.Core.Results;

namespace Constellation.Tests;

/// <summary>Run records built from synthetic per-second data, for rendering tests.</summary>
internal static class TestRuns
{
    public static RunRecord Sample(string planName = "nightly", string scenarioName = "spin-ramp", string? planText = "name: nightly\n")
    {
        var seconds = Enumerable.Range(0, 20).Select(i => Second(i, ok: 10 + (i * 5), errors: i > 15 ? 8 : 0, baseMs: 20 + (i * i))).ToList();
        var start = new DateTimeOffset(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);
        return new RunRecord
        {
            RunId = "20261125-020000-nightly-abcd",
            PlanName = planName,
            Status = RunStatus.Completed,
            Environment = new RunEnvironment
            {
                ToolVersion = "0.1.0",
                Machine = "ci-1",
                Os = "Linux",
                Runtime = ".NET 10",
                Cores = 2,
                StartedUtc = start,
                EndedUtc = start.AddSeconds(20),
                Targets = new Dictionary<string, string> { ["spin"] = "http://127.0.0.1:5000/" },
            },
            PlanText = planText,
            Scenarios =
            [
                new ScenarioResult
                {
                    Name = scenarioName,
                    Target = "spin",
                    Model = "open",
                    Url = "http://127.0.0.1:5000/api/spin",
                    StartOffsetSeconds = 0,
                    DurationSeconds = 20,
                    EndReason = "stopped",
                    Seconds = seconds,
                    Totals = ScenarioTotalsCalculator.FromSamples(seconds, 20),
                    BreakingPoint = new BreakingPoint
                    {
                        Condition = "error_rate > 5% over 3s",
                        Observed = "8%",
                        AtUtc = start.AddSeconds(19),
                        ElapsedSeconds = 19,
                        Unit = "req/s",
                        OfferedAtFailure = 105,
                        LastHealthyOffered = 90,
                        LastHealthyStage = "ramp",
                        PeakOkPerSecond = 105,
                    },
                },
            ],
            Generator = GeneratorHealthAssessor.Assess([new GeneratorSecond(0, 12.5, 97, 0.8, 3)]),
        };
    }

    private static SecondSample Second(int i, long ok, long errors, double baseMs)
    {
        var latency = Histograms.Create();
        var service = Histograms.Create();
        for (int r = 0; r < ok + errors; r++)
        {
            latency.RecordValue((long)((baseMs + r) * 1000));
            service.RecordValue((long)((baseMs / 2 + r) * 1000));
        }

        return new SecondSample
        {
            Second = i,
            Offered = ok + errors,
            Started = ok + errors,
            Outcomes = new OutcomeCounts { Status2xx = ok, Status5xx = errors },
            BytesReceived = (ok + errors) * 100,
            Latency = Histograms.Summarise(latency),
            ServiceTime = Histograms.Summarise(service),
            LatencyHistogram = Histograms.Encode(latency),
            ServiceTimeHistogram = Histograms.Encode(service),
        };
    }
}
