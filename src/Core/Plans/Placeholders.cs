using System.Text;
using System.Text.RegularExpressions;

namespace Constellation.Core.Plans;

/// <summary>
/// <c>${data.COLUMN}</c> and <c>${vars.NAME}</c> in a request's path, header values and body: a data row's column, and
/// a value extracted from an earlier answer of the iteration. In a path they may appear URL-escaped as the base URL
/// joining left them (<c>$%7Bdata.id%7D</c>).
/// </summary>
public static partial class Placeholders
{
    [GeneratedRegex(@"\$(?:\{|%7[Bb])(?<kind>data|vars)\.(?<name>[^}%\r\n]*(?:%(?!7[Dd])[^}%\r\n]*)*)(?:\}|%7[Dd])")]
    private static partial Regex Pattern();

    /// <summary>Each placeholder in <paramref name="text"/>: its kind (data or vars) and name (URL-unescaped).</summary>
    public static IEnumerable<(string Kind, string Name)> Find(string? text) =>
        text is null ? [] : Pattern().Matches(text).Select(m => (m.Groups["kind"].Value, Uri.UnescapeDataString(m.Groups["name"].Value)));

    /// <summary>A text cut once at its placeholders, filled many times without a regular expression.</summary>
    public sealed class Template
    {
        private readonly (string Literal, string? Kind, string? Name)[] _parts;

        public Template(string text)
        {
            var parts = new List<(string, string?, string?)>();
            int at = 0;
            foreach (Match m in Pattern().Matches(text))
            {
                parts.Add((text[at..m.Index], m.Groups["kind"].Value, Uri.UnescapeDataString(m.Groups["name"].Value)));
                at = m.Index + m.Length;
            }

            parts.Add((text[at..], null, null));
            _parts = [.. parts];
            Text = text;
        }

        public string Text { get; }

        public bool HasPlaceholders => _parts.Length > 1;

        /// <summary>The text's pieces in order: a literal, then the placeholder after it (none after the last).</summary>
        public IReadOnlyList<(string Literal, string? Kind, string? Name)> Parts => _parts;

        /// <summary>Appends the text with each placeholder's value (through <paramref name="encode"/>); <paramref name="missing"/> gets the first without one.</summary>
        public void AppendTo(StringBuilder sb, Func<string, string, string?> value, Func<string, string>? encode, ref string? missing)
        {
            foreach (var (literal, kind, name) in _parts)
            {
                sb.Append(literal);
                if (kind is null)
                {
                    continue;
                }

                if (value(kind, name!) is { } v)
                {
                    sb.Append(encode is null ? v : encode(v));
                }
                else
                {
                    missing ??= $"${{{kind}.{name}}}";
                }
            }
        }
    }

    /// <summary>
    /// A value for a request's target (path and query) as JMeter and k6 put one in: as it is, but for what cannot
    /// stand in a request line — spaces, controls, non-ASCII and the characters RFC 3986 excludes — percent-encoded,
    /// so <c>/api/items?id=3</c> stays a path and query and <c>ann b</c> becomes <c>ann%20b</c>.
    /// </summary>
    public static string EscapeForTarget(string value)
    {
        static bool Keep(char ch) => char.IsAsciiLetterOrDigit(ch) || "-._~:/?[]@!$&'()*+,;=%".Contains(ch);
        if (value.All(Keep))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.IsAscii && Keep((char)rune.Value))
            {
                sb.Append((char)rune.Value);
                continue;
            }

            int n = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..n])
            {
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary><paramref name="text"/> with <paramref name="encode"/> applied to everything but its placeholders (an URL-encoded JMeter parameter holding a variable).</summary>
    public static string EncodeOutside(string text, Func<string, string> encode)
    {
        var sb = new StringBuilder(text.Length + 16);
        foreach (var (literal, kind, name) in new Template(text).Parts)
        {
            sb.Append(encode(literal));
            if (kind is not null)
            {
                sb.Append("${").Append(kind).Append('.').Append(name).Append('}');
            }
        }

        return sb.ToString();
    }
}
