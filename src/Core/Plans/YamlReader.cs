using System.Globalization;
using Constellation.Core.Text;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>A problem in a plan, with the path of the offending value and, when it came from YAML, its line and column.</summary>
public sealed record PlanError(string Path, string Message, int Line = 0, int Column = 0)
{
    public override string ToString() => (Line, Column) switch
    {
        (> 0, > 0) => $"{Path}: {Message} (line {Line}, column {Column})",
        (> 0, _) => $"{Path}: {Message} (line {Line})",
        _ => $"{Path}: {Message}",
    };
}

/// <summary>
/// Where the values of a plan read from YAML are: the line of every path that was read, so that the validator's
/// errors, which know only paths, point at the right line.
/// </summary>
public sealed class SourceMap
{
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

    /// <summary>No positions (a plan built in memory).</summary>
    public static SourceMap None { get; } = new();

    internal void Set(string path, YamlNode? node)
    {
        if (node is not null && !_lines.ContainsKey(path))
        {
            _lines[path] = (int)node.Start.Line;
        }
    }

    /// <summary>The line of a path, or of its nearest parent that has one; 0 when none does.</summary>
    public int LineOf(string path)
    {
        for (var p = path; ; p = Parent(p))
        {
            if (_lines.TryGetValue(p, out var line))
            {
                return line;
            }

            if (p.Length == 0)
            {
                return 0;
            }
        }
    }

    private static string Parent(string path)
    {
        int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}

/// <summary>Collects every error while a YAML document is read (so all of them are reported at once) and where each value was.</summary>
internal sealed class YamlErrors
{
    /// <summary>After this many errors the rest are counted, not listed: a hostile file cannot flood the output.</summary>
    public const int MaxErrors = 100;

    private readonly HashSet<string> _badPaths = new(StringComparer.Ordinal);
    private int _dropped;

    public List<PlanError> Items { get; } = [];

    public SourceMap Positions { get; } = new();

    /// <summary>Nodes visited so far: an alias-heavy document cannot make reading it endless.</summary>
    public int Visited { get; set; }

    public void Add(string path, string message, YamlNode? node = null)
    {
        _badPaths.Add(path);
        if (Items.Count >= MaxErrors)
        {
            _dropped++;
            return;
        }

        Items.Add(new PlanError(path, message, node is null ? Positions.LineOf(path) : (int)node.Start.Line));
    }

    /// <summary>Whether the value at <paramref name="path"/> (or one holding it) could not be read: the validator then says nothing more about it.</summary>
    public bool IsBad(string path) => _badPaths.Any(b => path == b || path.StartsWith(b + ".", StringComparison.Ordinal) || path.StartsWith(b + "[", StringComparison.Ordinal));

    /// <summary>Marks a value as unreadable without a message of its own (its parts already have theirs).</summary>
    public void MarkBad(string path) => _badPaths.Add(path);

    /// <summary>The errors, with a last line counting those not listed.</summary>
    public List<PlanError> All() => _dropped == 0 ? Items : [.. Items, new PlanError("(plan)", $"and {_dropped} more problem(s)")];
}

/// <summary>Reads one YAML mapping, tracking which keys were used so unknown ones are errors.</summary>
internal sealed class YamlMap
{
    /// <summary>Most nodes read from one plan (aliases reuse nodes, so a small file could expand without end).</summary>
    public const int MaxNodes = 200_000;

    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private YamlMap(YamlMappingNode node, string path, YamlErrors errors)
    {
        _node = node;
        Path = path;
        Errors = errors;
        errors.Positions.Set(path, node);
    }

    public string Path { get; }
    public YamlErrors Errors { get; }
    public YamlNode Node => _node;

    /// <summary>The keys a reader asked for, for the "unknown key" hint, besides those it asked for.</summary>
    public IReadOnlyList<string> Also { get; init; } = [];

    public static YamlMap? From(YamlNode? node, string path, YamlErrors errors)
    {
        if (++errors.Visited > MaxNodes)
        {
            if (errors.Visited == MaxNodes + 1)
            {
                errors.Add("(plan)", $"expands to more than {MaxNodes} values (through its aliases)");
            }

            return null;
        }

        if (node is YamlMappingNode map)
        {
            return new YamlMap(map, path, errors);
        }

        errors.Add(path, node is null ? "is required" : "must be a mapping (key: value)", node);
        return null;
    }

    public string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public bool Has(string key) => Get(key, markUsed: false) is not null;

    public YamlNode? Get(string key, bool markUsed = true)
    {
        if (markUsed)
        {
            _used.Add(key);
        }

        foreach (var (k, v) in _node.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                Errors.Positions.Set(Child(key), v);
                return v is YamlScalarNode { Value: null or "" or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain } ? null : v;
            }
        }

        return null;
    }

    public string? String(string key)
    {
        var node = Get(key);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode s)
        {
            return s.Value;
        }

        Errors.Add(Child(key), "must be a single value", node);
        return null;
    }

    public double? Number(string key)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
        {
            return v;
        }

        Errors.Add(Child(key), $"must be a number, got '{text}'", Get(key));
        return null;
    }

    public TimeSpan? Duration(string key)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (Durations.TryParse(text, out var v))
        {
            return v;
        }

        Errors.Add(Child(key), $"must be a duration with a unit (e.g. 500ms, 10s, 2m), got '{text}'", Get(key));
        return null;
    }

    public bool? Bool(string key)
    {
        var text = String(key);
        switch (text)
        {
            case null:
                return null;
            case "true":
                return true;
            case "false":
                return false;
            default:
                Errors.Add(Child(key), $"must be true or false, got '{text}'", Get(key));
                return null;
        }
    }

    public IReadOnlyDictionary<string, string> StringMap(string key, StringComparer? comparer = null)
    {
        var result = new Dictionary<string, string>(comparer ?? StringComparer.Ordinal);
        var node = Get(key);
        if (node is null)
        {
            return result;
        }

        if (node is not YamlMappingNode map)
        {
            Errors.Add(Child(key), "must be a mapping of names to values", node);
            return result;
        }

        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? string.Empty;
            Errors.Positions.Set($"{Child(key)}.{name}", v);
            if (v is YamlScalarNode s)
            {
                if (!result.TryAdd(name, s.Value ?? string.Empty))
                {
                    Errors.Add($"{Child(key)}.{name}", "is given twice (names are compared without case)", k);
                }
            }
            else
            {
                Errors.Add($"{Child(key)}.{name}", "must be a single value", v);
            }
        }

        return result;
    }

    public YamlSequenceNode? Sequence(string key)
    {
        var node = Get(key);
        switch (node)
        {
            case null:
                return null;
            case YamlSequenceNode seq:
                for (int i = 0; i < seq.Children.Count; i++)
                {
                    Errors.Positions.Set($"{Child(key)}[{i}]", seq.Children[i]);
                }

                return seq;
            default:
                Errors.Add(Child(key), "must be a list", node);
                return null;
        }
    }

    /// <summary>Reports every key that no reader asked for: a typo must not be silently ignored.</summary>
    public void RejectUnknown()
    {
        var known = string.Join(", ", _used.Concat(Also).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        foreach (var (k, _) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            if (!_used.Contains(name))
            {
                Errors.Add(Child(name), $"unknown key (known here: {known})", k);
            }
        }
    }
}
