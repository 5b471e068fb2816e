namespace Constellation.Tests;

/// <summary>
/// The test oracle: how many threads JMeter runs at time t, computed the way JMeter and its plug-ins schedule each
/// thread (ThreadGroup, jp@gc SteppingThreadGroup.scheduleThread, bzm ConcurrencyThreadGroup's planned
/// concurrency) — independently of the importer, which describes the same schedule as stages.
/// </summary>
internal static class JmeterSchedule
{
    /// <summary>Per-thread start and end in seconds.</summary>
    public sealed record Threads(IReadOnlyList<(double Start, double End)> Each)
    {
        public int At(double t) => Each.Count(x => x.Start <= t && t < x.End);

        public double End => Each.Max(x => x.End);
    }

    /// <summary>ThreadGroup with the scheduler: thread i starts at delay + i·round(ramp/N), all end at delay + duration.</summary>
    public static Threads ThreadGroup(int threads, double ramp, double duration, double delay)
    {
        double perThread = Math.Round(ramp * 1000 / threads) / 1000;
        return new([.. Enumerable.Range(0, threads).Select(i => (delay + (i * perThread), delay + duration))]);
    }

    /// <summary>SteppingThreadGroup.scheduleThread, in seconds.</summary>
    public static Threads Stepping(int threads, double delay, int inCount, int burst, double inPeriod, int outCount, double outPeriod, double flight, double rampUp)
    {
        if (inCount == 0)
        {
            inCount = threads;
        }

        if (outCount == 0)
        {
            outCount = threads;
        }

        int inBurst = Math.Min(burst, threads);
        if (inBurst <= 0)
        {
            inBurst = inCount;
        }

        var result = new List<(double, double)>();
        for (int n = 0; n < threads; n++)
        {
            int bucket = n < inBurst ? 0 : 1 + ((n - inBurst) / inCount);
            int bucketThreads = n < inBurst ? inBurst : inCount;
            double ascent = delay;
            double additionalRampUp = rampUp / bucketThreads;
            double iteration = inPeriod + rampUp;
            int iterations = threads < inBurst ? 1 : (int)Math.Ceiling((double)(threads - inBurst) / inCount);
            int lastCount = (threads - inBurst) % inCount;
            if (lastCount == 0)
            {
                lastCount = inCount;
            }

            double descent = ascent + (iterations * iteration) + (rampUp / inCount * lastCount) + flight;
            double bucketStart = ascent + (bucket * iteration);
            int position = n < inBurst ? n : (n - inBurst) % inCount;
            result.Add((bucketStart + (position * additionalRampUp), descent + (outPeriod * Math.Floor((double)n / outCount))));
        }

        return new(result);
    }

    /// <summary>ConcurrencyThreadGroup: the planned concurrency at t (steps, or a rounded linear ramp), until ramp + hold.</summary>
    public static Func<double, int> Concurrency(int target, double rampUp, int steps, double hold) => t =>
    {
        if (t < 0 || t >= rampUp + hold)
        {
            return 0;
        }

        if (rampUp == 0 || t > rampUp)
        {
            return target;
        }

        if (steps > 0)
        {
            double stepSize = target / (double)steps;
            double stepLength = rampUp / steps;
            return (int)Math.Round(stepSize * (Math.Floor(t / stepLength) + 1), MidpointRounding.AwayFromZero);
        }

        return (int)Math.Round(target / rampUp * t);
    };

    /// <summary>UltimateThreadGroup.scheduleThread: per row, thread k of N starts at delay + ⌊startup·k/N⌋ and ends at delay + startup + hold + ⌊shutdown·k/N⌋.</summary>
    public static Threads Ultimate(params (int Threads, double Delay, double Startup, double Hold, double Shutdown)[] rows) =>
        new([.. rows.SelectMany(r => Enumerable.Range(1, r.Threads).Select(k => (
            r.Delay + (Math.Floor(1000 * r.Startup * k / r.Threads) / 1000),
            r.Delay + r.Startup + r.Hold + (Math.Floor(1000 * r.Shutdown * k / r.Threads) / 1000))))]);

    /// <summary>ArrivalsThreadStarter.getCurrentRate: arrivals per second at t (steps, or linear), until ramp + hold; -1 after.</summary>
    public static Func<double, double> Arrivals(double rate, double rampUp, int steps, double hold) => t =>
    {
        if (t >= rampUp + hold)
        {
            return -1;
        }

        if (rampUp == 0 || t > rampUp)
        {
            return rate;
        }

        return steps > 0 ? rate / steps * (Math.Floor(t / (rampUp / steps)) + 1) : rate / rampUp * t;
    };
}
