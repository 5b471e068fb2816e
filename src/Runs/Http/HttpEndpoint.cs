using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Constellation.Runs.Http;

/// <summary>One request, serialized once to HTTP/1.1 bytes, and where to send it.</summary>
public sealed class HttpEndpoint
{
    private HttpEndpoint(Uri url, EndPoint endPoint, byte[] request, bool isHead, TimeSpan timeout, ResponseChecks? checks, bool skipTlsVerify)
    {
        Url = url;
        EndPoint = endPoint;
        RequestBytes = request;
        IsHead = isHead;
        Timeout = timeout;
        Checks = checks;
        SkipTlsVerify = skipTlsVerify;
    }

    public Uri Url { get; }
    public EndPoint EndPoint { get; }
    public byte[] RequestBytes { get; }
    public bool IsHead { get; }
    public bool UseTls => Url.Scheme == Uri.UriSchemeHttps;
    public TimeSpan Timeout { get; }

    /// <summary>The request's expect checks, compiled; null when it has none.</summary>
    public ResponseChecks? Checks { get; }

    /// <summary>Accept any server certificate (the target's <c>insecureSkipTlsVerify</c>).</summary>
    public bool SkipTlsVerify { get; }

    /// <summary>Resolves the host once and pre-serializes the request (no per-request formatting).</summary>
    public static async Task<HttpEndpoint> CreateAsync(
        Uri url,
        string method,
        IReadOnlyDictionary<string, string>? headers,
        string? body,
        TimeSpan timeout,
        CancellationToken ct,
        Core.Plans.ResponseExpectation? expect = null,
        bool skipTlsVerify = false)
    {
        EndPoint endPoint;
        if (IPAddress.TryParse(url.IdnHost, out var ip))
        {
            endPoint = new IPEndPoint(ip, url.Port);
        }
        else
        {
            var addresses = await Dns.GetHostAddressesAsync(url.IdnHost, ct).ConfigureAwait(false);
            var pick = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new InvalidOperationException($"cannot resolve host '{url.Host}'");
            endPoint = new IPEndPoint(pick, url.Port);
        }

        var sb = new StringBuilder(256);
        sb.Append(method).Append(' ').Append(url.PathAndQuery).Append(" HTTP/1.1\r\n");
        sb.Append("Host: ").Append(url.IdnHost);
        if (!url.IsDefaultPort)
        {
            sb.Append(':').Append(url.Port);
        }

        sb.Append("\r\n");
        bool hasUserAgent = false, hasAccept = false, hasAuthorization = false;
        if (headers is not null)
        {
            foreach (var (k, v) in headers)
            {
                if (k.Equals("Host", StringComparison.OrdinalIgnoreCase) || k.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                hasUserAgent |= k.Equals("User-Agent", StringComparison.OrdinalIgnoreCase);
                hasAccept |= k.Equals("Accept", StringComparison.OrdinalIgnoreCase);
                hasAuthorization |= k.Equals("Authorization", StringComparison.OrdinalIgnoreCase);
                sb.Append(k).Append(": ").Append(v).Append("\r\n");
            }
        }

        if (!hasAuthorization && url.UserInfo.Length > 0)
        {
            // Credentials in the base URL (https://user:pass@host/) are sent as HTTP Basic, as curl and browsers do;
            // an explicit Authorization header wins.
            sb.Append("Authorization: Basic ").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(url.UserInfo)))).Append("\r\n");
        }

        if (!hasUserAgent)
        {
            sb.Append("User-Agent: constellation/").Append(ToolInfo.Version).Append("\r\n");
        }

        if (!hasAccept)
        {
            sb.Append("Accept: */*\r\n");
        }

        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        if (body is not null || method is "POST" or "PUT" or "PATCH")
        {
            sb.Append("Content-Length: ").Append(bodyBytes.Length).Append("\r\n");
        }

        sb.Append("\r\n");
        // Header values go out as UTF-8 bytes (RFC 9110 §5.5 allows octets beyond ASCII; servers pass them on as
        // given): ASCII would turn every other character into '?'. Names are tokens, checked with the plan.
        var head = Encoding.UTF8.GetBytes(sb.ToString());
        var request = new byte[head.Length + bodyBytes.Length];
        head.CopyTo(request, 0);
        bodyBytes.CopyTo(request, head.Length);
        return new HttpEndpoint(url, endPoint, request, method == "HEAD", timeout, expect is null ? null : new ResponseChecks(expect), skipTlsVerify);
    }
}
