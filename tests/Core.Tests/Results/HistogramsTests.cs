using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

public sealed class HistogramsTests
{
    [Fact]
    public void Merge_OfEncodedParts_EqualsOneHistogramOfAllValues_BucketForBucket()
    {
        var random = new Random(42);
        var all = Histograms.Create();
        var parts = Enumerable.Range(0, 5).Select(_ => Histograms.Create()).ToArray();
        for (int i = 0; i < 50_000; i++)
        {
            long v = (long)Math.Exp(random.NextDouble() * 15); // 1 µs … ~3 s, log-spread
            all.RecordClamped(v);
            parts[i % 5].RecordClamped(v);
        }

        var merged = Histograms.Merge(parts.Select(p => Histograms.Decode(Histograms.Encode(p))));

        merged.TotalCount.ShouldBe(all.TotalCount);
        foreach (var bucket in all.RecordedValues())
        {
            merged.GetCountAtValue(bucket.ValueIteratedTo).ShouldBe(all.GetCountAtValue(bucket.ValueIteratedTo));
        }

        Histograms.Summarise(merged).ShouldBe(Histograms.Summarise(all));
    }

    [Fact]
    public void Summarise_KnownValues_GivesPercentilesInMilliseconds()
    {
        var h = Histograms.Create();
        for (int ms = 1; ms <= 1000; ms++)
        {
            h.RecordValue(ms * 1000L);
        }

        var s = Histograms.Summarise(h);

        s.Count.ShouldBe(1000);
        s.P50Ms.ShouldBe(500, 1);
        s.P99Ms.ShouldBe(990, 1);
        s.MaxMs.ShouldBe(1000, 1);
    }

    [Fact]
    public void RecordClamped_ValueBeyondAnHour_IsRecordedAtTheCeiling()
    {
        var h = Histograms.Create();

        h.RecordClamped(long.MaxValue / 2);
        h.RecordClamped(-5);

        h.TotalCount.ShouldBe(2);
    }
}

public sealed class HistogramEncodingTests
{
    [Fact]
    public void Encode_LargeAfterSmall_BothDecode()
    {
        var random = new Random(1);
        var small = Histograms.Create();
        small.RecordValue(1000);
        var large = Histograms.Create();
        for (int i = 0; i < 1_000_000; i++)
        {
            large.RecordValue(1000 + (long)(random.NextDouble() * random.NextDouble() * 200_000));
        }

        var a = Histograms.Encode(small);
        var b = Histograms.Encode(large);

        Histograms.Decode(a).TotalCount.ShouldBe(1);
        Histograms.Decode(b).TotalCount.ShouldBe(1_000_000);
    }
}
