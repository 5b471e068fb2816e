using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Constellation.Runs.Engine;

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

    /// <summary>
    /// Waits until the timestamp without spinning: a cancellable handle wait while far away, then one sleep on the
    /// monotonic clock to the timestamp itself. The kernel wakes the thread a little late (its timer slack, ~50 µs
    /// by default) — the open model keeps each arrival's intended time for its latency, so lateness costs no
    /// accuracy, while a spin to be punctual would burn a core. Returns false if the stop came first.
    /// </summary>
    public static bool WaitUntil(TimeProvider time, long timestamp, CancellationToken token)
    {
        var handle = token.WaitHandle;
        double ticksPerMs = time.TimestampFrequency / 1000.0;
        bool precise = Supported && ReferenceEquals(time, TimeProvider.System);
        while (true)
        {
            if (token.IsCancellationRequested)
            {
                return false;
            }

            long remaining = timestamp - time.GetTimestamp();
            if (remaining <= 0)
            {
                return true;
            }

            double ms = remaining / ticksPerMs;
            if (ms >= 20)
            {
                handle.WaitOne((int)Math.Min(ms - 10, 50)); // stay responsive to a stop
            }
            else if (precise)
            {
                Until(timestamp);
            }
            else if (ms >= 2.0)
            {
                handle.WaitOne((int)(ms - 1.0));
            }
            else
            {
                Thread.Yield(); // another clock than the system's (tests) or no clock_nanosleep: yield until due
            }
        }
    }

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
