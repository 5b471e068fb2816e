using System.Globalization;
using System.Text;

namespace Constellation.Runs.Http;

/// <summary>
/// One virtual user's state across the requests of its iterations: its cookie jar, the values extracted from answers
/// (<c>${vars.NAME}</c>) and its data row (<c>${data.COLUMN}</c>). Used by one user at a time: not thread-safe.
/// </summary>
public sealed class Session(CookieJar? cookies)
{
    public CookieJar? Cookies { get; } = cookies;

    /// <summary>What this user's answers give its jar and extractors (one request at a time).</summary>
    public ResponseCapture Capture { get; } = new();

    public Dictionary<string, string> Vars { get; } = new(StringComparer.Ordinal);

    /// <summary>The user's current data row, by column (null without data).</summary>
    public IReadOnlyDictionary<string, int>? Columns { get; set; }

    public string[]? Row { get; set; }

    /// <summary>A new iteration: its extracted values start empty (they are the iteration's), and the jar too when asked.</summary>
    public void NewIteration(bool clearCookies)
    {
        Vars.Clear();
        if (clearCookies)
        {
            Cookies?.Clear();
        }
    }

    /// <summary>The value of <c>${kind.name}</c>; null when there is none (no such column, nothing extracted yet).</summary>
    public string? Value(string kind, string name) => kind switch
    {
        "vars" => Vars.GetValueOrDefault(name),
        "data" => Columns is not null && Row is not null && Columns.TryGetValue(name, out var i) && i < Row.Length ? Row[i] : null,
        _ => null,
    };
}

/// <summary>
/// A browser's cookie jar, as RFC 6265 §5 has it: a cookie is kept per (name, domain, path); sent to its host
/// (host-only) or its domain and subdomains, on paths under its path, over https only when Secure, until it
/// expires (Max-Age wins over Expires; a cookie expired on arrival deletes the one it names). HttpOnly changes
/// nothing for a client that runs no scripts. At most <see cref="MaxCookies"/> cookies, the oldest dropped first, each
/// at most <see cref="MaxCookieBytes"/>. There is no public-suffix list: <c>Domain=com</c> is taken as a domain.
/// </summary>
public sealed class CookieJar(TimeProvider time)
{
    public const int MaxCookies = 300;

    /// <summary>Most characters of a cookie's name and value together.</summary>
    public const int MaxCookieBytes = 4096;

    private readonly List<Cookie> _cookies = [];
    private long _order;

    // The Cookie headers made since the jar last changed, by request URL (an endpoint's one Uri object: a reference
    // lookup), and until when they hold (the first expiry).
    private readonly Dictionary<Uri, string?> _made = new(ReferenceEqualityComparer.Instance);
    private DateTimeOffset _madeUntil = DateTimeOffset.MaxValue;

    public int Count => _cookies.Count;

    public void Clear()
    {
        _cookies.Clear();
        _made.Clear();
    }

    /// <summary>Stores the Set-Cookie header values of an answer to <paramref name="url"/>.</summary>
    public void Store(Uri url, IEnumerable<string> setCookies)
    {
        var now = time.GetUtcNow();
        foreach (var header in setCookies)
        {
            if (Parse(header, url, now) is not { } c)
            {
                continue;
            }

            int same = _cookies.FindIndex(x => x.Name == c.Name && x.Domain == c.Domain && x.Path == c.Path);
            if (same >= 0 && _cookies[same] is var old && old.Value == c.Value && old.Secure == c.Secure && old.HostOnly == c.HostOnly && old.Expires == c.Expires)
            {
                continue; // the same cookie again (a login that sets what the jar holds): nothing changes
            }

            _made.Clear();
            _cookies.RemoveAll(x => x.Name == c.Name && x.Domain == c.Domain && x.Path == c.Path);
            if (c.Expires <= now)
            {
                continue; // an expiry in the past deletes it
            }

            _cookies.Add(c with { Order = ++_order });
            if (_cookies.Count > MaxCookies)
            {
                _cookies.RemoveAt(0);
            }
        }
    }

