using System.Text;

namespace Constellation.Runs.Jmx;

/// <summary>
/// Evaluates JMeter expressions at import time: <c>${var}</c> from user-defined variables, and the property
/// functions <c>${__P(name,default)}</c> and <c>${__property(name,,default)}</c> from -J name=value. Anything
/// else (other functions, variables set at run time) cannot be evaluated and is reported.
/// </summary>
public sealed class JmxValues
{
    private readonly Dictionary<string, string> _variables = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, string> _properties;

    public JmxValues(IReadOnlyDictionary<string, string> properties)
    {
        _properties = properties;
    }

    /// <summary>Properties the plan read (name → value used), for the plan's header comment.</summary>
    public SortedDictionary<string, string> UsedProperties { get; } = new(StringComparer.Ordinal);

    public void Define(string name, string value) => _variables[name] = value;

    /// <summary>Evaluates <paramref name="text"/>; every expression it cannot evaluate is added to <paramref name="problems"/>.</summary>
    public string Evaluate(string? text, List<string> problems)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains("${", StringComparison.Ordinal))
        {
            return text ?? string.Empty;
        }

        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            int open = text.IndexOf("${", i, StringComparison.Ordinal);
            if (open < 0)
            {
                sb.Append(text, i, text.Length - i);
                break;
            }

            sb.Append(text, i, open - i);
            int close = MatchingBrace(text, open + 2);
            if (close < 0)
            {
                sb.Append(text, open, text.Length - open); // JMeter leaves an unclosed ${ as it is
                break;
            }

            var inner = text[(open + 2)..close];
            sb.Append(EvaluateExpression(inner, problems) ?? text[open..(close + 1)]);
            i = close + 1;
        }

        return sb.ToString();
    }

    private string? EvaluateExpression(string inner, List<string> problems)
    {
        if (!inner.StartsWith("__", StringComparison.Ordinal))
        {
            if (_variables.TryGetValue(inner, out var v))
            {
                return v;
            }

            problems.Add($"variable ${{{inner}}} is not defined in the plan (set at run time, e.g. by an extractor or a CSV Data Set?)");
            return null;
        }

        int paren = inner.IndexOf('(', StringComparison.Ordinal);
        var function = paren < 0 ? inner[2..] : inner[2..paren];
        var args = paren < 0 || !inner.EndsWith(')') ? [] : SplitArgs(inner[(paren + 1)..^1]).Select(a => Evaluate(a, problems)).ToList();
        switch (function)
        {
            case "P" or "property" when args.Count >= 1 && args[0].Length > 0:
                var name = args[0].Trim();
                var fallback = function == "P" ? (args.Count > 1 ? args[1] : null) : (args.Count > 2 ? args[2] : null);
                if (_properties.TryGetValue(name, out var given))
                {
                    UsedProperties[name] = given;
                    return given;
                }

                if (fallback is not null)
                {
                    UsedProperties[name] = fallback;
                    return fallback;
                }

                problems.Add($"property '{name}' has no default in ${{{inner}}}: give it with -J {name}=VALUE");
                return null;
            default:
                problems.Add($"function ${{{inner}}} cannot be evaluated at import (only __P and __property can)");
                return null;
        }
    }

    private static int MatchingBrace(string text, int from)
    {
        int depth = 1;
        for (int i = from; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == '{')
            {
                depth++;
            }
            else if (text[i] == '}' && --depth == 0)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Splits function arguments at commas that are neither escaped (\,) nor inside a nested ${...}.</summary>
    private static List<string> SplitArgs(string text)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] == ',')
            {
                sb.Append(',');
                i++;
                continue;
            }

            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                result.Add(sb.ToString());
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        result.Add(sb.ToString());
        return result;
    }
}
