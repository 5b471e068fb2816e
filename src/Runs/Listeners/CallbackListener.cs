using Constellation.Runs.Engine;

namespace Constellation.Runs.Listeners;

/// <summary>A progress callback and a live check as a listener (the engine's convenience API, and simple hosts).</summary>
public sealed class CallbackListener(Action<EngineProgress>? progress, LiveCheck? liveCheck = null) : IRunListener
{
    private IRunControl? _control;
    private bool _stopped;

    public void OnStart(RunStart start, IRunControl control) => _control = control;

    public void OnSecond(RunSecond second)
    {
        if (second.Progress is { } p)
        {
            progress?.Invoke(p);
        }

        if (liveCheck is not null && !_stopped && liveCheck(second.Second, [.. second.Scenarios.Select(s => (s.Scenario, s.Second, s.Sample))]) is { } reason)
        {
            _stopped = true;
            _control?.StopRun(reason);
        }
    }
}
