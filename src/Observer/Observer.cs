using Microsoft.Extensions.Logging;
using Constellation.Core.Plans;

namespace Constellation.Observer;

/// <summary>A sampler runs beside the load until cancelled; faults leave gaps in the recorder, they never throw out.</summary>
public interface ISampler
{
    string Name { get; }

    Task RunAsync(ObservationRecorder recorder, CancellationToken stop);
}

/// <summary>A sampler that collects after the fact (e.g. Prometheus range queries over the observed window).</summary>
public interface IWindowSampler
{
    string Name { get; }

    Task CollectAsync(ObservationRecorder recorder, DateTimeOffset fromUtc, DateTimeOffset toUtc, CancellationToken ct);
}

/// <summary>What the run knows that the observer needs: where the targets are, which local processes to sample.</summary>
public sealed record ObserverContext
{
    public IReadOnlyDictionary<string, Uri> TargetUrls { get; init; } = new Dictionary<string, Uri>();

    /// <summary>Targets whose TLS certificate is accepted unchecked (their insecureSkipTlsVerify).</summary>
    public IReadOnlySet<string> SkipTlsVerify { get; init; } = new HashSet<string>();

    /// <summary>Local processes by display name (e.g. "spin", "generator") and PID.</summary>
    public IReadOnlyDictionary<string, int> Processes { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Runs the plan's samplers beside the load: <see cref="Start"/> before the load (the baseline), <see cref="StopAsync"/>
/// after it (and after the cooldown). Nothing a sampler meets stops the run.
/// </summary>
public sealed class RunObserver : IAsyncDisposable
{
    private readonly ObservationRecorder _recorder;
    private readonly IReadOnlyList<ISampler> _samplers;
    private readonly IReadOnlyList<IWindowSampler> _windowSamplers;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];

    public RunObserver(IReadOnlyList<ISampler> samplers, IReadOnlyList<IWindowSampler> windowSamplers, TimeProvider time, ILogger log)
    {
        _samplers = samplers;
        _windowSamplers = windowSamplers;
        _time = time;
        _log = log;
        _recorder = new ObservationRecorder(time);
    }

    public ObservationRecorder Recorder => _recorder;

    /// <summary>How long a sampler that collects after the load (Prometheus) may take in all, retries included. Default: 60s.</summary>
    public TimeSpan WindowSamplerDeadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The samplers a plan asks for.</summary>
    public static RunObserver FromSpec(ObserveSpec spec, ObserverContext context, TimeProvider time, ILogger log)
    {
        var samplers = new List<ISampler>();
        var window = new List<IWindowSampler>();
        if (spec.Local is { } local)
        {
            samplers.Add(new LocalProcessSampler(local.Interval, context.Processes, time));
        }

        foreach (var probe in spec.Probes)
        {
            if (context.TargetUrls.TryGetValue(probe.Target, out var baseUrl))
            {
                samplers.Add(new ProbeSampler(probe, baseUrl, time, context.SkipTlsVerify.Contains(probe.Target)));
            }
        }

        if (spec.Kubernetes is { } k8s)
        {
            samplers.Add(new KubernetesSampler(k8s, KubernetesSampler.ConfigFrom(k8s), time, log));
        }

        if (spec.Prometheus is { } prom)
        {
            window.Add(new PrometheusSampler(prom));
        }

        return new RunObserver(samplers, window, time, log);
    }

    public void Start()
    {
        foreach (var s in _samplers)
        {
            _recorder.Register(s.Name, s.GetType().Name);
            _running.Add(Task.Run(() => RunOneAsync(s)));
        }
    }

    /// <summary>Stops the samplers, runs the window samplers over the observed window, and returns everything on the run timeline.</summary>
    public async Task<ObservedRun> StopAsync(DateTimeOffset runStartUtc, CancellationToken ct)
    {
        var endUtc = _time.GetUtcNow();
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running).ConfigureAwait(false);
        _running.Clear();
        foreach (var w in _windowSamplers)
        {
            _recorder.Register(w.Name, w.GetType().Name);

            // Every outside call has a deadline: a server that never answers costs the run a note, never its end.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(WindowSamplerDeadline);
            try
            {
                await w.CollectAsync(_recorder, _recorder.OriginUtc, endUtc, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var reason = deadline.IsCancellationRequested ? $"no answer within {Core.Text.Durations.Format(WindowSamplerDeadline)}" : e.Message;
                _recorder.Count(w.Name, 0, 1);
                _recorder.Note(w.Name, $"failed: {reason}");
                _recorder.AddGap(w.Name, 0, reason); // it saw nothing of the window
                _log.WindowSamplerFailed(w.Name, reason);
            }
        }

        return _recorder.Build(runStartUtc);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunOneAsync(ISampler sampler)
    {
        try
        {
            await sampler.RunAsync(_recorder, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A sampler bug must not cost the run: note it, the load goes on.
            _recorder.OpenGap(sampler.Name, $"sampler failed: {e.GetType().Name}: {e.Message}");
            _recorder.Count(sampler.Name, 0, 1);
            _log.SamplerStopped(sampler.Name, e.Message);
        }
    }
}
