namespace Constellation.Runs.Engine;

/// <summary>CPU use of this process and of the whole machine, sampled as deltas between calls.</summary>
public sealed class SystemCpu
{
    private TimeSpan _lastProcess = Environment.CpuUsage.TotalTime;
    private (long Busy, long Total)? _lastMachine = ReadProcStat();

    /// <summary>Process CPU as a percentage of all cores, and machine CPU as a percentage (NaN where /proc/stat is absent).</summary>
    public (double Process, double Machine) Sample(TimeSpan wall)
    {
        var now = Environment.CpuUsage.TotalTime;
        double process = wall <= TimeSpan.Zero ? 0 : (now - _lastProcess).TotalSeconds / (wall.TotalSeconds * Environment.ProcessorCount) * 100;
        _lastProcess = now;

        double machine = double.NaN;
        var stat = ReadProcStat();
        if (stat is { } s && _lastMachine is { } l && s.Total > l.Total)
        {
            machine = (s.Busy - l.Busy) * 100.0 / (s.Total - l.Total);
        }

        _lastMachine = stat;
        return (Math.Round(Math.Clamp(process, 0, 100), 1), double.IsNaN(machine) ? machine : Math.Round(machine, 1));
    }

    private static (long Busy, long Total)? ReadProcStat()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var line = reader.ReadLine();
            if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                return null;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long total = 0;
            for (int i = 1; i < parts.Length; i++)
            {
                total += long.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture);
            }

            long idle = long.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture) + (parts.Length > 5 ? long.Parse(parts[5], System.Globalization.CultureInfo.InvariantCulture) : 0);
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
