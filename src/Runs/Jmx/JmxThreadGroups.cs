using Constellation.Core.Plans;

namespace Constellation.Runs.Jmx;

/// <summary>A thread group's load: users (closed) or, for the arrivals thread groups, arrivals per second (open).</summary>
internal sealed record GroupLoad(IReadOnlyList<Stage> Stages, TimeSpan StartAfter, int? Iterations, bool Open = false, int? MaxInFlight = null);

/// <summary>
/// The schedules of JMeter's thread groups as stages: each plug-in's own way of starting and stopping threads
/// (ThreadGroup, jp@gc Stepping and Ultimate, bzm Concurrency, Arrivals and Free-Form Arrivals).
/// </summary>
internal static class JmxThreadGroups
{
    public const string Stepping = "kg.apc.jmeter.threads.SteppingThreadGroup";
    public const string Concurrency = "com.blazemeter.jmeter.threads.concurrency.ConcurrencyThreadGroup";
    public const string Ultimate = "kg.apc.jmeter.threads.UltimateThreadGroup";
    public const string Arrivals = "com.blazemeter.jmeter.threads.arrivals.ArrivalsThreadGroup";
    public const string FreeFormArrivals = "com.blazemeter.jmeter.threads.arrivals.FreeFormArrivalsThreadGroup";

    public static readonly string[] All = ["ThreadGroup", Stepping, Concurrency, Ultimate, Arrivals, FreeFormArrivals];

    /// <summary>The group's load, or null (and listed as not converted) when its settings do not make one.</summary>
    public static GroupLoad? Read(JmxElement group, JmxContext c) => group.Tag switch
    {
        Stepping => SteppingShape(group, c),
        Concurrency => ConcurrencyShape(group, c),
        Ultimate => UltimateShape(group, c),
        Arrivals => ArrivalsShape(group, c),
        FreeFormArrivals => FreeFormArrivalsShape(group, c),
        _ => StandardShape(group, c),
    };

    /// <summary>ThreadGroup: threads started evenly over the ramp-up, after the startup delay; duration or loop count.</summary>
    private static GroupLoad? StandardShape(JmxElement g, JmxContext c)
    {
        var threads = c.Int(g, "ThreadGroup.num_threads");
        var ramp = c.Seconds(g, "ThreadGroup.ramp_time") ?? TimeSpan.Zero;
        bool scheduler = JmxContext.Bool(c.Eval(g, g.Prop("ThreadGroup.scheduler")));
        var duration = scheduler ? c.Seconds(g, "ThreadGroup.duration") : null;
        var delay = scheduler ? c.Seconds(g, "ThreadGroup.delay") ?? TimeSpan.Zero : TimeSpan.Zero;
        var loops = c.Loops(g);
        if (threads is not { } n || n < 1)
        {
            c.Unmapped(g, "the number of threads is missing or not a whole number >= 1");
            return null;
        }

        bool bounded = duration is { } d0 && d0 > TimeSpan.Zero;
        var bound = Core.Text.Durations.FormatExact(c.Options.MaxDuration);
        if (!bounded && loops is null)
        {
            c.Note(g, $"loops forever without a duration in JMeter; bounded here to {bound} (--max-duration)");
        }
        else if (!bounded)
        {
            c.Note(g, $"ends after its loop count; {bound} (--max-duration) bounds it in time");
        }

        var total = bounded ? duration!.Value : c.Options.MaxDuration;
        var stages = new List<Stage>();
        if (ramp > TimeSpan.Zero)
        {
            var rampPart = ramp < total ? ramp : total;
            var reached = ramp < total ? n : Math.Round(n * (total / ramp));
            stages.Add(new Stage(rampPart, reached, $"ramp-up to {Fmt(reached)} users"));
            if (total > ramp)
            {
                stages.Add(new Stage(total - ramp, n, "hold"));
            }
        }
        else
        {
            stages.Add(new Stage(TimeSpan.Zero, n, $"start {n} users"));
            stages.Add(new Stage(total, n, "hold"));
        }

        return new GroupLoad(stages, delay, loops);
    }

