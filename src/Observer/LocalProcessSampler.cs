using System.Globalization;
using System.Runtime.InteropServices;

namespace Constellation.Observer;

/// <summary>
/// CPU (% of one core) and resident memory of local processes, and the machine's CPU, from /proc. The
/// embedded default samples its SpinService children and the generator this way.
/// </summary>
public sealed partial class LocalProcessSampler(TimeSpan interval, IReadOnlyDictionary<string, int> processes, TimeProvider time) : ISampler
{
    public const string CpuGroup = "CPU";
    public const string MemoryGroup = "memory";
    public const string CpuUnit = "% of one core";

    private static readonly long TicksPerSecond = ClockTicks();

    public string Name => "local";

    public async Task RunAsync(ObservationRecorder recorder, CancellationToken stop)
    {
        var last = new Dictionary<string, long>(StringComparer.Ordinal);
        (long Total, long Idle)? lastMachine = null;
        double lastAt = recorder.Now;
        Sample(recorder, last, ref lastMachine, ref lastAt, record: false);
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
        {
            Sample(recorder, last, ref lastMachine, ref lastAt, record: true);
        }
    }

    /// <summary>utime + stime of a process in clock ticks, and its resident set in bytes; null when it is gone.</summary>
    public static (long CpuTicks, long RssBytes)? ReadProcess(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long utime = long.Parse(rest[11], CultureInfo.InvariantCulture), stime = long.Parse(rest[12], CultureInfo.InvariantCulture);
            long rssPages = long.Parse(rest[21], CultureInfo.InvariantCulture);
            return (utime + stime, rssPages * Environment.SystemPageSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Total and idle jiffies of the machine (first line of /proc/stat).</summary>
    public static (long Total, long Idle)? ReadMachine()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var parts = reader.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            return (parts.Take(8).Sum(), parts[3] + parts[4]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private void Sample(ObservationRecorder recorder, Dictionary<string, long> last, ref (long Total, long Idle)? lastMachine, ref double lastAt, bool record)
    {
        var now = recorder.Now;
        var elapsed = now - lastAt;
        lastAt = now;
        foreach (var (name, pid) in processes)
        {
            if (ReadProcess(pid) is not { } p)
            {
                if (record && last.Remove(name))
                {
                    recorder.Event(now, "ProcessExited", $"{name} (pid {pid}) is gone", $"process/{name}");
                }

                continue;
            }

            if (record && last.TryGetValue(name, out var before) && elapsed > 0)
            {
                recorder.Point(CpuGroup, name, CpuUnit, now, Math.Round((p.CpuTicks - before) / (double)TicksPerSecond / elapsed * 100, 1));
                recorder.Point(MemoryGroup, name, "MiB", now, Math.Round(p.RssBytes / 1048576.0, 1));
                recorder.Count(Name);
            }

            last[name] = p.CpuTicks;
        }

        if (ReadMachine() is { } m)
        {
            if (record && lastMachine is { } lm && m.Total > lm.Total)
            {
                var busy = 1 - ((m.Idle - lm.Idle) / (double)(m.Total - lm.Total));
                recorder.Point(CpuGroup, $"machine ({Environment.ProcessorCount} cores)", CpuUnit, now, Math.Round(busy * Environment.ProcessorCount * 100, 1));
            }

            lastMachine = m;
        }
    }

    /// <summary>CPU seconds a process has used so far (user + system); null when it cannot be read.</summary>
    public static double? CpuSeconds(int pid) => ReadProcess(pid) is { } p ? p.CpuTicks / (double)TicksPerSecond : null;

    private static long ClockTicks()
    {
        try
        {
            var v = Sysconf(2); // _SC_CLK_TCK
            return v > 0 ? v : 100;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long Sysconf(int name);
}
