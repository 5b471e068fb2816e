using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Constellation.Observer.Kubernetes;

/// <summary>
/// One kind of object followed for the whole run: list once, then watch from the list's resourceVersion. A watch
/// that ends (the server's timeout, a cut connection) resumes from the last version seen; 410 Gone lists again; a
/// watch that stays silent past its timeout is abandoned and resumed. API faults leave a marked gap and are retried
/// through a Polly pipeline (exponential backoff with jitter from 1 s to 30 s, for ever: nothing here stops the run);
/// a 401 first rebuilds the client (expired credentials). Something unexpected is logged and retried after 30 s.
/// </summary>
internal sealed class ListWatch<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly string _sampler;
    private readonly string _what;
    private readonly KubernetesConnection _connection;
    private readonly ObservationRecorder _recorder;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ResiliencePipeline _retry;

    public ListWatch(string sampler, string what, KubernetesConnection connection, ObservationRecorder recorder, TimeProvider time, ILogger log)
    {
        _sampler = sampler;
        _what = what;
        _connection = connection;
        _recorder = recorder;
        _time = time;
        _log = log;
        _retry = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = MaxBackoff,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<WatchFault>(f => f.InnerException is not OutOfMemoryException),
                DelayGenerator = a => new ValueTask<TimeSpan?>(a.Outcome.Exception?.InnerException is { } e && KubernetesConnection.IsApiFault(e) ? null : MaxBackoff),
                OnRetry = a =>
                {
                    OnFault(a.Outcome.Exception!);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The list: its items and resourceVersion.</summary>
    public required Func<IKubernetes, CancellationToken, Task<(IList<T> Items, string? Version)>> List { get; init; }

    /// <summary>The watch from a resourceVersion; faults in the stream go to the callback.</summary>
    public required Func<IKubernetes, string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> Watch { get; init; }

    /// <summary>What a (re)list found.</summary>
    public required Action<IList<T>> OnList { get; init; }

    /// <summary>One change.</summary>
    public required Action<WatchEventType, T> OnEvent { get; init; }

    /// <summary>How long the server keeps one watch open before we open the next (it may close earlier).</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;

    private string? _version; // where the next watch resumes; null: list first

    private string GapKey => $"{_sampler} {_what}";

    /// <summary>Follows the objects until <paramref name="stop"/>.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _retry.ExecuteAsync(async ct => await WatchOnceAsync(ct).ConfigureAwait(false), stop).ConfigureAwait(false);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return; // stopping: whatever the cut-off request threw (a cancelled stream's IOException too) is not a fault
            }
        }
    }

    /// <summary>Lists when there is no version to resume from, then follows one watch to its end (a fault: <see cref="WatchFault"/>).</summary>
    private async Task WatchOnceAsync(CancellationToken stop)
    {
        var client = _connection.Client;
        try
        {
            if (_version is null)
            {
                var (items, listVersion) = await List(client, stop).ConfigureAwait(false);
                OnList(items);
                _version = listVersion ?? string.Empty;
                _recorder.Count(_sampler, Math.Max(1, items.Count));
            }

            _recorder.CloseGap(GapKey);
            Exception? streamError = null;
            var opened = _time.GetTimestamp();
            int seen = 0;

            // A connection can die without a close: never wait on one watch longer than the server was asked to keep it.
            using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            watchCts.CancelAfter(TimeSpan.FromSeconds(WatchTimeoutSeconds + 30));
            try
            {
                await foreach (var (type, obj) in Watch(client, _version, e => streamError ??= e, watchCts.Token).ConfigureAwait(false))
                {
                    _version = obj.Metadata?.ResourceVersion ?? _version;
                    seen++;
                    if (type is WatchEventType.Bookmark or WatchEventType.Error)
                    {
                        continue;
                    }

                    OnEvent(type, obj);
                    _recorder.Count(_sampler);
                }
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                streamError ??= new TimeoutException("the watch went silent past its timeout");
            }

            if (streamError is KubernetesException { Status.Code: 410 })
            {
                _recorder.Note(_sampler, $"{_what}: 410 Gone, listed again");
                _version = null;
                return;
            }

            _recorder.Note(_sampler, streamError is null ? $"{_what}: watch closed, resumed" : $"{_what}: watch failed ({KubernetesConnection.Describe(streamError)}), resumed");
            if (seen == 0 && _time.GetElapsedTime(opened) < TimeSpan.FromSeconds(1))
            {
                // Closed at once with nothing in it: do not spin on a server that does that.
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stop).ConfigureAwait(false);
            }
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
        {
            _recorder.Note(_sampler, $"{_what}: 410 Gone, listed again");
            _version = null;
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            throw new WatchFault(e, client);
        }
    }

    private void OnFault(Exception fault)
    {
        var (e, client) = fault is WatchFault w ? (w.InnerException!, w.Client) : (fault, null);
        _recorder.Count(_sampler, 0, 1);
        if (KubernetesConnection.IsApiFault(e))
        {
            _recorder.OpenGap(GapKey, $"{_what}: {KubernetesConnection.Describe(e)}");
            if (e is HttpOperationException { Response.StatusCode: HttpStatusCode.Unauthorized })
            {
                // Expired credentials: a new client reads the kubeconfig again (and runs its exec plugin).
                _connection.TryConnect(_recorder, _sampler, client);
            }
        }
        else
        {
            // Not an API fault we know: still not a reason to stop watching. Marked, logged, retried.
            _recorder.OpenGap(GapKey, $"{_what}: unexpected {e.GetType().Name}: {e.Message}");
            _log.KubernetesUnexpected(_what, e);
        }
    }

    /// <summary>A fault of one attempt, with the client it used (a 401 replaces exactly that one).</summary>
    private sealed class WatchFault(Exception inner, IKubernetes client) : Exception(inner.Message, inner)
    {
        public IKubernetes Client { get; } = client;
    }
}
