using Constellation.Core.Plans;
using Constellation.Core.Text;

namespace Constellation.Runs.Jmx;

/// <summary>
/// A thread group's schedule with the timers in its scope as a plan's load: closed (users with think time), or open
/// under an arrivals thread group or a Constant Throughput Timer.
/// </summary>
internal static class JmxLoads
{
    /// <summary>
    /// Builds the load of <paramref name="group"/>, whose stages start at <paramref name="start"/> on the test's time;
    /// <paramref name="threads"/> holds every thread group's threads over that time (for a Constant Throughput
    /// Timer that shares its rate among the active threads of the whole test).
    /// </summary>
    public static LoadSpec Build(JmxElement group, GroupLoad shape, JmxScope scope, JmxContext c, List<string> remarks, TimeSpan start = default, IReadOnlyList<ThreadCurve>? threads = null)
    {
        var throughput = scope.Throughput;
        var peak = shape.Stages.Max(s => s.Value);
        if (shape.Open)
        {
            foreach (var ignored in scope.Timers.Concat(throughput).Take(1))
            {
                c.Note(ignored, "timers are left out under an arrivals thread group: its arrival rate sets the pace");
            }

            if (shape.MaxInFlight is { } limit)
            {
                remarks.Add($"maxInFlight {limit}: the thread group's concurrency limit");
            }

            return Stages(LoadModel.Open, shape.Stages) with { MaxInFlight = shape.MaxInFlight ?? 1000 };
        }

        if (throughput.Count > 0 && ThroughputTimer(scope, c) is null)
        {
            c.Unmapped(throughput[^1], "the target throughput is missing or not > 0; the thread group's threads set the load");
        }

        if (ThroughputTimer(scope, c) is var (ctt, perMinute))
        {
            return Throughput(group, shape, scope, c, remarks, ctt, perMinute, peak, start, threads ?? []);
        }

        var load = shape.Stages is [{ Duration.Ticks: 0 } jump, var hold] && hold.Value == jump.Value
            ? new LoadSpec { Model = LoadModel.Closed, Segments = [new LoadSegment(hold.Duration, hold.Value, hold.Value)], Shape = new ConstantShape(hold.Value, hold.Duration) }
            : Stages(LoadModel.Closed, shape.Stages);
        if (shape.Iterations is { } loops)
        {
            load = load with { Iterations = loops };
            remarks.Add($"iterations {loops}: JMeter's loop count");
        }

        if (scope.Timers.Count > 0)
        {
            double delay = 0, range = 0;
            foreach (var t in scope.Timers)
            {
                delay += c.Double(t, "ConstantTimer.delay") ?? 0;
                range += t.Tag == "UniformRandomTimer" ? c.Double(t, "RandomTimer.range") ?? 0 : 0;
            }

            var think = JmxContext.Span(Math.Max(0, delay) / 1000);
            var thinkMax = range > 0 ? JmxContext.Span(Math.Max(0, delay + range) / 1000) : (TimeSpan?)null;
            load = load with { ThinkTime = think, ThinkTimeMax = thinkMax };
            c.Note(scope.Timers[0], $"timers in scope become think time: {Durations.FormatExact(think)}{(thinkMax is { } max ? $" to {Durations.FormatExact(max)}" : string.Empty)} after each request (JMeter waits before it)");
        }

        return load;
    }

    /// <summary>
    /// Under a Constant Throughput Timer the rate sets the pace, as JMeter's calcMode says (its calculateDelay):
    /// 0 "this thread only" paces each thread at the rate, so the group sends threads × rate; 1 "all active threads"
    /// paces each thread at rate ÷ the active threads of the whole test, so the group sends its share of the rate
    /// (its threads ÷ all threads, as they change); 2 "all active threads in current thread group" and 4 (its shared
    /// form) send the rate from the group; 3 "all active threads (shared)" keeps one schedule for every thread whose
    /// timer is in mode 3, so the groups with such a timer share the rate by their threads.
    /// </summary>
    private static LoadSpec Throughput(JmxElement group, GroupLoad shape, JmxScope scope, JmxContext c, List<string> remarks, JmxElement ctt, double perMinute, double peak, TimeSpan start, IReadOnlyList<ThreadCurve> threads)
    {
        if (scope.Throughput.Count > 1)
        {
            c.Unmapped(scope.Throughput[0], $"several Constant Throughput Timers in scope; the innermost, '{ctt.Name}', sets the rate");
        }

        int calcMode = c.Int(ctt, "calcMode") ?? 0;
        if (shape.Iterations is not null)
        {
            c.Unmapped(group, "a loop count together with a Constant Throughput Timer does not map (the rate runs for the thread group's duration)");
        }

        if (scope.Timers.Count > 0)
        {
            c.Note(scope.Timers[0], "timers are left out under the Constant Throughput Timer: the arrival rate sets the pace");
        }

        double rate = perMinute / 60;
        var self = threads.FirstOrDefault(t => t.Group == group);
        var sharing = calcMode switch
        {
            1 => threads,
            3 => [.. threads.Where(t => t.CalcMode == 3)],
            _ => (IReadOnlyList<ThreadCurve>)[],
        };
        List<Stage> stages;
        string how;
        if (calcMode is 1 or 3 && self is not null && sharing.Any(t => t != self))
        {
            stages = Shared(self, sharing, rate);
            how = calcMode == 1
                ? "all active threads of the test: this group sends its threads' share of the rate as the thread groups start and stop"
                : "shared by every thread whose timer is in this mode: this group sends its threads' share among those groups";
            if (threads.Any(t => t.Open))
            {
                c.Note(ctt, "an arrivals thread group's threads are not known ahead: they are left out of the active threads the rate is shared by");
            }
        }
        else
        {
            stages = [];
            bool started = false;
            foreach (var s in shape.Stages)
            {
                if (calcMode == 0)
                {
                    stages.Add(new Stage(s.Duration, s.Value * rate, $"{s.Name} × {JmxThreadGroups.Fmt(rate)}/s"));
                    continue;
                }

                if (!started && s.Value > 0)
                {
                    stages.Add(new Stage(TimeSpan.Zero, rate, $"start {JmxThreadGroups.Fmt(rate)}/s"));
                    started = true;
                }

                stages.Add(new Stage(s.Duration, started ? rate : 0, s.Name));
            }

            how = calcMode switch
            {
                0 => "this thread only: each user at the rate",
                1 or 3 => "all active threads, and this group's are the only ones: the group sends the rate",
                _ => "all active threads in this thread group: the group sends the rate",
            };
        }

        var maxInFlight = (int)Math.Min(Math.Ceiling(Math.Max(1, peak)), int.MaxValue);
        remarks.Add($"maxInFlight {maxInFlight}: JMeter cannot have more requests in flight than threads");
        c.Note(ctt, $"Constant Throughput Timer ({JmxThreadGroups.Fmt(perMinute)}/min, calcMode {calcMode}, {how}) becomes an open model of {(calcMode == 0 ? $"{JmxThreadGroups.Fmt(rate)} req/s per user" : $"up to {JmxThreadGroups.Fmt(stages.Select(s => s.Value).DefaultIfEmpty(0).Max())} req/s")}");
        return Stages(LoadModel.Open, stages) with { MaxInFlight = maxInFlight };
    }

