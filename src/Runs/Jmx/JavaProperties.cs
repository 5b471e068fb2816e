using System.Globalization;
using System.Text;

namespace Constellation.Runs.Jmx;

/// <summary>Reads a Java .properties file (JMeter's user.properties, -q files): key=value, key: value or key value.</summary>
public static class JavaProperties
{
    public static Dictionary<string, string> Parse(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimStart(' ', '\t', '\f');
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            // A line ending in an odd number of backslashes continues on the next one (its leading blanks dropped).
            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                line = line[..^1] + lines[++i].TrimStart(' ', '\t', '\f');
            }

            int k = 0;
            var key = new StringBuilder();
            while (k < line.Length && line[k] is not ('=' or ':' or ' ' or '\t' or '\f'))
            {
                k = Unescape(line, k, key);
            }

            while (k < line.Length && line[k] is ' ' or '\t' or '\f')
            {
                k++;
            }

            if (k < line.Length && line[k] is '=' or ':')
            {
                k++;
            }

            while (k < line.Length && line[k] is ' ' or '\t' or '\f')
            {
                k++;
            }

            var value = new StringBuilder();
            while (k < line.Length)
            {
                k = Unescape(line, k, value);
            }

            result[key.ToString()] = value.ToString();
        }

        return result;
    }

    private static bool EndsWithContinuation(string line)
    {
        int n = 0;
        for (int i = line.Length - 1; i >= 0 && line[i] == '\\'; i--)
        {
            n++;
        }

        return n % 2 == 1;
    }

    /// <summary>Appends the character at <paramref name="i"/>, resolving \t \n \r \f \uXXXX and \x (x itself); returns the next index.</summary>
    private static int Unescape(string s, int i, StringBuilder into)
    {
        if (s[i] != '\\' || i + 1 >= s.Length)
        {
            into.Append(s[i]);
            return i + 1;
        }

        char c = s[i + 1];
        switch (c)
        {
            case 't': into.Append('\t'); return i + 2;
            case 'n': into.Append('\n'); return i + 2;
            case 'r': into.Append('\r'); return i + 2;
            case 'f': into.Append('\f'); return i + 2;
            case 'u' when i + 5 < s.Length && int.TryParse(s.AsSpan(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                into.Append((char)code);
                return i + 6;
            default:
                into.Append(c);
                return i + 2;
        }
    }
}
