using System.Globalization;
using Constellation.Core.Text;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>A problem in a plan, with the path of the offending value and its line.</summary>
public sealed record PlanError(string Path, string Message, int Line = 0)
{
    public override string ToString() => Line > 0 ? $"{Path}: {Message} (line {Line})" : $"{Path}: {Message}";
}

/// <summary>Collects every error while a YAML document is read, so all of them are reported at once.</summary>
internal sealed class YamlErrors
{
    public List<PlanError> Items { get; } = [];

    public void Add(string path, string message, YamlNode? node = null) =>
        Items.Add(new PlanError(path, message, node is null ? 0 : (int)node.Start.Line));
}

/// <summary>Reads one YAML mapping, tracking which keys were used so unknown ones are errors.</summary>
internal sealed class YamlMap
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private YamlMap(YamlMappingNode node, string path, YamlErrors errors)
    {
        _node = node;
        Path = path;
        Errors = errors;
    }

    public string Path { get; }
    public YamlErrors Errors { get; }
    public YamlNode Node => _node;

    public static YamlMap? From(YamlNode? node, string path, YamlErrors errors)
    {
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
                return v is YamlScalarNode { Value: null or "" or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain } ? null : v;
            }
        }

        return null;
    }

    public string? String(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required)
            {
                Errors.Add(Child(key), "is required", _node);
            }

            return null;
        }

        if (node is YamlScalarNode s)
        {
            return s.Value;
        }

        Errors.Add(Child(key), "must be a single value", node);
        return null;
    }

    public double? Number(string key, bool required = false)
    {
        var text = String(key, required);
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

    public TimeSpan? Duration(string key, bool required = false)
    {
        var text = String(key, required);
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

    public IReadOnlyDictionary<string, string> StringMap(string key)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
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
            if (v is YamlScalarNode s)
            {
                result[name] = s.Value ?? string.Empty;
            }
            else
            {
                Errors.Add($"{Child(key)}.{name}", "must be a single value", v);
            }
        }

        return result;
    }

    public YamlSequenceNode? Sequence(string key, bool required = false)
    {
        var node = Get(key);
        switch (node)
        {
            case null when required:
                Errors.Add(Child(key), "is required", _node);
                return null;
            case null:
                return null;
            case YamlSequenceNode seq:
                return seq;
            default:
                Errors.Add(Child(key), "must be a list", node);
                return null;
        }
    }

    /// <summary>Reports every key that no reader asked for: a typo must not be silently ignored.</summary>
    public void RejectUnknown()
    {
        var known = string.Join(", ", _used.Order(StringComparer.Ordinal));
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
