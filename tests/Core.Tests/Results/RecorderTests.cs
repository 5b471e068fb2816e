using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

public sealed class RecorderTests
{
    [Fact]
    public void CreateRecorder_ManyConcurrentWriters_LoseNoCounts()
    {
        var recorder = Histograms.CreateRecorder();
        const int Threads = 4, PerThread = 200_000;

        Parallel.For(0, Threads, t =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                recorder.RecordValue(100 + (i % 3)); // few buckets: maximal contention
            }
        });

        recorder.GetIntervalHistogram().TotalCount.ShouldBe(Threads * PerThread);
    }
}
