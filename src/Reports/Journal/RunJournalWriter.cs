using System.Text.Json;
using Constellation.Core.Results;

namespace Constellation.Reports.Journal;

/// <summary>
/// Appends to a run's journal as the run goes: <c>journal/run.jsonl</c> (one JSON object per line) and, per scenario,
/// <c>journal/FILE.latency.hlog</c> and <c>FILE.service.hlog</c>. Every line is handed to the OS when written (a
/// SIGKILL or an OOM kill keeps it) and the files are synced to disk at least every <see cref="SyncEvery"/> (a power
/// loss keeps all but the last few seconds). A journal is written once: a run folder that has one is refused.
/// </summary>
public sealed class RunJournalWriter : IDisposable
{
    public const string FolderName = "journal";
    public const string EntriesFile = "run.jsonl";

    /// <summary>Held (an exclusive lock the kernel drops when the process dies) while a process writes the journal.</summary>
    public const string LockFile = "writer.lock";

    /// <summary>How often the journal is synced to disk. Default: 5s.</summary>
    public static readonly TimeSpan SyncEvery = TimeSpan.FromSeconds(5);

    private readonly string _folder;
    private readonly FileStream _file;
    private readonly FileStream _writerLock;
    private readonly StreamWriter _entries;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (HistogramLogWriter Latency, HistogramLogWriter Service, double Offset)> _logs = new(StringComparer.Ordinal);
    private long _lastSync;
    private bool _disposed;

    private RunJournalWriter(string folder, FileStream file, FileStream writerLock, TimeProvider time)
    {
        _folder = folder;
        _file = file;
        _writerLock = writerLock;
        _time = time;
        _entries = new StreamWriter(file, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        _lastSync = time.GetTimestamp();
    }

    /// <summary>The journal folder of a run folder.</summary>
    public static string FolderOf(string runDirectory) => Path.Combine(runDirectory, FolderName);

    /// <summary>Starts the journal of a new run in <paramref name="runDirectory"/>; fails if the folder already holds one (runs are written once).</summary>
    public static RunJournalWriter Create(string runDirectory, JournalStart start, TimeProvider time)
    {
        var folder = FolderOf(runDirectory);
        Directory.CreateDirectory(folder);
        FileStream file;
        try
        {
            file = new FileStream(Path.Combine(folder, EntriesFile), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 64 * 1024);
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, EntriesFile)))
        {
            throw new IOException($"{runDirectory} already holds a run (a journal): a run is written once, pick another run id");
        }

