using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using HdrHistogram;

namespace Constellation.Core.Results;

/// <summary>
/// The counts of a histogram of <see cref="Histograms"/>' one shape, by bucket index: what rebuilding a long run's
/// record needs to add hundreds of thousands of per-second histograms cheaply. It decodes the standard compressed V2
/// encoding straight into its counts (HdrHistogram.NET allocates a whole histogram per decode) and summarises with
/// exactly HdrHistogram's semantics (value at percentile, mean of median-equivalent values, max).
/// </summary>
public sealed class HistogramCounts
{
    // The shape of Histograms.Create(): 1 µs – 1 h at 3 significant digits.
    private const int SubBucketHalfCountMagnitude = 10;
    private const int SubBucketHalfCount = 1 << SubBucketHalfCountMagnitude;
    private const int CompressedV2Cookie = 0x1c849314;
    private const int EncodingV2Cookie = 0x1c849303; // V2, with the word size in bits 4–7 (0x1c849313 as written)
    private const int HeaderBytes = 40;

    // HdrHistogram's counts length for this shape: (buckets + 1) × half the sub-buckets, with 22 buckets of 2048
    // sub-buckets covering 1 h in µs.
    private static readonly int Length = (BucketsNeeded() + 1) * SubBucketHalfCount;

    private readonly long[] _counts = new long[Length];
    private int _min = int.MaxValue;
    private int _max = -1;

    /// <summary>Values recorded.</summary>
    public long TotalCount { get; private set; }

    /// <summary>Empties it (clears only the range that was used).</summary>
    public void Reset()
    {
        if (_max >= 0)
        {
            Array.Clear(_counts, _min, _max - _min + 1);
        }

        (_min, _max, TotalCount) = (int.MaxValue, -1, 0);
    }

