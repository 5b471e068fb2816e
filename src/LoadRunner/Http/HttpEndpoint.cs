using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Constellation.LoadRunner.Http;

/// <summary>One request, serialized once to HTTP/1.1 bytes, and where to send it.</summary>
public sealed class HttpEndpoint
{
    private HttpEndpoint(Uri url, EndPoint endPoint, byte[] request, bool isHead, TimeSpan timeout, ResponseChecks? checks)
    {
        Url = url;
        EndPoint = endPoint;
        RequestBytes = request;
        IsHead = isHead;
        Timeout = timeout;
        Checks = checks;
    }

    public Uri Url { get; }
    public EndPoint EndPoint { get; }
    public byte[] RequestBytes { get; }
    public bool IsHead { get; }
    public bool UseTls => Url.Scheme == Uri.UriSchemeHttps;
    public TimeSpan Timeout { get; }

    /// <summary>The request's expect checks, compiled; null when it has none.</summary>
    public ResponseChecks? Checks { get; }

    /// <summary>Resolves the host once and pre-serializes the request (no per-request formatting).</summary>
    public static async Task<HttpEndpoint> CreateAsync(
        Uri url,
        string method,
        IReadOnlyDictionary<string, string>? headers,
        string? body,
        TimeSpan timeout,
        CancellationToken ct,
        Core.Plans.ResponseExpectation? expect = null)
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
        sb.Append("Host: ").Append(url.Authority).Append("\r\n");
        bool hasUserAgent = false, hasAccept = false;
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
                sb.Append(k).Append(": ").Append(v).Append("\r\n");
            }
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
        var head = Encoding.ASCII.GetBytes(sb.ToString());
        var request = new byte[head.Length + bodyBytes.Length];
        head.CopyTo(request, 0);
        bodyBytes.CopyTo(request, head.Length);
        return new HttpEndpoint(url, endPoint, request, method == "HEAD", timeout, expect is null ? null : new ResponseChecks(expect));
    }
}
