using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Constellation.Runs.Http;

/// <summary>
/// One request and where to send it: serialized once to HTTP/1.1 bytes, or — when its path, headers or body hold
/// <c>${data.*}</c>/<c>${vars.*}</c> placeholders, or a cookie jar adds its Cookie header — composed per exchange
/// from a user's <see cref="Session"/>.
/// </summary>
public sealed class HttpEndpoint
{
    private readonly string _method;
    private readonly IReadOnlyList<(string Name, string Value)> _headers;
    private readonly string? _body;

    private HttpEndpoint(Uri url, EndPoint endPoint, string method, IReadOnlyList<(string Name, string Value)> headers, string? body, TimeSpan timeout, ResponseChecks? checks, bool skipTlsVerify)
    {
        Url = url;
        EndPoint = endPoint;
        _method = method;
        _headers = headers;
        _body = body;
        IsHead = method == "HEAD";
        Timeout = timeout;
        Checks = checks;
        SkipTlsVerify = skipTlsVerify;
        Dynamic = Core.Plans.Placeholders.Has(url.PathAndQuery) || Core.Plans.Placeholders.Has(body) || headers.Any(h => Core.Plans.Placeholders.Has(h.Value));
        string? missing = null;
        RequestBytes = Compose(null, null, ref missing);
    }

    public Uri Url { get; }
    public EndPoint EndPoint { get; }

    /// <summary>The request as bytes when nothing in it changes per user (placeholders left as they are otherwise).</summary>
    public byte[] RequestBytes { get; }

    /// <summary>Its path, a header or the body has placeholders: composed per exchange.</summary>
    public bool Dynamic { get; }

    public bool IsHead { get; }
    public bool UseTls => Url.Scheme == Uri.UriSchemeHttps;
    public TimeSpan Timeout { get; }

    /// <summary>The request's expect checks, compiled; null when it has none.</summary>
    public ResponseChecks? Checks { get; }

    /// <summary>Accept any server certificate (the target's <c>insecureSkipTlsVerify</c>).</summary>
    public bool SkipTlsVerify { get; }

    /// <summary>
    /// The request for one user: its placeholders filled from <paramref name="session"/> (a value in the path
    /// percent-encoded, line breaks taken out of header values) and <paramref name="cookie"/> as its Cookie header;
    /// <paramref name="missing"/> names the first placeholder without a value (sent empty, as k6 does).
    /// </summary>
    public byte[] Compose(Session? session, string? cookie, ref string? missing)
    {
        string? Value(string kind, string name) => session?.Value(kind, name);
        string Fill(string text, Func<string, string> encode, ref string? miss) =>
            session is null || !Dynamic ? text : Core.Plans.Placeholders.Replace(text, Value, encode, ref miss);

        var url = Url;
        var sb = new StringBuilder(256);
        sb.Append(_method).Append(' ').Append(Fill(url.PathAndQuery, Uri.EscapeDataString, ref missing)).Append(" HTTP/1.1\r\n");
        sb.Append("Host: ").Append(url.IdnHost);
        if (!url.IsDefaultPort)
        {
            sb.Append(':').Append(url.Port);
        }

        sb.Append("\r\n");
        bool hasUserAgent = false, hasAccept = false, hasAuthorization = false, hasCookie = false;
        foreach (var (k, v) in _headers)
        {
            hasUserAgent |= k.Equals("User-Agent", StringComparison.OrdinalIgnoreCase);
            hasAccept |= k.Equals("Accept", StringComparison.OrdinalIgnoreCase);
            hasAuthorization |= k.Equals("Authorization", StringComparison.OrdinalIgnoreCase);
            bool isCookie = k.Equals("Cookie", StringComparison.OrdinalIgnoreCase);
            hasCookie |= isCookie;
            var value = Fill(v, x => x.Replace('\r', ' ').Replace('\n', ' '), ref missing);
            if (isCookie && cookie is not null)
            {
                value = $"{value}; {cookie}"; // the plan's cookies first, then the jar's
            }

            sb.Append(k).Append(": ").Append(value).Append("\r\n");
        }

        if (!hasCookie && cookie is not null)
        {
            sb.Append("Cookie: ").Append(cookie).Append("\r\n");
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

        var body = _body is null ? null : Fill(_body, x => x, ref missing);
        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        if (body is not null || _method is "POST" or "PUT" or "PATCH")
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
        return request;
    }

    /// <summary>Resolves the host once and pre-serializes the request (no per-request formatting when nothing changes per user).</summary>
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

        var kept = (headers ?? new Dictionary<string, string>())
            .Where(h => !h.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) && !h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => (h.Key, h.Value))
            .ToList();
        return new HttpEndpoint(url, endPoint, method, kept, body, timeout, expect is null ? null : new ResponseChecks(expect), skipTlsVerify);
    }
}
