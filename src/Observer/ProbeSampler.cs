using Constellation.Core.Plans;
using Constellation.Core.Results;

namespace Constellation.Observer;

/// <summary>
/// Probes a control app at a low fixed rate, separately from the load, so its latency says whether the other
/// apps stayed fast while the load target scaled. Probes are sent on schedule even when one is slow (up to a
/// few in flight), so a slow control app shows as latency, not as fewer samples.
/// </summary>
public sealed class ProbeSampler(ProbeSpec spec, Uri baseUrl, TimeProvider time, bool skipTlsVerify = false) : ISampler
{
    private const int MaxInFlight = 8;

    public string Name => $"probe {spec.Target}";

    public Uri Url { get; } = new(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + spec.Path);

    /// <summary>The URL as recorded: credentials never reach the record.</summary>
    private string RecordedUrl => PlanRedactor.RedactUrl(Url);

    public async Task RunAsync(ObservationRecorder recorder, CancellationToken stop)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1), ConnectTimeout = spec.Timeout };
        if (skipTlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true; // the target's insecureSkipTlsVerify
        }

        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("constellation-probe");
        await WarmUpAsync(client, stop).ConfigureAwait(false);
        int inFlight = 0;
        var pending = new List<Task>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / spec.Rate), time);
        try
        {
            do
            {
                if (Volatile.Read(ref inFlight) >= MaxInFlight)
                {
                    recorder.Note(Name, "probe skipped: too many in flight");
                    continue;
                }

                Interlocked.Increment(ref inFlight);
                pending.RemoveAll(t => t.IsCompleted);
                pending.Add(ProbeOnceAsync(client, recorder, stop).ContinueWith(_ => Interlocked.Decrement(ref inFlight), TaskScheduler.Default));
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    /// <summary>One unrecorded request first: opening the connection and a cold app's first answer are not the app's latency.</summary>
    private async Task WarmUpAsync(HttpClient client, CancellationToken stop)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cts.CancelAfter(spec.Timeout);
            using var response = await client.GetAsync(Url, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            // The probes that follow record whatever is wrong.
        }
    }

    private async Task ProbeOnceAsync(HttpClient client, ObservationRecorder recorder, CancellationToken stop)
    {
        var at = recorder.Now;
        var started = time.GetTimestamp();
        int status = 0;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cts.CancelAfter(spec.Timeout);
        try
        {
            using var response = await client.GetAsync(Url, HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return; // stopped mid-probe: not a sample
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            status = 0;
        }

        var ms = time.GetElapsedTime(started).TotalMilliseconds;
        recorder.Probe(spec.Target, RecordedUrl, spec.Rate, new ProbeSample(Math.Round(at, 3), Math.Round(ms, 3), status));
        recorder.Count(Name, 1, status is >= 200 and < 400 ? 0 : 1);
    }
}
