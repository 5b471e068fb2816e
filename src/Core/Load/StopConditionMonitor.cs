using Constellation.Core.Results;
using HdrHistogram;

namespace Constellation.Core.Load;

/// <summary>
/// Follows one scenario's ramp-to-fail conditions second by second over a sliding window and says when one
/// holds: the engine feeds it what it measured, and a distributed run's coordinator feeds it the agents' merged
/// seconds, so a breaking point is always judged on every request of the run.
/// </summary>
public sealed class StopConditionMonitor
{
    private readonly IReadOnlyList<StopCondition> _conditions;
    private readonly LoadCurve _curve;
    private readonly string _unit;
    private readonly int _maxWindow;
    private readonly Queue<(SecondSample Sample, LongHistogram Latency)> _window = new();
    private readonly Queue<LongHistogram> _free = new();
    private readonly LongHistogram _merged = Histograms.Create();
    private long _peakOk; // the most successful answers in any one second so far: all the breaking point needs of the past

    public StopConditionMonitor(IReadOnlyList<StopCondition> conditions, LoadCurve curve, string unit)
    {
        _conditions = conditions;
        _curve = curve;
        _unit = unit;
        _maxWindow = conditions.Count == 0 ? 0 : (int)conditions.Max(c => c.Window.TotalSeconds);
    }

    /// <summary>The breaking point, once a condition held.</summary>
    public BreakingPoint? BreakingPoint { get; private set; }

    /// <summary>The scenario second in which a condition held.</summary>
    public int? StopSecond { get; private set; }

    /// <summary>
    /// Feeds the scenario's next second (<paramref name="latency"/>: its latency histogram, copied). Returns the
    /// breaking point the first time a condition holds, otherwise null.
    /// </summary>
    public BreakingPoint? Observe(int second, SecondSample sample, HistogramBase? latency, DateTimeOffset nowUtc)
    {
        if (_maxWindow == 0 || BreakingPoint is not null)
        {
            return null;
        }

        _peakOk = Math.Max(_peakOk, sample.Outcomes.Ok);
        var copy = _free.Count > 0 ? _free.Dequeue() : Histograms.Create();
        copy.Reset();
        if (latency is not null)
        {
            copy.Add(latency);
        }

        _window.Enqueue((sample, copy));
        while (_window.Count > _maxWindow)
        {
            _free.Enqueue(_window.Dequeue().Latency);
        }

        foreach (var condition in _conditions)
        {
            int window = (int)condition.Window.TotalSeconds;
            if (_window.Count < window)
            {
                continue;
            }

            var recent = _window.Skip(_window.Count - window).ToList();
            var stats = new WindowStats(
                Started: recent.Sum(r => r.Sample.Started),
                Completed: recent.Sum(r => r.Sample.Outcomes.Completed),
                Errors: recent.Sum(r => r.Sample.Outcomes.Errors),
                Dropped: recent.Sum(r => r.Sample.Outcomes.Dropped),
                Latency: condition.Metric is StopMetric.Percentile or StopMetric.Mean ? Histograms.MergeInto(_merged, recent.Select(r => (HistogramBase)r.Latency)) : null);
            if (condition.Observe(stats) is { } observed && condition.Holds(observed))
            {
                BreakingPoint = BreakingPoints.Derive(condition, observed, _curve, _unit, TimeSpan.FromSeconds(second + 1), nowUtc, _peakOk);
                StopSecond = second;
                return BreakingPoint;
            }
        }

        return null;
    }
}
