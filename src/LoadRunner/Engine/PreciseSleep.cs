using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Constellation.LoadRunner.Engine;

/// <summary>
/// Sleeps the calling (dedicated) thread until a Stopwatch timestamp with ~0.1 ms precision. On Linux this is
/// clock_nanosleep on CLOCK_MONOTONIC, the clock Stopwatch reads; handle waits and Task.Delay overshoot by
/// 0.1–4 ms here, which would either make the pacer late or force it to burn a core spinning.
/// </summary>
internal static partial class PreciseSleep
{
    private const int ClockMonotonic = 1;
    private const int TimerAbsTime = 1;

    /// <summary>True where <see cref="Until"/> can sleep on the Stopwatch clock itself.</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000 && Probe();

    /// <summary>Sleeps until the Stopwatch timestamp (may return early on a signal; callers loop).</summary>
    public static void Until(long stopwatchTimestamp)
    {
        var ts = new Timespec { Seconds = stopwatchTimestamp / 1_000_000_000, Nanoseconds = stopwatchTimestamp % 1_000_000_000 };
        _ = ClockNanosleep(ClockMonotonic, TimerAbsTime, in ts, IntPtr.Zero);
    }

    private static bool Probe()
    {
        try
        {
            Until(Stopwatch.GetTimestamp());
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clockId, int flags, in Timespec request, IntPtr remain);
}