    /// <summary>jp@gc Stepping Thread Group: its schedule as the plug-in computes each thread's start and end.</summary>
    private static GroupLoad? SteppingShape(JmxElement g, JmxContext c)
    {
        var n = c.Int(g, "ThreadGroup.num_threads");
        var delay = c.Seconds(g, "Threads initial delay") ?? TimeSpan.Zero;
        var inCount = c.Int(g, "Start users count") ?? 0;
        var burst = c.Int(g, "Start users count burst") ?? 0;
        var period = c.Seconds(g, "Start users period") ?? TimeSpan.Zero;
        var outCount = c.Int(g, "Stop users count") ?? 0;
        var outPeriod = c.Seconds(g, "Stop users period") ?? TimeSpan.Zero;
        var flight = c.Seconds(g, "flighttime") ?? TimeSpan.Zero;
        var ramp = c.Seconds(g, "rampUp") ?? TimeSpan.Zero;
        if (n is not { } total || total < 1)
        {
            c.Unmapped(g, "the number of threads is missing or not a whole number >= 1");
            return null;
        }

        if (total > PlanValidator.MaxUsers)
        {
            c.Unmapped(g, $"{total} threads is more than the {PlanValidator.MaxUsers} users a scenario may have");
            return null;
        }

        inCount = inCount <= 0 ? total : inCount;
        outCount = outCount <= 0 ? total : outCount;
        int first = Math.Min(burst > 0 ? burst : inCount, total);
        var stages = new List<Stage>();
        int users = 0;
        void Add(int count, TimeSpan over, string name)
        {
            users += count;
            stages.Add(new Stage(over, users, name));
        }

        // The first bucket's threads spread over the whole ramp-up; each later thread takes rampUp / "start users count".
        Add(first, ramp, $"step 1: +{first} users");
        int step = 1;
        while (users < total)
        {
            stages.Add(new Stage(period, users, $"hold {users} users"));
            int count = Math.Min(inCount, total - users);
            step++;
            Add(count, ramp * count / inCount, $"step {step}: +{count} users");
        }

        stages.Add(new Stage(flight, users, $"hold {users} users (flight time)"));
        if (outPeriod > TimeSpan.Zero)
        {
            for (int left = total - outCount; left > 0; left -= outCount)
            {
                stages.Add(new Stage(TimeSpan.Zero, left, $"stop {outCount} users"));
                stages.Add(new Stage(outPeriod, left, $"hold {left} users"));
            }
        }

        return new GroupLoad(stages, delay, c.Loops(g));
    }

    /// <summary>bzm Concurrency Thread Group: target concurrency reached over the ramp-up (in steps or linearly), then held.</summary>
    private static GroupLoad? ConcurrencyShape(JmxElement g, JmxContext c)
    {
        var target = c.Int(g, "TargetLevel");
        double factor = c.UnitFactor(g);
        var ramp = JmxContext.Span(Math.Round((c.Double(g, "RampUp") ?? 0) * factor));
        var hold = JmxContext.Span(Math.Round((c.Double(g, "Hold") ?? 0) * factor));
        var steps = c.Int(g, "Steps") ?? 0;
        if (target is not { } level || level < 1)
        {
            c.Unmapped(g, "the target concurrency is missing or not a whole number >= 1");
            return null;
        }

        if (steps > LoadShape.MaxSteps)
        {
            c.Unmapped(g, $"{steps} steps is more than the {LoadShape.MaxSteps} a plan may have");
            return null;
        }

        if (c.Int(g, "Iterations") is > 0)
        {
            c.Note(g, "'thread iterations limit' recycles threads in JMeter (the concurrency stays); Constellation's users keep going, the load is the same");
        }

        return new GroupLoad(RampStepsHold(level, ramp, steps, hold, wholeUsers: true), TimeSpan.Zero, null);
    }

    /// <summary>
    /// jp@gc Ultimate Thread Group: rows of (threads, initial delay, startup time, hold, shutdown time) that stack.
    /// Each row starts its threads evenly over its startup time and stops them evenly over its shutdown time, so
    /// the sum of the rows is piecewise linear: stages between the rows' corners, jumps where a row has no ramp.
    /// </summary>
    private static GroupLoad? UltimateShape(JmxElement g, JmxContext c)
    {
        var rows = new List<(double Threads, double Delay, double Startup, double Hold, double Shutdown)>();
        foreach (var row in JmxElement.Collection(g.Xml, "ultimatethreadgroupdata"))
        {
            if (c.ScheduleRow(g, row, 5, "five numbers >= 0 (threads, initial delay, startup, hold, shutdown)", v => v[0] == Math.Floor(v[0]) && v.Take(5).All(x => x <= 1e8)) is not { } values)
            {
                continue;
            }

            rows.Add((values[0], values[1], values[2], values[3], values[4]));
        }

        if (rows.Count == 0 || rows.All(r => r.Threads == 0))
        {
            c.Unmapped(g, "the thread schedule has no usable row");
            return null;
        }

        // A row's threads at t, approached from the left or the right (they differ where the row jumps).
        static double At((double Threads, double Delay, double Startup, double Hold, double Shutdown) r, double t, bool fromLeft)
        {
            double top = r.Delay + r.Startup, down = top + r.Hold, end = down + r.Shutdown;
            bool Before(double x) => fromLeft ? t <= x : t < x;
            return Before(r.Delay) ? 0
                : Before(top) ? r.Threads * (t - r.Delay) / r.Startup
                : Before(down) ? r.Threads
                : Before(end) ? r.Threads * (end - t) / r.Shutdown
                : 0;
        }

        var corners = rows.SelectMany(r => new[] { r.Delay, r.Delay + r.Startup, r.Delay + r.Startup + r.Hold, r.Delay + r.Startup + r.Hold + r.Shutdown })
            .Distinct().Order().ToList();
        var start = corners[0];
        var stages = new List<Stage>();
        double previous = start;
        foreach (var t in corners)
        {
            double left = Math.Round(rows.Sum(r => At(r, t, fromLeft: true)), MidpointRounding.AwayFromZero);
            double right = Math.Round(rows.Sum(r => At(r, t, fromLeft: false)), MidpointRounding.AwayFromZero);
            if (t > previous)
            {
                stages.Add(new Stage(JmxContext.Span(t - previous), left, $"{Fmt(left)} users at {Fmt(t)}s"));
            }

            if (right != left && t < corners[^1])
            {
                stages.Add(new Stage(TimeSpan.Zero, right, $"{Fmt(right)} users from {Fmt(t)}s"));
            }

            previous = t;
        }

        return new GroupLoad(stages, JmxContext.Span(start), c.Loops(g));
    }

