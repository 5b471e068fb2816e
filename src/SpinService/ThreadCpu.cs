using System.Runtime.InteropServices;

namespace Constellation.SpinService;

/// <summary>The calling thread's CPU time (Linux: clock_gettime(CLOCK_THREAD_CPUTIME_ID)); null elsewhere.</summary>
internal static partial class ThreadCpu
{
    private const int ClockThreadCpuTimeId = 3;
    private static readonly bool Supported = OperatingSystem.IsLinux();

    public static TimeSpan? Now()
    {
        if (!Supported || ClockGetTime(ClockThreadCpuTimeId, out var ts) != 0)
        {
            return null;
        }

        return TimeSpan.FromTicks((ts.Seconds * TimeSpan.TicksPerSecond) + (ts.Nanoseconds / 100));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out Timespec value);
}
