using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using Microsoft.Extensions.Logging;

namespace Constellation.Observer.Kubernetes;

/// <summary>
/// The API client the watches and the metrics poller share. When credentials expire (401) the first watch to see it
/// builds a new client from the configuration (which runs a kubeconfig's exec plugin again); the others use that one.
/// Clients replaced while requests may still use them are disposed with the connection.
/// </summary>
internal sealed class KubernetesConnection(Func<KubernetesClientConfiguration> config, ILogger log) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<IKubernetes> _retired = [];
    private IKubernetes? _client;

    /// <summary>The current client; only after a successful <see cref="TryConnect"/>.</summary>
    public IKubernetes Client
    {
        get
        {
            lock (_gate)
            {
                return _client ?? throw new InvalidOperationException("not connected");
            }
        }
    }

    /// <summary>Builds a client, unless <paramref name="failed"/> was already replaced by another caller; a gap when none can be built.</summary>
    public bool TryConnect(ObservationRecorder recorder, string sampler, IKubernetes? failed = null)
    {
        lock (_gate)
        {
            // Several watches meet the same expired token at once: the first one rebuilds, the rest use its client.
            if (failed is not null && !ReferenceEquals(failed, _client))
            {
                return true;
            }
        }

        try
        {
            var client = new k8s.Kubernetes(config());
            lock (_gate)
            {
                // The old client may still carry other watches' requests: it is disposed when the sampler stops.
                if (_client is not null)
                {
                    _retired.Add(_client);
                }

                _client = client;
            }

            return true;
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            recorder.OpenGap(sampler, $"no Kubernetes client: {e.Message}");
            recorder.Count(sampler, 0, 1);
            log.NoKubernetesClient(e.Message);
            return false;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var c in _retired.Append(_client).OfType<IKubernetes>())
            {
                c.Dispose();
            }

            _retired.Clear();
            _client = null;
        }
    }

    /// <summary>A failure of the API or the way to it (as opposed to a bug): marked as a gap and retried.</summary>
    public static bool IsApiFault(Exception e) => e is HttpOperationException or HttpRequestException or IOException or KubernetesException
        or KubernetesClientException or OperationCanceledException or TimeoutException or JsonException or KubeConfigException;

    /// <summary>One line for a gap or a note.</summary>
    public static string Describe(Exception e) => e switch
    {
        HttpOperationException { Response: { } r } => $"HTTP {(int)r.StatusCode} {r.StatusCode}" + (r.StatusCode == HttpStatusCode.Unauthorized ? " (expired credentials?)" : string.Empty),
        KubernetesException k => $"{k.Status?.Code} {k.Status?.Reason}: {k.Status?.Message}",
        OperationCanceledException or TimeoutException => "timed out",
        _ => e.Message,
    };
}
