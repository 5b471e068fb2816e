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
    private readonly Core.Plans.Placeholders.Template _path;
    private readonly IReadOnlyList<(string Name, Core.Plans.Placeholders.Template Value)> _headers;
    private readonly Core.Plans.Placeholders.Template? _body;
    private readonly bool _hasCookieHeader;

    private HttpEndpoint(Uri url, EndPoint endPoint, string method, IReadOnlyList<(string Name, string Value)> headers, string? body, TimeSpan timeout, ResponseChecks? checks, bool skipTlsVerify)
    {
        Url = url;
        EndPoint = endPoint;
        _method = method;
        _path = new(url.PathAndQuery);
        _headers = [.. headers.Select(h => (h.Name, new Core.Plans.Placeholders.Template(h.Value)))];
        _body = body is null ? null : new(body);
        _hasCookieHeader = headers.Any(h => h.Name.Equals("Cookie", StringComparison.OrdinalIgnoreCase));
        IsHead = method == "HEAD";
        Timeout = timeout;
        Checks = checks;
        SkipTlsVerify = skipTlsVerify;
        Dynamic = _path.HasPlaceholders || (_body?.HasPlaceholders ?? false) || _headers.Any(h => h.Value.HasPlaceholders);
        string? missing = null;
        RequestBytes = Compose(null, null, ref missing);
        _program = RequestProgram.For(this, method, _path, _headers, _body);
    }

    // The request as pieces made once, for a user's placeholders and the jar's Cookie header (null with the plan's own Cookie header).
    private readonly RequestProgram? _program;

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
        if (_program is not null && (Dynamic ? session is not null : cookie is not null))
        {
            return _program.Run(session, cookie, ref missing);
        }

        Func<string, string, string?> value = session is null ? static (_, _) => null : session.Value;
        bool fill = session is not null;
        var url = Url;
        var sb = new StringBuilder(256);
        sb.Append(_method).Append(' ');
        Append(sb, _path, fill, value, Core.Plans.Placeholders.EscapeForTarget, ref missing);
        sb.Append(" HTTP/1.1\r\n");
        sb.Append("Host: ").Append(url.IdnHost);
        if (!url.IsDefaultPort)
        {
            sb.Append(':').Append(url.Port);
        }

        sb.Append("\r\n");
        bool hasUserAgent = false, hasAccept = false, hasAuthorization = false;
        foreach (var (k, v) in _headers)
        {
            hasUserAgent |= k.Equals("User-Agent", StringComparison.OrdinalIgnoreCase);
            hasAccept |= k.Equals("Accept", StringComparison.OrdinalIgnoreCase);
            hasAuthorization |= k.Equals("Authorization", StringComparison.OrdinalIgnoreCase);
            sb.Append(k).Append(": ");
            Append(sb, v, fill, value, static x => x.Replace('\r', ' ').Replace('\n', ' '), ref missing);
            if (cookie is not null && k.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
            {
                sb.Append("; ").Append(cookie); // the plan's cookies first, then the jar's
            }

            sb.Append("\r\n");
        }

        if (!_hasCookieHeader && cookie is not null)
        {
            sb.Append("Cookie: ").Append(cookie).Append("\r\n");
        }

        AppendDefaults(sb, url, hasUserAgent, hasAccept, hasAuthorization);

        string? body = null;
        if (_body is not null)
        {
            var b = new StringBuilder(_body.Text.Length + 32);
            Append(b, _body, fill, value, null, ref missing);
            body = b.ToString();
        }

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

    /// <summary>
    /// The headers a request gets unless it has its own: Basic credentials from the base URL (https://user:pass@host/,
    /// as curl and browsers send them; an explicit Authorization header wins), User-Agent and Accept.
    /// </summary>
    internal static void AppendDefaults(StringBuilder sb, Uri url, bool hasUserAgent, bool hasAccept, bool hasAuthorization)
    {
        if (!hasAuthorization && url.UserInfo.Length > 0)
        {
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
    }

    private static void Append(StringBuilder sb, Core.Plans.Placeholders.Template t, bool fill, Func<string, string, string?> value, Func<string, string>? encode, ref string? missing)
    {
        if (fill)
        {
            t.AppendTo(sb, value, encode, ref missing);
        }
        else
        {
            sb.Append(t.Text);
        }
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

/// <summary>
/// A request that changes per user (its placeholders, the jar's Cookie header) as a list of pieces made once —
/// literal bytes, and the values to fill in — so each exchange costs one allocation and the values' encoding, not a
/// string build of the whole request.
/// </summary>
internal sealed class RequestProgram
{
    private readonly Piece[] _head;
    private readonly Piece[] _body;
    private readonly bool _hasBody;
    private readonly byte[] _end;

    private RequestProgram(Piece[] head, Piece[] body, bool hasBody, byte[] end)
    {
        _head = head;
        _body = body;
        _hasBody = hasBody;
        _end = end;
    }

    /// <summary>The pieces of an endpoint's request: the head up to (not including) where a Cookie header would go, the body after.</summary>
    public static RequestProgram? For(HttpEndpoint endpoint, string method, Core.Plans.Placeholders.Template path, IReadOnlyList<(string Name, Core.Plans.Placeholders.Template Value)> headers, Core.Plans.Placeholders.Template? body)
    {
        if (headers.Any(h => h.Name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)))
        {
            return null; // the plan's own Cookie header joins the jar's: the general path does that
        }

        var head = new List<Piece>();
        var text = new StringBuilder();
        void Flush()
        {
            if (text.Length > 0)
            {
                head.Add(new Piece(Encoding.UTF8.GetBytes(text.ToString()), null, null, Encode.None));
                text.Clear();
            }
        }

        void Add(Core.Plans.Placeholders.Template t, Encode encode, List<Piece> into, StringBuilder literal, Action flush)
        {
            foreach (var (lit, kind, name) in t.Parts)
            {
                literal.Append(lit);
                if (kind is not null)
                {
                    flush();
                    into.Add(new Piece(null, kind, name, encode));
                }
            }
        }

        var url = endpoint.Url;
        text.Append(method).Append(' ');
        Add(path, Encode.Path, head, text, Flush);
        text.Append(" HTTP/1.1\r\nHost: ").Append(url.IdnHost);
        if (!url.IsDefaultPort)
        {
            text.Append(':').Append(url.Port);
        }

        text.Append("\r\n");
        bool hasUserAgent = false, hasAccept = false, hasAuthorization = false;
        foreach (var (k, v) in headers)
        {
            hasUserAgent |= k.Equals("User-Agent", StringComparison.OrdinalIgnoreCase);
            hasAccept |= k.Equals("Accept", StringComparison.OrdinalIgnoreCase);
            hasAuthorization |= k.Equals("Authorization", StringComparison.OrdinalIgnoreCase);
            text.Append(k).Append(": ");
            Add(v, Encode.Header, head, text, Flush);
            text.Append("\r\n");
        }

        HttpEndpoint.AppendDefaults(text, url, hasUserAgent, hasAccept, hasAuthorization);

        Flush();
        var bodyPieces = new List<Piece>();
        var bodyText = new StringBuilder();
        void FlushBody()
        {
            if (bodyText.Length > 0)
            {
                bodyPieces.Add(new Piece(Encoding.UTF8.GetBytes(bodyText.ToString()), null, null, Encode.None));
                bodyText.Clear();
            }
        }

        if (body is not null)
        {
            Add(body, Encode.None, bodyPieces, bodyText, FlushBody);
            FlushBody();
        }

        return new RequestProgram([.. head], [.. bodyPieces], body is not null || method is "POST" or "PUT" or "PATCH", "\r\n"u8.ToArray());
    }

    public byte[] Run(Session? session, string? cookie, ref string? missing)
    {
        var values = System.Buffers.ArrayPool<string?>.Shared.Rent(_head.Length + _body.Length);
        try
        {
            return Run(session, cookie, ref missing, values);
        }
        finally
        {
            Array.Clear(values);
            System.Buffers.ArrayPool<string?>.Shared.Return(values);
        }
    }

    private byte[] Run(Session? session, string? cookie, ref string? missing, string?[] values)
    {
        int headLength = 0, bodyLength = 0;
        for (int i = 0; i < _head.Length + _body.Length; i++)
        {
            var p = i < _head.Length ? _head[i] : _body[i - _head.Length];
            int n;
            if (p.Literal is { } lit)
            {
                n = lit.Length;
            }
            else
            {
                var v = session?.Value(p.Kind!, p.Name!);
                if (v is null)
                {
                    missing ??= $"${{{p.Kind}.{p.Name}}}";
                    v = string.Empty;
                }

                v = p.Encoding switch
                {
                    Encode.Path => Core.Plans.Placeholders.EscapeForTarget(v),
                    Encode.Header when v.AsSpan().IndexOfAny('\r', '\n') >= 0 => v.Replace('\r', ' ').Replace('\n', ' '),
                    _ => v,
                };
                values[i] = v;
                n = Encoding.UTF8.GetByteCount(v);
            }

            if (i < _head.Length)
            {
                headLength += n;
            }
            else
            {
                bodyLength += n;
            }
        }

        int cookieLength = cookie is null ? 0 : 8 + Encoding.UTF8.GetByteCount(cookie) + 2;
        string? contentLength = _hasBody ? $"Content-Length: {bodyLength}\r\n" : null;
        int total = headLength + cookieLength + (contentLength?.Length ?? 0) + _end.Length + bodyLength;
        var bytes = new byte[total];
        var span = bytes.AsSpan();
        int at = 0;
        for (int i = 0; i < _head.Length + _body.Length; i++)
        {
            if (i == _head.Length)
            {
                at = HeadEnd(span, at, cookie, contentLength);
            }

            var p = i < _head.Length ? _head[i] : _body[i - _head.Length];
            if (p.Literal is { } lit)
            {
                lit.CopyTo(span[at..]);
                at += lit.Length;
            }
            else
            {
                at += Encoding.UTF8.GetBytes(values[i]!, span[at..]);
            }
        }

        if (_body.Length == 0)
        {
            HeadEnd(span, at, cookie, contentLength); // no body pieces: the loop never reached the head's end
        }

        return bytes;
    }

    /// <summary>The end of the head — the jar's Cookie header, Content-Length, the blank line — at <paramref name="at"/>; returns where the body starts.</summary>
    private int HeadEnd(Span<byte> span, int at, string? cookie, string? contentLength)
    {
        if (cookie is not null)
        {
            "Cookie: "u8.CopyTo(span[at..]);
            at += 8;
            at += Encoding.UTF8.GetBytes(cookie, span[at..]);
            "\r\n"u8.CopyTo(span[at..]);
            at += 2;
        }

        if (contentLength is not null)
        {
            at += Encoding.ASCII.GetBytes(contentLength, span[at..]);
        }

        _end.CopyTo(span[at..]);
        return at + _end.Length;
    }

    private enum Encode
    {
        None,
        Path,
        Header,
    }

    private sealed record Piece(byte[]? Literal, string? Kind, string? Name, Encode Encoding);
}