    /// <summary>The Cookie header for a request to <paramref name="url"/> (longer paths first, then older first); null when no cookie applies.</summary>
    public string? HeaderFor(Uri url)
    {
        if (_cookies.Count == 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (_madeUntil <= now)
        {
            _made.Clear();
        }

        if (_made.TryGetValue(url, out var made))
        {
            return made; // a journey's requests go to a few places, with a jar that seldom changes
        }

        _cookies.RemoveAll(c => c.Expires <= now);
        var header = Header(url.IdnHost.ToLowerInvariant(), string.IsNullOrEmpty(url.AbsolutePath) ? "/" : url.AbsolutePath, url.Scheme == Uri.UriSchemeHttps);
        if (_made.Count >= 64)
        {
            _made.Clear();
        }

        _made[url] = header;
        _madeUntil = _cookies.Count == 0 ? DateTimeOffset.MaxValue : _cookies.Min(c => c.Expires);
        return header;
    }

    private string? Header(string host, string path, bool https)
    {
        var matching = new List<Cookie>();
        foreach (var c in _cookies)
        {
            if ((c.HostOnly ? host == c.Domain : DomainMatch(host, c.Domain)) && PathMatch(path, c.Path) && (!c.Secure || https))
            {
                matching.Add(c);
            }
        }

        if (matching.Count == 0)
        {
            return null;
        }

        matching.Sort((a, b) => a.Path.Length != b.Path.Length ? b.Path.Length.CompareTo(a.Path.Length) : a.Order.CompareTo(b.Order));
        var sb = new StringBuilder();
        foreach (var c in matching)
        {
            sb.Append(sb.Length == 0 ? string.Empty : "; ").Append(c.Name).Append('=').Append(c.Value);
        }

        return sb.ToString();
    }

    private static Cookie? Parse(string header, Uri url, DateTimeOffset now)
    {
        var parts = header.Split(';');
        var pair = parts[0];
        int eq = pair.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            return null; // no name: ignored (§5.2 step 5)
        }

        var name = pair[..eq].Trim();
        var value = pair[(eq + 1)..].Trim();
        if (name.Length + value.Length > MaxCookieBytes)
        {
            return null; // RFC 6265 §6.1: at least 4096 bytes a cookie; browsers keep no more
        }

        if (name.Length == 0 || name.Any(ch => ch < 0x21 || ch is ';' or ',' or '=' or '\x7f') || value.Any(ch => ch < 0x20 || ch is ';' or '\x7f'))
        {
            return null;
        }

        var host = url.IdnHost.ToLowerInvariant();
        string domain = host;
        bool hostOnly = true, secure = false;
        string? path = null;
        DateTimeOffset expires = DateTimeOffset.MaxValue;
        bool maxAge = false;
        foreach (var attr in parts.Skip(1))
        {
            int at = attr.IndexOf('=', StringComparison.Ordinal);
            var key = (at < 0 ? attr : attr[..at]).Trim().ToLowerInvariant();
            var val = at < 0 ? string.Empty : attr[(at + 1)..].Trim();
            switch (key)
            {
                case "domain" when val.Length > 0:
                    var d = val.TrimStart('.').ToLowerInvariant();
                    if (!DomainMatch(host, d))
                    {
                        return null; // a cookie for another site is refused (§5.3 step 6)
                    }

                    (domain, hostOnly) = (d, false);
                    break;
                case "path" when val.StartsWith('/'):
                    path = val;
                    break;
                case "secure":
                    secure = true;
                    break;
                case "max-age" when long.TryParse(val, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds):
                    expires = seconds <= 0 ? DateTimeOffset.MinValue : now.AddSeconds(Math.Min(seconds, 400L * 24 * 3600));
                    maxAge = true;
                    break;
                case "expires" when !maxAge && DateTimeOffset.TryParse(val, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when):
                    expires = when;
                    break;
            }
        }

        if (secure && url.Scheme != Uri.UriSchemeHttps)
        {
            return null; // §5.4: a Secure cookie is only set over a secure channel
        }

        return new Cookie(name, value, domain, path ?? DefaultPath(url), hostOnly, secure, expires, 0);
    }

    private static string DefaultPath(Uri url)
    {
        var p = url.AbsolutePath;
        int slash = p.LastIndexOf('/');
        return slash <= 0 ? "/" : p[..slash];
    }

    private static bool DomainMatch(string host, string domain) =>
        host == domain || (host.EndsWith("." + domain, StringComparison.Ordinal) && !System.Net.IPAddress.TryParse(host, out _));

    private static bool PathMatch(string requestPath, string cookiePath) =>
        requestPath == cookiePath
        || (requestPath.StartsWith(cookiePath, StringComparison.Ordinal) && (cookiePath.EndsWith('/') || requestPath[cookiePath.Length] == '/'));

    private sealed record Cookie(string Name, string Value, string Domain, string Path, bool HostOnly, bool Secure, DateTimeOffset Expires, long Order);
}
