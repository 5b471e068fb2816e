using Constellation.Core.Plans;
using Constellation.Core.Text;

namespace Constellation.Runs.Jmx;

/// <summary>
/// A thread group's schedule with the timers in its scope as a plan's load: closed (users with think time), or open
/// under an arrivals thread group or a Constant Throughput Timer.
/// </summary>
internal static class JmxLoads
{
    public static LoadSpec Build(JmxElement group, GroupLoad shape, JmxScope scope, JmxContext c, List<string> remarks)
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
            return Throughput(group, shape, scope, c, remarks, ctt, perMinute, peak);
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
    /// Under a Constant Throughput Timer the rate sets the pace: calcMode 0 ("this thread only") runs each thread at
    /// the rate, so the total follows the thread count; the other modes share the rate among the active threads, so
    /// the total is the rate while any thread runs.
    /// </summary>
    private static LoadSpec Throughput(JmxElement group, GroupLoad shape, JmxScope scope, JmxContext c, List<string> remarks, JmxElement ctt, double perMinute, double peak)
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
        var stages = new List<Stage>();
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

        var maxInFlight = (int)Math.Min(Math.Ceiling(Math.Max(1, peak)), int.MaxValue);
        remarks.Add($"maxInFlight {maxInFlight}: JMeter cannot have more requests in flight than threads");
        c.Note(ctt, $"Constant Throughput Timer ({JmxThreadGroups.Fmt(perMinute)}/min, {(calcMode == 0 ? "this thread only" : "shared by the active threads")}) becomes an open model at {JmxThreadGroups.Fmt(rate)} req/s{(calcMode == 0 ? " per user" : string.Empty)}");
        return Stages(LoadModel.Open, stages) with { MaxInFlight = maxInFlight };
    }

    /// <summary>The innermost Constant Throughput Timer in scope and its samples per minute, when it has a usable rate.</summary>
    public static (JmxElement Timer, double PerMinute)? ThroughputTimer(JmxScope scope, JmxContext c) =>
        scope.Throughput.Count > 0 && c.Double(scope.Throughput[^1], "throughput") is { } perMinute && perMinute > 0
            ? (scope.Throughput[^1], perMinute)
            : null;

    private static LoadSpec Stages(LoadModel model, IReadOnlyList<Stage> stages)
    {
        var shape = new StagesShape(0, stages);
        return new LoadSpec { Model = model, Segments = shape.Segments(), Shape = shape };
    }
}
