using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Core.Results;

namespace Constellation.Core.Tests.Load;

public sealed class StopConditionMonitorTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheMergedSecondsOfTwoAgents_BreakWhereOneEngineWithAllTheRequestsBreaks()
    {
        // Agent 0 sees fast answers, agent 1 slow ones from second 4 on: neither alone tells the p95 of every request.
        var curve = new LoadCurve([new LoadSegment(TimeSpan.FromSeconds(20), 10, 50)]);
        var conditions = new[] { Parse("p95 > 200ms over 2s") };
        var whole = new StopConditionMonitor(conditions, curve, "req/s");
        var merged = new StopConditionMonitor(conditions, curve, "req/s");
        BreakingPoint? wholeBp = null, mergedBp = null;
        for (int s = 0; s < 20 && (wholeBp is null || mergedBp is null); s++)
        {
            var fast = Enumerable.Repeat(20.0, 10).ToArray();
            var slow = Enumerable.Repeat(s >= 4 ? 900.0 : 30.0, s >= 4 ? 2 + s : 1).ToArray();
            var a = Sample(s, fast);
            var b = Sample(s, slow);
            var all = Sample(s, [.. fast, .. slow]);
            var m = RunMerger.MergeSecond(s, [a, b]);

            wholeBp ??= whole.Observe(s, all, Histograms.Decode(all.LatencyHistogram!), At);
            mergedBp ??= merged.Observe(s, m, Histograms.Decode(m.LatencyHistogram!), At);
        }

        mergedBp.ShouldNotBeNull();
        mergedBp.ShouldBe(wholeBp);
        merged.StopSecond.ShouldBe(whole.StopSecond);
        merged.Observe(19, Sample(19, [5000]), null, At).ShouldBeNull(); // it breaks once
    }

    private static StopCondition Parse(string text) => StopCondition.TryParse(text, out var c, out var e) ? c! : throw new ArgumentException(e);

    private static SecondSample Sample(int second, double[] latenciesMs)
    {
        var h = Histograms.Create();
        foreach (var ms in latenciesMs)
        {
            h.RecordValue((long)(ms * 1000));
        }

        return new SecondSample
        {
            Second = second,
            Offered = latenciesMs.Length,
            Started = latenciesMs.Length,
            Outcomes = new OutcomeCounts { Status2xx = latenciesMs.Length },
            BytesReceived = 0,
            Latency = Histograms.Summarise(h),
            ServiceTime = Histograms.Summarise(h),
            LatencyHistogram = Histograms.Encode(h),
            ServiceTimeHistogram = Histograms.Encode(h),
        };
    }
}
