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

    /// <summary>Whether <paramref name="text"/> has any placeholder.</summary>
    public static bool Has(string? text) => text is not null && text.Contains('$', StringComparison.Ordinal) && Pattern().IsMatch(text);

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
    /// <paramref name="text"/> with each placeholder replaced by <paramref name="value"/>'s answer for it, through
    /// <paramref name="encode"/>; <paramref name="missing"/> gets the first that had none (replaced by nothing).
    /// </summary>
    public static string Replace(string text, Func<string, string, string?> value, Func<string, string> encode, ref string? missing)
    {
        var matches = Pattern().Matches(text);
        if (matches.Count == 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 32);
        int at = 0;
        foreach (Match m in matches)
        {
            sb.Append(text, at, m.Index - at);
            var kind = m.Groups["kind"].Value;
            var name = Uri.UnescapeDataString(m.Groups["name"].Value);
            if (value(kind, name) is { } v)
            {
                sb.Append(encode(v));
            }
            else
            {
                missing ??= $"${{{kind}.{name}}}";
            }

            at = m.Index + m.Length;
        }

        return sb.Append(text, at, text.Length - at).ToString();
    }
}
