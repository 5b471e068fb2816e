using System.Globalization;
using Constellation.Core.Results;

namespace Constellation.Reports.Journal;

/// <summary>
/// Writes one scenario's per-second histograms in the standard HdrHistogram interval log format (version 1.3, what
/// HdrHistogram's own HistogramLogProcessor reads): a header, then per second
/// <c>StartTimestamp,Interval_Length,Interval_Max,Interval_Compressed_Histogram</c> with timestamps in seconds since
/// the load started (the BaseTime), values in µs and Interval_Max in ms.
/// </summary>
public sealed class HistogramLogWriter(string path, DateTimeOffset baseTime, string comment, bool append = false) : IDisposable
{
    private static readonly string EmptyHistogram = Histograms.Encode(Histograms.Create());
    private readonly FileStream _file = new(path, append ? FileMode.Append : FileMode.CreateNew, FileAccess.Write, FileShare.Read, 64 * 1024);
    private StreamWriter? _writer;
    private bool _headerWritten = append && new FileInfo(path).Length > 0;

    public void Append(double startSeconds, string? encoded, double maxMs)
    {
        _writer ??= new StreamWriter(_file, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        if (!_headerWritten)
        {
            _headerWritten = true;
            var epoch = baseTime.ToUnixTimeMilliseconds() / 1000.0;
            _writer.WriteLine($"#[{comment}]");
            _writer.WriteLine("#[Histogram log format version 1.3]");
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#[StartTime: {epoch:F3} (seconds since epoch), {baseTime.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}]"));
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#[BaseTime: {epoch:F3} (seconds since epoch)]"));
            _writer.WriteLine("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"");
        }

        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{startSeconds:F3},1.000,{maxMs:F3},{encoded ?? EmptyHistogram}"));
    }

    /// <summary>Hands what was written to the OS (a SIGKILL keeps it); <paramref name="durable"/> also waits for the disk.</summary>
    public void Flush(bool durable)
    {
        _writer?.Flush();
        _file.Flush(durable);
    }

    public void Dispose()
    {
        _writer?.Dispose();
        _file.Dispose();
    }
}

/// <summary>
/// Reads an interval log line by line: (start timestamp, the encoded histogram); comments, the header and a torn last
/// line are skipped. Lines are asked for in time order; a line out of order (a damaged log) is kept aside for a while
/// instead of hiding every line after it.
/// </summary>
public sealed class HistogramLogReader : IDisposable
{
    /// <summary>Most lines read ahead of the one asked for before it is taken as missing.</summary>
    private const int ReadAhead = 64;

    private readonly StreamReader? _reader;
    private readonly SortedDictionary<long, string> _ahead = [];

    public HistogramLogReader(string path) =>
        _reader = File.Exists(path) ? new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024)) : null;

    /// <summary>Whether the log file exists.</summary>
    public bool Exists => _reader is not null;

    /// <summary>The histogram logged at <paramref name="start"/> (seconds), or null when there is none; lines before it are skipped.</summary>
    public string? At(double start)
    {
        long wanted = (long)Math.Round(start * 1000);
        while (_ahead.Count > 0 && _ahead.First().Key < wanted)
        {
            _ahead.Remove(_ahead.First().Key);
        }

        if (_ahead.Remove(wanted, out var found))
        {
            return found;
        }

        while (_ahead.Count < ReadAhead && Next() is { } line)
        {
            long at = (long)Math.Round(line.Start * 1000);
            if (at == wanted)
            {
                return line.Encoded;
            }

            if (at > wanted)
            {
                _ahead.TryAdd(at, line.Encoded);
            }
        }

        return null;
    }

    public void Dispose() => _reader?.Dispose();

    private (double Start, string Encoded)? Next()
    {
        while (_reader?.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] is '#' or '"')
            {
                continue;
            }

            var parts = line.Split(',');
            if (parts.Length == 4 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var start) && double.IsFinite(start) && Math.Abs(start) < 1e12 && parts[3].Length > 0 && parts[3].Length % 4 == 0)
            {
                return (start, parts[3]);
            }
        }

        return null;
    }
}