    /// <summary>
    /// The group's share of a rate shared by the threads of <paramref name="sharing"/>: rate × its threads ÷ theirs,
    /// from one boundary of any of their schedules to the next; while a ramp changes the share (a ratio of two lines
    /// is a curve) in steps of at most a second (at most 60 per stretch), linear between them.
    /// </summary>
    private static List<Stage> Shared(ThreadCurve self, IReadOnlyList<ThreadCurve> sharing, double rate)
    {
        const double Inside = 1e-6;
        double from = self.Start.TotalSeconds, to = from + self.Duration.TotalSeconds;
        var bounds = sharing.SelectMany(t => t.Boundaries()).Append(from).Append(to).Where(x => x >= from && x <= to).Distinct().Order().ToList();
        var cuts = new List<double> { from };
        for (int i = 0; i + 1 < bounds.Count; i++)
        {
            double a = bounds[i], b = bounds[i + 1];
            int pieces = Share(a + Inside) == Share(b - Inside) ? 1 : (int)Math.Clamp(Math.Ceiling(b - a), 1, 60);
            for (int k = 1; k <= pieces; k++)
            {
                cuts.Add(a + ((b - a) * k / pieces));
            }
        }

        double Share(double t)
        {
            double all = sharing.Sum(x => x.At(t));
            return all <= 0 ? 0 : Math.Round(rate * self.At(t) / all, 6);
        }

        var stages = new List<Stage>();
        double level = 0;
        for (int i = 0; i + 1 < cuts.Count; i++)
        {
            double a = cuts[i], b = cuts[i + 1];
            double atA = Share(a + Inside), atB = Share(b - Inside);
            if (atA != level)
            {
                stages.Add(new Stage(TimeSpan.Zero, atA));
            }

            stages.Add(new Stage(TimeSpan.FromSeconds(b - a), atB, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{self.At(b - Inside):0.#} of {sharing.Sum(x => x.At(b - Inside)):0.#} threads")));
            level = atB;
        }

        return stages;
    }

    /// <summary>The innermost Constant Throughput Timer in scope and its samples per minute, when it has a usable rate.</summary>
    public static (JmxElement Timer, double PerMinute)? ThroughputTimer(JmxScope scope, JmxContext c) =>
        scope.Throughput.Count > 0 && c.Double(scope.Throughput[^1], "throughput") is { } perMinute && perMinute > 0
            ? (scope.Throughput[^1], perMinute)
            : null;

    /// <summary>A thread group's threads over the test's time: from <see cref="Start"/>, its stages (an arrivals group's are rates, <see cref="Open"/>).</summary>
    internal sealed record ThreadCurve(JmxElement Group, TimeSpan Start, IReadOnlyList<Stage> Stages, int CalcMode, bool Open)
    {
        private readonly Core.Load.LoadCurve _curve = new(new StagesShape(0, Stages).Segments());

        public TimeSpan Duration => _curve.Duration;

        /// <summary>Threads running at <paramref name="t"/> seconds of the test (0 for an arrivals group: not known ahead).</summary>
        public double At(double t) => Open || t < Start.TotalSeconds ? 0 : _curve.ValueAt(TimeSpan.FromSeconds(t) - Start);

        /// <summary>Where its schedule changes course, in seconds of the test.</summary>
        public IEnumerable<double> Boundaries()
        {
            double t = Start.TotalSeconds;
            yield return t;
            foreach (var s in _curve.Segments)
            {
                t += s.Duration.TotalSeconds;
                yield return t;
            }
        }
    }

    private static LoadSpec Stages(LoadModel model, IReadOnlyList<Stage> stages)
    {
        var shape = new StagesShape(0, stages);
        return new LoadSpec { Model = model, Segments = shape.Segments(), Shape = shape };
    }
}
