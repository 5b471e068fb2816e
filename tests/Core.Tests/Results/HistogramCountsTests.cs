using Constellation.Core.Gate;
using Constellation.Core.Results;
using CsCheck;

namespace Constellation.Core.Tests.Results;

/// <summary>The fast decoder and summariser agree with HdrHistogram.NET on every histogram.</summary>
public sealed class HistogramCountsTests
{
    private static readonly Gen<long[]> Values = Gen.OneOf(
        Gen.Long[1, 2_000].Array[1, 500],
        Gen.Long[1, 5_000_000].Array[1, 2_000],
        Gen.Long[1, Histograms.HighestMicros].Array[1, 300]);

    [Fact]
    public void AddEncoded_Summarise_EqualsHdrHistogram_ForAnyValues() =>
        Values.Sample(values =>
        {
            var h = Histograms.Create();
            foreach (var v in values)
            {
                h.RecordValue(v);
            }

            var counts = new HistogramCounts();
            counts.AddEncoded(Histograms.Encode(h));

            counts.TotalCount.ShouldBe(h.TotalCount);
            counts.Summarise().ShouldBe(Histograms.Summarise(h));
            counts.Buckets().ShouldBe(SecondData.Sparse(Histograms.Encode(h)));
            Histograms.Summarise(counts.ToHistogram()).ShouldBe(Histograms.Summarise(h));
        }, iter: 300);

    [Fact]
    public void Add_ManySeconds_EqualsTheExactMerge()
    {
        var seconds = Enumerable.Range(0, 50).Select(s =>
        {
            var h = Histograms.Create();
            for (int i = 0; i < 100; i++)
            {
                h.RecordValue(1 + (((long)s * 7919) + (i * 104_729)) % 3_000_000);
            }

            return h;
        }).ToList();
        var total = new HistogramCounts();
        var each = new HistogramCounts();
        foreach (var h in seconds)
        {
            each.Reset();
            each.AddEncoded(Histograms.Encode(h));
            total.Add(each);
        }

        total.Summarise().ShouldBe(Histograms.Summarise(Histograms.Merge(seconds)));
    }

    [Fact]
    public void Empty_SummarisesAsEmpty_AndResetEmpties()
    {
        var counts = new HistogramCounts();
        counts.Summarise().ShouldBe(LatencySummary.Empty);
        counts.AddEncoded(Histograms.Encode(Histograms.Create()));
        counts.TotalCount.ShouldBe(0);
        var h = Histograms.Create();
        h.RecordValue(1234);
        counts.AddEncoded(Histograms.Encode(h));
        counts.Reset();
        counts.TotalCount.ShouldBe(0);
        counts.Buckets().ShouldBeEmpty();
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    [InlineData("HISTFAAAAAB4nJNpmSzMwMDAyAABzFCaEUoz")]
    public void AddEncoded_Garbage_Throws(string text) =>
        Should.Throw<Exception>(() => new HistogramCounts().AddEncoded(text)).ShouldBeAssignableTo<Exception>();
}
