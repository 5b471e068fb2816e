using Constellation.Runs.Engine;

namespace Constellation.Runs.Listeners;

/// <summary>A progress callback as a listener (the CLI's progress view and live metrics, the engine's convenience API).</summary>
public sealed class CallbackListener(Action<EngineProgress> progress) : IRunListener
{
    public void OnSecond(RunSecond second)
    {
        if (second.Progress is { } p)
        {
            progress(p);
        }
    }
}
