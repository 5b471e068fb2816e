using System.Globalization;
using System.Text.Json;

namespace Constellation.Core.Plans;

/// <summary>
/// The JSON path subset extractors use (JMeter's JSON Extractor and k6's common cases): <c>$</c>, <c>.name</c>,
/// <c>['name']</c>, <c>[index]</c> (negative from the end). A string is taken as it is; any other value as its JSON text.
/// </summary>
public sealed class JsonPath
{
    private readonly object[] _steps;

    private JsonPath(object[] steps) => _steps = steps;

    /// <summary>The path, or a <see cref="FormatException"/> saying where it is wrong.</summary>
    public static JsonPath Parse(string path)
    {
        if (!TryParse(path, out var parsed, out var error))
        {
            throw new FormatException(error);
        }

        return parsed!;
    }

    public static bool TryParse(string path, out JsonPath? parsed, out string? error)
    {
        parsed = null;
        error = null;
        var steps = new List<object>();
        int i = 0;
        if (path.StartsWith('$'))
        {
            i = 1;
        }

        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                int start = ++i;
                while (i < path.Length && path[i] != '.' && path[i] != '[')
                {
                    i++;
                }

                if (i == start)
                {
                    error = $"an empty name at {start} in '{path}'";
                    return false;
                }

                steps.Add(path[start..i]);
            }
            else if (path[i] == '[')
            {
                int close = path.IndexOf(']', i);
                if (close < 0)
                {
                    error = $"'[' without ']' in '{path}'";
                    return false;
                }

                var inner = path[(i + 1)..close].Trim();
                if (inner.Length >= 2 && (inner[0] is '\'' or '"') && inner[^1] == inner[0])
                {
                    steps.Add(inner[1..^1]);
                }
                else if (int.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
                {
                    steps.Add(index);
                }
                else
                {
                    error = $"'[{inner}]' in '{path}' is neither an index nor a quoted name (filters and wildcards are not supported)";
                    return false;
                }

                i = close + 1;
            }
            else if (steps.Count == 0 && i == 0)
            {
                // A bare first name: token.value
                path = "." + path;
            }
            else
            {
                error = $"unexpected '{path[i]}' at {i} in '{path}'";
                return false;
            }
        }

        parsed = new JsonPath([.. steps]);
        return true;
    }

    /// <summary>The value at the path in <paramref name="json"/>; null when the body is not JSON or the path leads nowhere.</summary>
    public string? Select(string json) => Select(System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>The value at the path in the UTF-8 JSON <paramref name="utf8"/>; null when it is not JSON or the path leads nowhere.</summary>
    public string? Select(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 64 });
            var e = doc.RootElement;
            foreach (var step in _steps)
            {
                switch (step)
                {
                    case string name when e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var child):
                        e = child;
                        break;
                    case int index when e.ValueKind == JsonValueKind.Array:
                        int n = e.GetArrayLength();
                        int at = index < 0 ? n + index : index;
                        if (at < 0 || at >= n)
                        {
                            return null;
                        }

                        e = e[at];
                        break;
                    default:
                        return null;
                }
            }

            return e.ValueKind switch
            {
                JsonValueKind.String => e.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => e.GetRawText(),
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