    /// <summary>Adds a histogram encoded as <see cref="Histograms.Encode"/> writes it (base64 compressed V2).</summary>
    public void AddEncoded(string base64)
    {
        int max = base64.Length * 3 / 4;
        var raw = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            if (!Convert.TryFromBase64String(base64, raw, out int length) || length < 8 || BinaryPrimitives.ReadInt32BigEndian(raw) != CompressedV2Cookie)
            {
                throw new InvalidDataException("not a compressed V2 HdrHistogram");
            }

            int compressed = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4));
            if (compressed < 0 || compressed > length - 8)
            {
                throw new InvalidDataException("truncated HdrHistogram payload");
            }

            using var inflated = new MemoryStream();
            using (var zlib = new ZLibStream(new MemoryStream(raw, 8, compressed), CompressionMode.Decompress))
            {
                zlib.CopyTo(inflated);
            }

            AddPayload(inflated.GetBuffer().AsSpan(0, (int)inflated.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Adds another set of counts.</summary>
    public void Add(HistogramCounts other)
    {
        for (int i = other._min; i <= other._max; i++)
        {
            if (other._counts[i] != 0)
            {
                Add(i, other._counts[i]);
            }
        }
    }

    /// <summary>Adds a histogram's recorded values.</summary>
    public void Add(HistogramBase histogram)
    {
        foreach (var v in histogram.RecordedValues())
        {
            Add(IndexOf(v.ValueIteratedTo), v.CountAddedInThisIterationStep);
        }
    }

    /// <summary>Percentiles, mean and max in milliseconds, as <see cref="Histograms.Summarise"/> computes them from a histogram.</summary>
    public LatencySummary Summarise()
    {
        if (TotalCount == 0)
        {
            return LatencySummary.Empty;
        }

        Span<double> percentiles = [50, 90, 95, 99, 99.9];
        Span<long> targets = stackalloc long[percentiles.Length];
        Span<long> values = stackalloc long[percentiles.Length];
        for (int p = 0; p < percentiles.Length; p++)
        {
            targets[p] = Math.Max(1, (long)((percentiles[p] / 100.0 * TotalCount) + 0.5));
        }

        long running = 0;
        long totalValue = 0;
        int next = 0;
        for (int i = _min; i <= _max; i++)
        {
            long c = _counts[i];
            if (c == 0)
            {
                continue;
            }

            running += c;
            long lowest = ValueFromIndex(i);
            long size = SizeOfRange(i);
            totalValue += c * (lowest + (size >> 1));
            while (next < targets.Length && running >= targets[next])
            {
                values[next++] = lowest + size - 1;
            }
        }

        long maxValue = ValueFromIndex(_max) + SizeOfRange(_max) - 1;
        return new LatencySummary(
            Count: TotalCount,
            MeanMs: Ms(totalValue * 1.0 / TotalCount),
            P50Ms: Ms(values[0]),
            P90Ms: Ms(values[1]),
            P95Ms: Ms(values[2]),
            P99Ms: Ms(values[3]),
            P999Ms: Ms(values[4]),
            MaxMs: Ms(maxValue));
    }

    /// <summary>The non-empty buckets: (highest equivalent value in µs, count), lowest first.</summary>
    public IReadOnlyList<(long ValueUs, long Count)> Buckets()
    {
        var result = new List<(long, long)>();
        for (int i = _min; i <= _max; i++)
        {
            if (_counts[i] != 0)
            {
                result.Add((ValueFromIndex(i) + SizeOfRange(i) - 1, _counts[i]));
            }
        }

        return result;
    }

    /// <summary>The counts as a histogram of the one shape (to encode or merge).</summary>
    public LongHistogram ToHistogram()
    {
        var h = Histograms.Create();
        for (int i = _min; i <= _max; i++)
        {
            if (_counts[i] != 0)
            {
                h.RecordValueWithCount(ValueFromIndex(i), _counts[i]);
            }
        }

        return h;
    }

    private void AddPayload(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderBytes || (BinaryPrimitives.ReadInt32BigEndian(data) & ~0xF0) != EncodingV2Cookie)
        {
            throw new InvalidDataException("not a V2 HdrHistogram encoding");
        }

        int payload = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
        int normalizingOffset = BinaryPrimitives.ReadInt32BigEndian(data[8..]);
        int digits = BinaryPrimitives.ReadInt32BigEndian(data[12..]);
        long lowest = BinaryPrimitives.ReadInt64BigEndian(data[16..]);
        long highest = BinaryPrimitives.ReadInt64BigEndian(data[24..]);
        if (payload < 0 || payload > data.Length - HeaderBytes)
        {
            throw new InvalidDataException("truncated HdrHistogram encoding");
        }

        if (normalizingOffset != 0 || digits != Histograms.SignificantDigits || lowest != Histograms.LowestMicros || highest != Histograms.HighestMicros)
        {
            // Another shape: the library's own decoder maps it value by value.
            var decoded = HdrHistogram.HistogramEncoding.DecodeFromByteBuffer(HdrHistogram.Utilities.ByteBuffer.Allocate(data.ToArray()), 0, null);
            Add(decoded);
            return;
        }

        var counts = data.Slice(HeaderBytes, payload);
        int index = 0;
        int at = 0;
        while (at < counts.Length)
        {
            long zigzag = ReadLeb128(counts, ref at);
            long value = (long)((ulong)zigzag >> 1) ^ -(zigzag & 1);
            if (value < 0)
            {
                index += (int)Math.Min(-value, Length);
            }
            else
            {
                if (index >= Length)
                {
                    throw new InvalidDataException("HdrHistogram counts beyond the histogram's range");
                }

                if (value > 0)
                {
                    Add(index, value);
                }

                index++;
            }
        }
    }

    private static long ReadLeb128(ReadOnlySpan<byte> data, ref int at)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (at >= data.Length)
            {
                throw new InvalidDataException("truncated HdrHistogram counts");
            }

            long b = data[at++];
            if (shift == 56)
            {
                return result | (b << 56); // the ninth byte carries 8 bits
            }

            result |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
    }

    private void Add(int index, long count)
    {
        _counts[index] += count;
        TotalCount += count;
        _min = Math.Min(_min, index);
        _max = Math.Max(_max, index);
    }

    private static long ValueFromIndex(int index)
    {
        int bucket = (index >> SubBucketHalfCountMagnitude) - 1;
        int sub = (index & (SubBucketHalfCount - 1)) + SubBucketHalfCount;
        if (bucket < 0)
        {
            sub -= SubBucketHalfCount;
            bucket = 0;
        }

        return (long)sub << bucket;
    }

    private static long SizeOfRange(int index) => 1L << Math.Max(0, (index >> SubBucketHalfCountMagnitude) - 1);

    private static int IndexOf(long value)
    {
        // HdrHistogram's counts index (unit magnitude 0, 2048 sub-buckets): bucket 53 − lzcnt(value | 2047).
        int bucket = 64 - SubBucketHalfCountMagnitude - 1 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value | ((2 * SubBucketHalfCount) - 1));
        int sub = (int)(value >> bucket);
        return ((bucket + 1) << SubBucketHalfCountMagnitude) + (sub - SubBucketHalfCount);
    }

    private static int BucketsNeeded()
    {
        long smallestUntrackable = 2L * SubBucketHalfCount;
        int buckets = 1;
        while (smallestUntrackable <= Histograms.HighestMicros)
        {
            smallestUntrackable <<= 1;
            buckets++;
        }

        return buckets;
    }

    private static double Ms(double micros) => Math.Round(micros / 1000.0, 3);
}
