using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>
/// Changes scalar values inside a YAML text while keeping the rest as written (comments, layout, other values): each
/// new value is written by YamlDotNet's emitter as a double-quoted scalar, an anchor on the old value stays on the new
/// one (so every alias of it now reads the new value), and a block scalar (<c>|</c>, <c>&gt;</c>) keeps the line
/// break that ends it.
/// </summary>
public static class YamlTextEdits
{
    /// <summary>
    /// Walks every mapping of the text's documents, calling <paramref name="visit"/> with each key, its value node, and
    /// the keys that lead to it; the scalar nodes it returns new values for are changed. An aliased node is changed
    /// once, where it is defined. Null when the text is not YAML.
    /// </summary>
    public static string? Edit(string yaml, Func<IReadOnlyList<string>, string, YamlNode, IEnumerable<(YamlScalarNode Node, string Value)>> visit)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            return null; // (YamlDotNet throws the latter on some broken texts, such as an unclosed flow mapping)
        }

        var edits = new Dictionary<long, (YamlScalarNode Node, string Value)>();
        var path = new List<string>();
        foreach (var doc in stream.Documents)
        {
            Walk(doc.RootNode, path, visit, edits, []);
        }

        var text = yaml;
        foreach (var (node, value) in edits.Values.OrderByDescending(e => e.Node.Start.Index))
        {
            int start = (int)node.Start.Index, end = (int)node.End.Index;
            var anchor = node.Anchor.IsEmpty ? string.Empty : "&" + node.Anchor.Value + " ";
            var rest = string.Empty;
            if (node.Style is ScalarStyle.Literal or ScalarStyle.Folded)
            {
                // A block scalar's span runs to the next line's indentation: keep its last line break and what follows.
                int newline = text.LastIndexOf('\n', end - 1, end - start);
                rest = newline >= start ? text[newline..end] : string.Empty;
            }

            text = string.Concat(text.AsSpan(0, start), anchor + DoubleQuoted(value) + rest, text.AsSpan(end));
        }

        return text;
    }

    /// <summary>A value as a YAML double-quoted scalar, escaped by the emitter.</summary>
    public static string DoubleQuoted(string value)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var e = new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024));
        e.Emit(new StreamStart());
        e.Emit(new DocumentStart(null, null, isImplicit: true));
        e.Emit(new Scalar(null, null, value, ScalarStyle.DoubleQuoted, true, true));
        e.Emit(new DocumentEnd(isImplicit: true));
        e.Emit(new StreamEnd());
        return writer.ToString().TrimEnd('\r', '\n');
    }

    private static void Walk(
        YamlNode node,
        List<string> path,
        Func<IReadOnlyList<string>, string, YamlNode, IEnumerable<(YamlScalarNode Node, string Value)>> visit,
        Dictionary<long, (YamlScalarNode Node, string Value)> edits,
        HashSet<(long, string)> seen)
    {
        // A node is walked once per place it is reached from (an alias used under another key is walked there too,
        // so a header mapping anchored elsewhere is still seen as headers), and never twice from one place: aliases
        // cannot make the walk loop or multiply.
        if (!seen.Add((node.Start.Index, string.Join('\u0001', path))))
        {
            return;
        }

        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    var key = (k as YamlScalarNode)?.Value ?? string.Empty;
                    foreach (var edit in visit(path, key, v))
                    {
                        edits.TryAdd(edit.Node.Start.Index, edit);
                    }

                    path.Add(key);
                    Walk(v, path, visit, edits, seen);
                    path.RemoveAt(path.Count - 1);
                }

                break;
            case YamlSequenceNode seq:
                foreach (var child in seq.Children)
                {
                    Walk(child, path, visit, edits, seen);
                }

                break;
        }
    }
}
