using HdrHistogram;
using System.Buffers.Binary;
using System.IO.Compression;
using HdrHistogram.Encoding;
using HdrHistogram.Utilities;

namespace Constellation.Core.Results;

/// <summary>
/// The one histogram shape used everywhere: microseconds from 1 µs to 1 hour at 3 significant digits,
/// so histograms from any second, scenario or agent add up exactly.
/// </summary>
public static class Histograms
{
    public const long LowestMicros = 1;
    public const long HighestMicros = 3_600_000_000;
    public const int SignificantDigits = 3;

    public static LongHistogram Create() => new(LowestMicros, HighestMicros, SignificantDigits);

    /// <summary>
    /// An interval recorder that many threads may record into at once (its histograms are concurrent:
    /// a plain LongHistogram loses counts under concurrent writers), exactly mergeable with <see cref="Create"/>.
    /// </summary>
    public static Recorder CreateRecorder() => new(LowestMicros, HighestMicros, SignificantDigits, (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits));

    /// <summary>Records a value, clamped into the trackable range (a value above 1 h is recorded as 1 h).</summary>
    public static void RecordClamped(this HistogramBase histogram, long micros) =>
        histogram.RecordValue(Math.Clamp(micros, LowestMicros, HighestMicros));

    /// <summary>The cookie of the standard compressed V2 encoding (what Java, Go and JS HdrHistogram read).</summary>
    private const int CompressedV2Cookie = 0x1c849314;

    /// <summary>
    /// The standard compressed HdrHistogram V2 encoding, base64: [cookie][length][zlib(V2 encoding)].
    /// The compression is done here rather than by HdrHistogram.NET 2.5, whose decoder reads its inflated
    /// payload with a single Stream.Read and fails on larger histograms since .NET 6 made
    /// DeflateStream reads partial (dotnet/runtime breaking change "partial reads").
    /// </summary>
    public static string Encode(HistogramBase histogram)
    {
        var raw = ByteBuffer.Allocate(histogram.GetNeededByteBufferCapacity());
        int rawLength = histogram.Encode(raw, HistogramEncoderV2.Instance);
        var uncompressed = new byte[rawLength];
        raw.Position = 0;
        for (int i = 0; i < rawLength; i++)
        {
            uncompressed[i] = raw.Get();
        }

        using var output = new MemoryStream(rawLength / 4 + 64);
        Span<byte> header = stackalloc byte[8];
        output.Write(header); // filled in below
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(uncompressed);
        }

        var bytes = output.GetBuffer();
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0, 4), CompressedV2Cookie);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4, 4), (int)output.Length - 8);
        return Convert.ToBase64String(bytes, 0, (int)output.Length);
    }

    public static LongHistogram Decode(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        if (bytes.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(bytes) != CompressedV2Cookie)
        {
            throw new InvalidDataException("not a compressed V2 HdrHistogram");
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (length < 0 || length > bytes.Length - 8)
        {
            throw new InvalidDataException("truncated HdrHistogram payload");
        }

        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(bytes, 8, length), CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated); // reads until the end, however the stream splits its reads
        }

        var decoded = HistogramEncoding.DecodeFromByteBuffer(ByteBuffer.Allocate(inflated.ToArray()), 0, null);
        var result = Create();
        result.Add(decoded);
        return result;
    }

    /// <summary>Adds histograms exactly (bucket by bucket).</summary>
    public static LongHistogram Merge(IEnumerable<HistogramBase> histograms) => MergeInto(Create(), histograms);

    /// <summary>Overwrites <paramref name="target"/> with the exact sum of the histograms.</summary>
    public static LongHistogram MergeInto(LongHistogram target, IEnumerable<HistogramBase> histograms)
    {
        target.Reset();
        foreach (var h in histograms)
        {
            target.Add(h);
        }

        return target;
    }

    /// <summary>Summarises a histogram of microseconds in milliseconds.</summary>
    public static LatencySummary Summarise(HistogramBase h) => h.TotalCount == 0
        ? LatencySummary.Empty
        : new LatencySummary(
            Count: h.TotalCount,
            MeanMs: Ms(h.GetMean()),
            P50Ms: Ms(h.GetValueAtPercentile(50)),
            P90Ms: Ms(h.GetValueAtPercentile(90)),
            P95Ms: Ms(h.GetValueAtPercentile(95)),
            P99Ms: Ms(h.GetValueAtPercentile(99)),
            P999Ms: Ms(h.GetValueAtPercentile(99.9)),
            MaxMs: Ms(h.GetMaxValue()));

    private static double Ms(double micros) => Math.Round(micros / 1000.0, 3);
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P90Ms, double P95Ms, double P99Ms, double P999Ms, double MaxMs)
{
    public static LatencySummary Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);
}
