using HdrHistogram;
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

    [ThreadStatic]
    private static ByteBuffer? t_encodeBuffer;

    public static LongHistogram Create() => new(LowestMicros, HighestMicros, SignificantDigits);

    /// <summary>
    /// An interval recorder that many threads may record into at once (its histograms are concurrent:
    /// a plain LongHistogram loses counts under concurrent writers), exactly mergeable with <see cref="Create"/>.
    /// </summary>
    public static Recorder CreateRecorder() => new(LowestMicros, HighestMicros, SignificantDigits, (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits));

    /// <summary>Records a value, clamped into the trackable range (a value above 1 h is recorded as 1 h).</summary>
    public static void RecordClamped(this HistogramBase histogram, long micros) =>
        histogram.RecordValue(Math.Clamp(micros, LowestMicros, HighestMicros));

    /// <summary>Compressed HdrHistogram V2 encoding, base64: the format other HdrHistogram ports read too.</summary>
    public static string Encode(HistogramBase histogram)
    {
        // The scratch buffer is as large as the counts array (large-object heap): reuse it per thread.
        int capacity = histogram.GetNeededByteBufferCapacity();
        var buffer = t_encodeBuffer is { } reused && reused.Capacity() >= capacity ? reused : (t_encodeBuffer = ByteBuffer.Allocate(capacity));
        buffer.Position = 0;
        int length = histogram.EncodeIntoCompressedByteBuffer(buffer);
        var bytes = new byte[length];
        buffer.Position = 0;
        for (int i = 0; i < length; i++)
        {
            bytes[i] = buffer.Get();
        }

        return Convert.ToBase64String(bytes);
    }

    public static LongHistogram Decode(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var decoded = HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(bytes), 0);
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