        // FileShare.None is an exclusive flock on Linux: while it is held the run is live; a killed process drops it.
        var writerLock = new FileStream(Path.Combine(folder, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var writer = new RunJournalWriter(folder, file, writerLock, time);
        writer.Append(start);
        return writer;
    }

    /// <summary>
    /// Reopens the journal of a run whose writer is gone (killed) to append what can still be recovered (a killed
    /// coordinator's agents' last seconds), then its end.
    /// </summary>
    public static RunJournalWriter Reopen(string runDirectory, JournalLoad load, TimeProvider time)
    {
        var folder = FolderOf(runDirectory);
        var writerLock = Hold(runDirectory);
        RepairTail(Path.Combine(folder, EntriesFile), IsEntry);
        var file = new FileStream(Path.Combine(folder, EntriesFile), FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024);
        var writer = new RunJournalWriter(folder, file, writerLock, time);
        foreach (var s in load.AllSeries)
        {
            RepairTail(Path.Combine(folder, s.File + ".latency.hlog"), _ => false);
            RepairTail(Path.Combine(folder, s.File + ".service.hlog"), _ => false);
            var latency = new HistogramLogWriter(Path.Combine(folder, s.File + ".latency.hlog"), load.LoadStartUtc, $"Constellation run journal: scenario '{s.Name}', latency from the intended start in µs", append: true);
            var service = new HistogramLogWriter(Path.Combine(folder, s.File + ".service.hlog"), load.LoadStartUtc, $"Constellation run journal: scenario '{s.Name}', service time from the actual send in µs", append: true);
            writer._logs[s.Name] = (latency, service, s.StartOffsetSeconds);
        }

        return writer;
    }

    /// <summary>
    /// Holds the journal of a run that has ended for a change (its tags): the same lock its writer held, so a change
    /// never races the run's own writer or another change. Refused while a process writes the journal.
    /// </summary>
    public static FileStream Hold(string runDirectory)
    {
        try
        {
            return new FileStream(Path.Combine(FolderOf(runDirectory), LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException))
        {
            throw new IOException($"the run in {runDirectory} is being written right now (it has not ended, or another command is changing it): try again when it is done", e);
        }
    }

    /// <summary>Appends one line to the journal of a run that has ended (its tags changed); the caller <see cref="Hold"/>s it.</summary>
    public static void AppendTo(string runDirectory, JournalEntry entry)
    {
        RepairTail(Path.Combine(FolderOf(runDirectory), EntriesFile), IsEntry);
        using var file = new FileStream(Path.Combine(FolderOf(runDirectory), EntriesFile), FileMode.Append, FileAccess.Write, FileShare.Read);
        using var writer = new StreamWriter(file, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        writer.WriteLine(JsonSerializer.Serialize(entry, JournalEntry.Options));
        writer.Flush();
        file.Flush(flushToDisk: true);
    }

    /// <summary>The load started: opens the scenarios' interval logs.</summary>
    public void Load(JournalLoad load)
    {
        lock (_lock)
        {
            foreach (var s in load.AllSeries)
            {
                var latency = new HistogramLogWriter(Path.Combine(_folder, s.File + ".latency.hlog"), load.LoadStartUtc, $"Constellation run journal: scenario '{s.Name}', latency from the intended start in µs");
                var service = new HistogramLogWriter(Path.Combine(_folder, s.File + ".service.hlog"), load.LoadStartUtc, $"Constellation run journal: scenario '{s.Name}', service time from the actual send in µs");
                _logs[s.Name] = (latency, service, s.StartOffsetSeconds);
            }

            Write(load);
            Flush(force: true);
        }
    }

    /// <summary>A second of the run: the histograms into the interval logs, then the counts into run.jsonl.</summary>
    public void Second(int runSecond, IReadOnlyList<(string Scenario, SecondSample Sample)> samples, GeneratorSecond? generator, IReadOnlyList<(string Key, SecondSample Sample)>? requests = null)
    {
        lock (_lock)
        {
            Write(new JournalSecond { Second = runSecond, Scenarios = Lines(samples), Generator = generator, Requests = requests is null ? [] : Lines(requests) });
            Flush(force: false);
        }
    }

    /// <summary>The counts of each series' second; its histograms go to the series' interval logs.</summary>
    private List<JournalSample> Lines(IReadOnlyList<(string Name, SecondSample Sample)> samples)
    {
        var lines = new List<JournalSample>(samples.Count);
        foreach (var (name, s) in samples)
        {
            if (_logs.TryGetValue(name, out var log))
            {
                log.Latency.Append(log.Offset + s.Second, s.LatencyHistogram, s.Latency.MaxMs);
                log.Service.Append(log.Offset + s.Second, s.ServiceTimeHistogram, s.ServiceTime.MaxMs);
            }

            lines.Add(JournalSample.Of(name, s));
        }

        return lines;
    }

    /// <summary>Any other line (a stop, the observer's account, the end, the gate, the stores).</summary>
    public void Append(JournalEntry entry)
    {
        lock (_lock)
        {
            Write(entry);
            Flush(force: entry is JournalEnd or JournalGate or JournalStores or JournalStart);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Flush(force: true);
            foreach (var (latency, service, _) in _logs.Values)
            {
                latency.Dispose();
                service.Dispose();
            }

            _entries.Dispose();
            _file.Dispose();
            _writerLock.Dispose();
        }
    }

    /// <summary>
    /// Makes a journal file end with a whole line before anything is appended to it: a line torn by a kill mid-write is
    /// cut off (or, if it is whole but for its line break, ended), so a new line never glues onto its bytes.
    /// </summary>
    internal static void RepairTail(string path, Func<string, bool> isWholeLine)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (f.Length == 0)
        {
            return;
        }

        f.Position = f.Length - 1;
        if (f.ReadByte() == '\n')
        {
            return;
        }

        // Find the last line break, reading backwards a block at a time.
        var block = new byte[8192];
        long lineStart = 0;
        for (long end = f.Length; end > 0;)
        {
            int n = (int)Math.Min(block.Length, end);
            end -= n;
            f.Position = end;
            f.ReadExactly(block, 0, n);
            int i = Array.LastIndexOf(block, (byte)'\n', n - 1);
            if (i >= 0)
            {
                lineStart = end + i + 1;
                break;
            }
        }

        var torn = new byte[f.Length - lineStart];
        f.Position = lineStart;
        f.ReadExactly(torn);
        if (isWholeLine(new System.Text.UTF8Encoding(false).GetString(torn)))
        {
            f.Position = f.Length;
            f.WriteByte((byte)'\n');
        }
        else
        {
            f.SetLength(lineStart);
        }

        f.Flush(flushToDisk: true);
    }

    private static bool IsEntry(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<JournalEntry>(line, JournalEntry.Options) is not null;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return false;
        }
    }

    private void Write(JournalEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _entries.WriteLine(JsonSerializer.Serialize(entry, JournalEntry.Options));
    }

    /// <summary>Every line goes to the OS at once; the disk is synced every few seconds, and at the run's milestones.</summary>
    private void Flush(bool force)
    {
        bool sync = force || _time.GetElapsedTime(_lastSync) >= SyncEvery;
        foreach (var (latency, service, _) in _logs.Values)
        {
            latency.Flush(sync);
            service.Flush(sync);
        }

        _entries.Flush();
        _file.Flush(sync);
        if (sync)
        {
            _lastSync = _time.GetTimestamp();
        }
    }
}
