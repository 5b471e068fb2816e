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

    /// <summary>
    /// Asks the scheduler for a short time slice for the calling thread (Linux 6.12+'s EEVDF: a fair-class thread's
    /// sched_runtime). A thread that sleeps between short bursts then gets an early deadline and runs soon after its
    /// timer fires instead of waiting out the slice (0.75–3 ms, by core count) of whatever else runs on its core. Reads
    /// the thread's scheduling first and keeps its policy and nice value (no privilege needed); leaves a real-time or
    /// idle thread alone. True only when the kernel reports the slice back (older kernels ignore it).
    /// </summary>
    public static bool RequestShortSlice(TimeSpan slice)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        (long set, long get) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (314L, 315L),
            Architecture.Arm64 => (274L, 275L),
            _ => (-1L, -1L),
        };
        if (set < 0)
        {
            return false;
        }

        uint size = (uint)Marshal.SizeOf<SchedAttr>();
        ulong runtime = (ulong)(slice.Ticks * 100);
        try
        {
            var attr = new SchedAttr { Size = size };
            if (SchedGetAttr(get, 0, ref attr, size, 0) != 0 || attr.Policy is not (SchedOther or SchedBatch))
            {
                return false;
            }

            attr.Size = size;
            attr.Flags = 0;
            attr.Runtime = runtime;
            if (SchedSetAttr(set, 0, ref attr, 0) != 0)
            {
                return false;
            }

            var check = new SchedAttr { Size = size };
            return SchedGetAttr(get, 0, ref check, size, 0) == 0 && check.Runtime == runtime;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private const uint SchedOther = 0;
    private const uint SchedBatch = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedAttr
    {
        public uint Size;
        public uint Policy;
        public ulong Flags;
        public int Nice;
        public uint Priority;
        public ulong Runtime;
        public ulong Deadline;
        public ulong Period;
    }

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long SchedSetAttr(long number, int pid, ref SchedAttr attr, uint flags);

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long SchedGetAttr(long number, int pid, ref SchedAttr attr, uint size, uint flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clockId, int flags, in Timespec request, IntPtr remain);
}
