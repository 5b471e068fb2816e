using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Microsoft.Extensions.Logging;

namespace Constellation.Runs;

/// <summary>
/// Consumes a running test, second by second (the shape of k6's <c>output.Output</c>): progress, live metrics, the
/// live gate, the ramp-to-fail stop conditions, the journal and the service's state are all listeners of one run.
/// Calls come in order from one thread at a time; <see cref="OnSecond"/> must be quick.
/// </summary>
public interface IRunListener
{
    /// <summary>The load is about to start at <see cref="RunStart.LoadStartUtc"/>; <paramref name="control"/> can stop it.</summary>
    void OnStart(RunStart start, IRunControl control)
    {
    }

    /// <summary>A second of the run just completed (every agent's part merged, in a distributed run).</summary>
    void OnSecond(RunSecond second);

    /// <summary>A scenario or the whole run was told to stop (a breaking point, an abortOnFail threshold).</summary>
    void OnStop(RunStop stop)
    {
    }

    /// <summary>The load is over.</summary>
    void OnEnd(RunEnd end)
    {
    }
}

/// <summary>Lets a listener stop part or all of the load (k6's test-run-stop hook).</summary>
public interface IRunControl
{
    /// <summary>Stops sending a scenario's requests from now on: its stop condition held in <paramref name="second"/>.</summary>
    void StopScenario(string scenario, int second, BreakingPoint? breakingPoint);

    /// <summary>Stops the whole run as Ctrl+C would, keeping what was measured.</summary>
    void StopRun(string reason);
}

/// <summary>Sends a run's load: the local engine, or N agents.</summary>
public interface IRunExecutor
{
    /// <summary>How the load is sent: "local", or the agents' mode.</summary>
    string Mode { get; }

    /// <summary>
    /// Sends the scenarios' load, feeding <paramref name="listener"/> every second, until every scenario ended.
    /// <paramref name="cancel"/> stops sending (in-flight requests finish); <paramref name="abort"/> cuts them off.
    /// </summary>
    Task<RunEnd> ExecuteAsync(IReadOnlyList<ResolvedScenario> scenarios, IRunListener listener, CancellationToken cancel, CancellationToken abort);

    /// <summary>
    /// Stops a scenario from now on: its stop condition held in <paramref name="second"/>; <paramref name="label"/>
    /// is what progress shows for it (e.g. "broke at 47.3 req/s").
    /// </summary>
    void StopScenario(string scenario, int second, string label);

    /// <summary>Stops everything, as Ctrl+C would.</summary>
    void StopRun(string reason);
}

/// <summary>When the load starts and what runs.</summary>
public sealed record RunStart(DateTimeOffset LoadStartUtc, IReadOnlyList<ResolvedScenario> Scenarios);

/// <summary>One scenario's sample of one run second, with the scenario's own second number.</summary>
public sealed record ScenarioSecond(string Scenario, int Second, SecondSample Sample);

/// <summary>One second of the run: every running scenario's sample, the generator's health and a progress view.</summary>
public sealed record RunSecond(int Second, IReadOnlyList<ScenarioSecond> Scenarios, GeneratorSecond? Generator, EngineProgress? Progress)
{
    /// <summary>
    /// Each request's own second in scenarios of several requests (<see cref="ScenarioSecond.Scenario"/> is its
    /// <see cref="Core.Plans.RequestLabels.Key"/>); already counted in its scenario's, so never summed with them.
    /// </summary>
    public IReadOnlyList<ScenarioSecond> Requests { get; init; } = [];
}

/// <summary>A stop: a scenario's (with its breaking point, if it broke) or the whole run's (<see cref="Scenario"/> null).</summary>
public sealed record RunStop(int Second, string? Scenario, string Reason)
{
    public BreakingPoint? BreakingPoint { get; init; }
}

/// <summary>How the load ended.</summary>
public sealed record RunEnd
{
    public required DateTimeOffset LoadStartUtc { get; init; }
    public required DateTimeOffset EndedUtc { get; init; }

    /// <summary>Stopped by Ctrl+C / SIGTERM (or the service's cancel).</summary>
    public bool Cancelled { get; init; }

    /// <summary>Why the run was stopped early by a listener (an abortOnFail threshold), if it was.</summary>
    public string? AbortedBy { get; init; }

    public required IReadOnlyList<ScenarioEnd> Scenarios { get; init; }

    /// <summary>The agents of a distributed run; null for a run on one process.</summary>
    public Distribution? Distribution { get; init; }

    /// <summary>What the agents said of their own generator health (a distributed run), on top of the merged seconds.</summary>
    public IReadOnlyList<string> GeneratorWarnings { get; init; } = [];

    public bool GeneratorBottleneck { get; init; }
}

/// <summary>How one scenario ended: completed, stopped (its stop condition held), cancelled or aborted.</summary>
public sealed record ScenarioEnd(string Name, double StartOffsetSeconds, double DurationSeconds, EndReason EndReason)
{
    /// <summary>Failed checks by their named reason (an extractor that found nothing).</summary>
    public IReadOnlyDictionary<string, long> Failures { get; init; } = new Dictionary<string, long>();
}

/// <summary>
/// Every listener of a run as one: it fans each call out in order, and stands between the listeners and the executor
/// so that a stop one listener asks for reaches the executor and every listener. A failing listener is logged and
/// skipped for that call; it never costs the run.
/// </summary>
public sealed class RunListeners(IEnumerable<IRunListener> listeners, ILogger log) : IRunListener, IRunControl
{
    private readonly IRunListener[] _listeners = [.. listeners];
    private readonly HashSet<string> _stopped = new(StringComparer.Ordinal);
    private IRunControl? _executor;
    private bool _runStopped;

    public void OnStart(RunStart start, IRunControl control)
    {
        _executor = control;
        Each(l => l.OnStart(start, this));
    }

    public void OnSecond(RunSecond second) => Each(l => l.OnSecond(second));

    public void OnStop(RunStop stop) => Each(l => l.OnStop(stop));

    public void OnEnd(RunEnd end) => Each(l => l.OnEnd(end));

    public void StopScenario(string scenario, int second, BreakingPoint? breakingPoint)
    {
        if (_runStopped || !_stopped.Add(scenario))
        {
            return;
        }

        _executor?.StopScenario(scenario, second, breakingPoint);
        OnStop(new RunStop(second, scenario, breakingPoint?.Condition ?? "stopped") { BreakingPoint = breakingPoint });
    }

    public void StopRun(string reason)
    {
        if (_runStopped)
        {
            return;
        }

        _runStopped = true;
        _executor?.StopRun(reason);
        OnStop(new RunStop(-1, null, reason));
    }

    private void Each(Action<IRunListener> call)
    {
        foreach (var l in _listeners)
        {
            try
            {
                call(l);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException)
            {
                log.ListenerFailed(l.GetType().Name, e.Message);
            }
        }
    }
}

/// <summary>An executor as the listeners' control (a stop reaches it; the breaking point is the listeners' business).</summary>
internal sealed class ExecutorControl(IRunExecutor executor) : IRunControl
{
    public void StopScenario(string scenario, int second, BreakingPoint? breakingPoint) =>
        executor.StopScenario(scenario, second, breakingPoint is { } bp ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"broke at {bp.OfferedAtFailure:0.#} {bp.Unit}") : "stopped");

    public void StopRun(string reason) => executor.StopRun(reason);
}
