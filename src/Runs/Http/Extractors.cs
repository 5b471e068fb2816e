using System.Text;
using System.Text.RegularExpressions;
using Constellation.Core.Plans;

namespace Constellation.Runs.Http;

/// <summary>What an answer gives its extractors and the cookie jar: its Set-Cookie values, the headers asked for, and its body (up to a limit).</summary>
public sealed class ResponseCapture : IBodySink
{
    /// <summary>Most body bytes kept for extraction; beyond it the body is read on but not kept (a match past it is not found).</summary>
    public const int MaxBody = 1024 * 1024;

    private readonly MemoryStream _body = new();

    public IReadOnlyList<string> HeaderNames { get; private set; } = [];
    public bool WantsBody { get; private set; }
    public List<string> SetCookies { get; } = [];
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
    public bool Truncated { get; private set; }

    /// <summary>Starts a new answer, keeping these headers and, when asked, the body (one capture serves a user's requests in turn).</summary>
    public void Prepare(IReadOnlyList<string> headerNames, bool body)
    {
        HeaderNames = headerNames;
        WantsBody = body;
        SetCookies.Clear();
        Headers.Clear();
        _body.SetLength(0);
        Truncated = false;
    }

    public void Feed(ReadOnlySpan<byte> data)
    {
        if (!WantsBody)
        {
            return;
        }

        int room = MaxBody - (int)_body.Length;
        if (data.Length > room)
        {
            Truncated = true;
            data = data[..Math.Max(0, room)];
        }

        _body.Write(data);
    }

    /// <summary>Whether a header of this name is kept: Set-Cookie, or one an extractor asked for.</summary>
    public bool Wants(ReadOnlySpan<byte> name)
    {
        if (Ascii.EqualsIgnoreCase(name, "set-cookie"u8))
        {
            return true;
        }

        for (int i = 0; i < HeaderNames.Count; i++)
        {
            if (name.Length == HeaderNames[i].Length && Ascii.EqualsIgnoreCase(name, HeaderNames[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Keeps a header <see cref="Wants"/> said yes to (the first of each asked name).</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var text = Encoding.Latin1.GetString(value);
        if (Ascii.EqualsIgnoreCase(name, "set-cookie"u8))
        {
            SetCookies.Add(text);
        }

        for (int i = 0; i < HeaderNames.Count; i++)
        {
            if (name.Length == HeaderNames[i].Length && Ascii.EqualsIgnoreCase(name, HeaderNames[i]))
            {
                Headers.TryAdd(HeaderNames[i], text);
            }
        }
    }

    /// <summary>A whole header block's Set-Cookie values and asked headers (for tests and callers outside a connection).</summary>
    public void ReadHeaders(ReadOnlySpan<byte> head)
    {
        long length = -1;
        bool chunked = false, close = false;
        Http1Connection.ParseHeaders(head, ref length, ref chunked, ref close, this);
    }

    public string Body() => Encoding.UTF8.GetString(_body.GetBuffer(), 0, (int)_body.Length);

    /// <summary>The kept body as bytes (valid until the next answer).</summary>
    public ReadOnlyMemory<byte> BodyBytes => _body.GetBuffer().AsMemory(0, (int)_body.Length);
}

/// <summary>Something the body of an answer is fed to as it streams by.</summary>
public interface IBodySink
{
    void Feed(ReadOnlySpan<byte> data);
}

/// <summary>Two sinks fed together (a check's scan and an extractor's capture).</summary>
internal sealed class BothSinks(IBodySink a, IBodySink b) : IBodySink
{
    public void Feed(ReadOnlySpan<byte> data)
    {
        a.Feed(data);
        b.Feed(data);
    }
}

/// <summary>A request's extractors, compiled once: each takes a value from an answer, or names why it could not.</summary>
public sealed class Extractors
{
    private static readonly TimeSpan RegexBudget = TimeSpan.FromMilliseconds(100);
    private readonly (ExtractSpec Spec, Regex? Regex, JsonPath? Path)[] _all;

    public Extractors(IReadOnlyList<ExtractSpec> specs)
    {
        _all = [.. specs.Select(s => (s, s.Kind == ExtractKind.Regex ? Compile(s.Expression) : null, s.Kind == ExtractKind.Json ? JsonPath.Parse(s.Expression) : null))];
        HeaderNames = [.. specs.Where(s => s.Kind == ExtractKind.Header).Select(s => s.Expression)];
        NeedsBody = specs.Any(s => s.Kind != ExtractKind.Header);
    }

    /// <summary>
    /// A regular expression in linear time when it can be (no backreferences or lookarounds: a pattern like (a+)+b
    /// cannot make the generator backtrack), else with a budget of 100 ms a match.
    /// </summary>
    private static Regex Compile(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, RegexBudget);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, RegexBudget);
        }
    }

    public IReadOnlyList<string> HeaderNames { get; }
    public bool NeedsBody { get; }
    public int Count => _all.Length;

    /// <summary>Runs every extractor on the answer into <paramref name="vars"/>; returns the description of the first that found nothing (and had no default).</summary>
    public string? Apply(ResponseCapture answer, Dictionary<string, string> vars)
    {
        string? body = null;
        string? failed = null;
        foreach (var (spec, regex, path) in _all)
        {
            string? value = null;
            try
            {
                value = spec.Kind switch
                {
                    ExtractKind.Header => answer.Headers.GetValueOrDefault(spec.Expression),
                    ExtractKind.Regex => regex!.Match(body ??= answer.Body()) is { Success: true } m && spec.Group < m.Groups.Count && m.Groups[spec.Group].Success ? m.Groups[spec.Group].Value : null,
                    ExtractKind.Json => path!.Select(answer.BodyBytes),
                    ExtractKind.Boundary => Between(body ??= answer.Body(), spec.Expression, spec.Right!),
                    _ => null,
                };
            }
            catch (RegexMatchTimeoutException)
            {
                failed ??= $"extract {spec.Describe()}: the regular expression took over {RegexBudget.TotalMilliseconds:0} ms";
                continue;
            }

            value ??= spec.Default;
            if (value is null)
            {
                failed ??= $"extract {spec.Describe()}: no match{(answer.Truncated ? $" in the first {ResponseCapture.MaxBody / 1024} KiB of the body" : string.Empty)}";
                continue;
            }

            vars[spec.Name] = value;
        }

        return failed;
    }

    private static string? Between(string body, string left, string right)
    {
        int start = body.IndexOf(left, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += left.Length;
        int end = right.Length == 0 ? body.Length : body.IndexOf(right, start, StringComparison.Ordinal);
        return end < 0 ? null : body[start..end];
    }
}