    /// <summary>bzm Arrivals Thread Group: a target arrival rate reached in steps or linearly over the ramp-up, then held (open model).</summary>
    private static GroupLoad? ArrivalsShape(JmxElement g, JmxContext c)
    {
        double factor = c.UnitFactor(g);
        var rate = c.Double(g, "TargetLevel") / factor;
        var ramp = JmxContext.Span(Math.Round((c.Double(g, "RampUp") ?? 0) * factor));
        var hold = JmxContext.Span(Math.Round((c.Double(g, "Hold") ?? 0) * factor));
        var steps = c.Int(g, "Steps") ?? 0;
        if (rate is not { } r || r <= 0)
        {
            c.Unmapped(g, "the target rate is missing or not > 0");
            return null;
        }

        if (steps > LoadShape.MaxSteps)
        {
            c.Unmapped(g, $"{steps} steps is more than the {LoadShape.MaxSteps} a plan may have");
            return null;
        }

        return new GroupLoad(RampStepsHold(r, ramp, steps, hold, wholeUsers: false), TimeSpan.Zero, null, Open: true, MaxInFlight: ArrivalsLimit(g, c));
    }

    /// <summary>
    /// The bzm dynamic thread groups' profile (Concurrency: users, Arrivals: req/s): the target reached over the
    /// ramp-up in equal steps (jumps at each step's start) or linearly, then held.
    /// </summary>
    private static List<Stage> RampStepsHold(double target, TimeSpan ramp, int steps, TimeSpan hold, bool wholeUsers)
    {
        string Level(double v) => wholeUsers ? $"{Fmt(v)} users" : $"{Fmt(v)}/s";
        var stages = new List<Stage>();
        if (ramp <= TimeSpan.Zero)
        {
            stages.Add(new Stage(TimeSpan.Zero, target, $"start {Level(target)}"));
        }
        else if (steps > 0)
        {
            for (int k = 0; k < steps; k++)
            {
                var level = target * (k + 1) / steps;
                level = wholeUsers ? Math.Round(level, MidpointRounding.AwayFromZero) : level;
                stages.Add(new Stage(TimeSpan.Zero, level, $"step {k + 1}: {Level(level)}"));
                stages.Add(new Stage(ramp / steps, level, $"hold {Level(level)}"));
            }
        }
        else
        {
            stages.Add(new Stage(ramp, target, $"ramp-up to {Level(target)}"));
        }

        if (hold > TimeSpan.Zero)
        {
            stages.Add(new Stage(hold, target, $"hold {Level(target)}"));
        }

        return stages;
    }

    /// <summary>bzm Free-Form Arrivals Thread Group: rows of (start rate, end rate, duration), each a linear stretch (open model).</summary>
    private static GroupLoad? FreeFormArrivalsShape(JmxElement g, JmxContext c)
    {
        double factor = c.UnitFactor(g);
        var stages = new List<Stage>();
        double previous = 0;
        foreach (var row in JmxElement.Collection(g.Xml, "Schedule"))
        {
            if (c.ScheduleRow(g, row, 3, "three numbers >= 0 (start, end, duration)") is not { } values)
            {
                continue;
            }

            double from = values[0] / factor, to = values[1] / factor;
            if (from != previous)
            {
                stages.Add(new Stage(TimeSpan.Zero, from, $"{Fmt(from)}/s"));
            }

            stages.Add(new Stage(JmxContext.Span(values[2] * factor), to, $"{Fmt(from)} → {Fmt(to)}/s"));
            previous = to;
        }

        if (stages.Count == 0)
        {
            c.Unmapped(g, "the schedule has no usable row");
            return null;
        }

        return new GroupLoad(stages, TimeSpan.Zero, null, Open: true, MaxInFlight: ArrivalsLimit(g, c));
    }

    /// <summary>The arrivals thread groups' concurrency limit, which becomes maxInFlight (noted: JMeter delays, Constellation drops).</summary>
    private static int? ArrivalsLimit(JmxElement g, JmxContext c)
    {
        if (c.Int(g, "Iterations") is > 0)
        {
            c.Note(g, "'thread iterations limit' only recycles JMeter's threads; the arrival rate is the same");
        }

        if (c.Int(g, "ConcurrencyLimit") is not { } limit || limit <= 0)
        {
            return null;
        }

        c.Note(g, $"concurrency limit {limit} becomes maxInFlight: an arrival beyond it is dropped and counted, where JMeter would start it late");
        return limit;
    }

    internal static string Fmt(double v) => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
