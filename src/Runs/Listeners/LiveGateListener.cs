using Constellation.Core.Gate;
using Constellation.Core.Plans;

namespace Constellation.Runs.Listeners;

/// <summary>The live gate: thresholds marked abortOnFail, judged every second; the first one lost stops the run.</summary>
public sealed class LiveGateListener(Plan plan) : IRunListener
{
    private readonly LiveGate _gate = new(plan);
    private IRunControl? _control;
    private bool _stopped;

    /// <summary>True when the plan has no abortOnFail threshold (the listener can be left out).</summary>
    public bool IsEmpty => _gate.IsEmpty;

    public void OnStart(RunStart start, IRunControl control) => _control = control;

    public void OnSecond(RunSecond second)
    {
        if (_stopped || _gate.IsEmpty)
        {
            return;
        }

        if (_gate.Observe(second.Second, [.. second.Scenarios.Select(s => (s.Scenario, s.Second, s.Sample))]) is { } reason)
        {
            _stopped = true;
            _control?.StopRun(reason);
        }
    }
}
