using Constellation.Core.Load;
using Constellation.Core.Results;

namespace Constellation.Runs.Listeners;

/// <summary>
/// Ramp-to-fail: follows each scenario's stop conditions over its seconds (every agent's part merged, in a
/// distributed run) and stops a scenario at its breaking point. Keeps only each condition's window.
/// </summary>
public sealed class StopConditionsListener(TimeProvider time) : IRunListener
{
    private readonly Dictionary<string, StopConditionMonitor> _monitors = new(StringComparer.Ordinal);
    private readonly HistogramCounts _decoded = new();
    private IRunControl? _control;

    public void OnStart(RunStart start, IRunControl control)
    {
        _control = control;
        foreach (var s in start.Scenarios.Where(s => s.Spec.StopWhen.Count > 0))
        {
            _monitors[s.Spec.Name] = new StopConditionMonitor(s.Spec.StopWhen, s.Spec.Load.Curve, s.Spec.Load.Unit);
        }
    }

    public void OnSecond(RunSecond second)
    {
        foreach (var s in second.Scenarios)
        {
            if (!_monitors.TryGetValue(s.Scenario, out var monitor) || monitor.BreakingPoint is not null)
            {
                continue;
            }

            HdrHistogram.LongHistogram? latency = null;
            if (s.Sample.LatencyHistogram is { } encoded)
            {
                _decoded.Reset();
                _decoded.AddEncoded(encoded);
                latency = _decoded.ToHistogram();
            }

            if (monitor.Observe(s.Second, s.Sample, latency, time.GetUtcNow()) is { } bp)
            {
                _control?.StopScenario(s.Scenario, s.Second, bp);
            }
        }
    }

    /// <summary>Another listener stopped the run: no breaking point can be found any more.</summary>
    public void OnStop(RunStop stop)
    {
        if (stop.Scenario is null)
        {
            _monitors.Clear();
        }
    }
}
