using System.Runtime.CompilerServices;
using System.Net.Sockets;
using Constellation.Runs.Http;

namespace Constellation.Runs.Engine;

/// <summary>Runs one request on a connection (opening one when needed) and records how it went.</summary>
public sealed class RequestExecutor
{
    private readonly HttpEndpoint _endpoint;
    private readonly ScenarioRecorder _recorder;
    private readonly ScenarioRecorder? _own;
    private readonly TimeoutWatchdog _watchdog;
    private readonly TimeProvider _time;
    private readonly long _timeoutTicks;
    private readonly double _ticksPerMicro;
    private readonly Extractors? _extractors;

    /// <summary><paramref name="own"/>: where this request's own results go as well, in a scenario of several requests.</summary>
    public RequestExecutor(HttpEndpoint endpoint, ScenarioRecorder recorder, TimeoutWatchdog watchdog, TimeProvider time, ScenarioRecorder? own = null, IReadOnlyList<Core.Plans.ExtractSpec>? extract = null)
    {
        _endpoint = endpoint;
        _recorder = recorder;
        _own = own;
        _extractors = extract is { Count: > 0 } ? new Extractors(extract) : null;
        _watchdog = watchdog;
        _time = time;
        _timeoutTicks = (long)(endpoint.Timeout.TotalSeconds * time.TimestampFrequency);
        _ticksPerMicro = time.TimestampFrequency / 1_000_000.0;
    }

    public ScenarioRecorder Recorder => _recorder;

    /// <summary>The request this executor sends.</summary>
    public HttpEndpoint Endpoint => _endpoint;

    /// <summary>Counts a request as started (for a caller that sends it itself: the open model's loop).</summary>
    public void RecordStart()
    {
        _recorder.RecordStarted();
        _own?.RecordStarted();
    }

    /// <summary>
    /// Whether a failed request is sent again on a fresh connection: only on a kept-alive connection the server closed
    /// while idle, once, as browsers do — and only if no byte of a response came back, so a request is never sent twice
    /// after the server began to answer it, nor after its timeout.
    /// </summary>
    internal static bool MayRetry(bool reused, int attempt, bool timedOut, bool responseStarted) =>
        reused && attempt == 0 && !timedOut && !responseStarted;

    /// <summary>
    /// Sends one request. Latency is measured from <paramref name="intendedTimestamp"/> (the open model's
    /// planned start) and service time from the actual send. Returns the connection to reuse, or null.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Http1Connection?> ExecuteAsync(Http1Connection? connection, long intendedTimestamp, CancellationToken abort, Session? session = null)
    {
        // A user's request: placeholders filled and the jar's cookies added; its answer feeds the jar and the extractors.
        byte[]? composed = null;
        ResponseCapture? capture = null;
        if (session is not null)
        {
            var cookie = session.Cookies?.HeaderFor(_endpoint.Url);
            if (_endpoint.Dynamic || cookie is not null)
            {
                string? missing = null;
                composed = _endpoint.Compose(session, cookie, ref missing);
                if (missing is not null)
                {
                    _recorder.RecordFailure($"{missing} had no value: sent empty"); // an earlier extractor found nothing, or no data row
                }
            }

            if (session.Cookies is not null || _extractors is not null)
            {
                capture = session.Capture;
                capture.Prepare(_extractors?.HeaderNames ?? [], _extractors?.NeedsBody ?? false);
            }
        }

        long sendTs = _time.GetTimestamp();
        RecordStart();
        for (int attempt = 0; ; attempt++)
        {
            bool reused = connection is not null;
            try
            {
                if (connection is null || connection.IsBroken)
                {
                    if (connection is not null)
                    {
                        Close(connection);
                    }

                    connection = null;
                    connection = await ConnectAsync(sendTs, abort).ConfigureAwait(false);
                }

                Volatile.Write(ref connection.DeadlineTimestamp, sendTs + _timeoutTicks);
                var result = await connection.ExchangeAsync(_endpoint, abort, composed, capture).ConfigureAwait(false);
                Volatile.Write(ref connection.DeadlineTimestamp, 0);
                long answeredTs = _time.GetTimestamp(); // the extraction below is the generator's time, not the server's
                var outcome = result.Outcome;
                if (capture is not null)
                {
                    if (capture.SetCookies.Count > 0)
                    {
                        session!.Cookies?.Store(_endpoint.Url, capture.SetCookies);
                    }

                    if (_extractors?.Apply(capture, session!.Vars) is { } failed && outcome is Outcome.Status2xx or Outcome.Status3xx)
                    {
                        // An answer without what the journey needs from it: a failed check, named by its extractor.
                        outcome = Outcome.CheckFailed;
                        _recorder.RecordFailure(failed);
                    }
                }

                Record(outcome, intendedTimestamp, sendTs, result.BytesReceived, answeredTs);
                if (connection.IsBroken)
                {
                    Close(connection);
                    return null;
                }

                return connection;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidDataException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
                bool timedOut = connection?.TimedOut ?? false;
                bool responseStarted = connection?.ResponseStarted ?? false;
                if (e is OperationCanceledException && !abort.IsCancellationRequested)
                {
                    timedOut = true; // connect timeout
                }

                if (connection is not null)
                {
                    Close(connection);
                }

                if (MayRetry(reused, attempt, timedOut, responseStarted) && !abort.IsCancellationRequested)
                {
                    connection = null;
                    continue;
                }

                // A hard stop (the second Ctrl+C) aborts in-flight requests: that is the user's doing, not the server's.
                Record(timedOut ? Outcome.Timeout : abort.IsCancellationRequested ? Outcome.Cancelled : Outcome.ConnectionError, intendedTimestamp, sendTs, 0);
                return null;
            }
        }
    }

    /// <summary>Closes a connection that is no longer needed.</summary>
    public void Close(Http1Connection connection)
    {
        _watchdog.Unregister(connection);
        connection.Dispose();
    }

    private async ValueTask<Http1Connection> ConnectAsync(long sendTs, CancellationToken abort)
    {
        var remaining = TimeSpan.FromSeconds(Math.Max(0, (sendTs + _timeoutTicks - _time.GetTimestamp()) / (double)_time.TimestampFrequency));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(abort);
        cts.CancelAfter(remaining);
        var c = await Http1Connection.ConnectAsync(_endpoint, cts.Token).ConfigureAwait(false);
        _watchdog.Register(c);
        return c;
    }

    /// <summary>Records how a request ended (<paramref name="at"/>: when; now if null), also for a caller that sent it itself.</summary>
    internal void Record(Outcome outcome, long intendedTs, long sendTs, long bytes, long? at = null)
    {
        long now = at ?? _time.GetTimestamp();
        // Latency counts from the intended start; an arrival sent ahead of its time (released with a batch) from its send.
        long latency = (long)((now - Math.Min(intendedTs, sendTs)) / _ticksPerMicro), service = (long)((now - sendTs) / _ticksPerMicro);
        _recorder.RecordCompleted(outcome, latency, service, bytes);
        _own?.RecordCompleted(outcome, latency, service, bytes);
    }
}
