using System.Text;
using YamlDotNet.RepresentationModel;

namespace Constellation.Tests;

/// <summary>
/// Turns a valid plan into a hostile one, reproducibly from a seed: tree mutations (drop, retype, swap nodes; huge,
/// odd and hostile values; deep nesting) and text mutations (duplicated and deleted lines, random bytes, truncation,
/// a second document, tabs). The plans the fuzz tests start from are every valid plan of the repository.
/// </summary>
internal static class PlanMutator
{
    /// <summary>Every valid plan the repository has: plans/ and the test corpus.</summary>
    public static IReadOnlyList<(string Name, string Text)> Corpus()
    {
        var files = Directory.GetFiles(Path.Combine(Repo.Root, "plans"), "*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(Repo.Root, "tests", "Core.Tests", "Plans", "Corpus"), "*.yaml"))
            .Order(StringComparer.Ordinal);
        return [.. files.Select(f => (Path.GetFileName(f), File.ReadAllText(f)))];
    }

    private static readonly string[] Hostile =
    [
        "1e309", "-1e309", "NaN", "-Infinity", "99999999999999999999999", "-1", "0", "0.0000001", "1e-320", "2147483648",
        "true", "null", "~", "", " ", "${env:NOT_SET_ANYWHERE}", "${file:/nonexistent/secret}", "${env:1bad}", "${vault:x}",
        "\0", "\r\nInjected: yes", "💥🚀", "../../../etc/passwd", "file:///etc/passwd", "gopher://127.0.0.1:70/", "http://",
        "http://user:pw@127.0.0.1:1/", "p(NaN) < 1s", "p(95) < -5s", "error_rate < 200%", "10000000h", "-5s", "1000000ms",
        "9999999999s", "0s", "<script>alert(1)</script>", "'", "\"", "&anchor", "*alias", "!!binary aGVsbG8=", "? [a, b]",
    ];

    /// <summary>The plan text after <paramref name="operations"/> mutations chosen by <paramref name="seed"/>.</summary>
    public static string Mutate(string yaml, int seed, int operations)
    {
        var random = new Random(seed);
        var text = yaml;
        for (int i = 0; i < operations; i++)
        {
            text = random.Next(3) == 0 ? MutateText(text, random) : MutateTree(text, random) ?? MutateText(text, random);
        }

        return text;
    }

    private static string? MutateTree(string yaml, Random random)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException)
        {
            return null; // an earlier text mutation broke it: mutate the text
        }

        if (stream.Documents.Count == 0)
        {
            return null;
        }

        var nodes = new List<(YamlNode Node, YamlNode? Parent, YamlNode? Key)>();
        Collect(stream.Documents[0].RootNode, null, null, nodes, 0);
        var (node, parent, key) = nodes[random.Next(nodes.Count)];
        switch (random.Next(7))
        {
            case 0: // drop it
                Remove(parent, key, node);
                break;
            case 1: // a hostile or huge value
                Replace(parent, key, node, new YamlScalarNode(Hostile[random.Next(Hostile.Length)]));
                break;
            case 2: // retype: a scalar becomes a list or a map, a collection a scalar
                YamlNode retyped = node is YamlScalarNode s
                    ? random.Next(2) == 0 ? new YamlSequenceNode(s) : new YamlMappingNode(new YamlScalarNode("x"), s)
                    : new YamlScalarNode("x");
                Replace(parent, key, node, retyped);
                break;
            case 3: // swap with another node's value
                var (other, otherParent, otherKey) = nodes[random.Next(nodes.Count)];
                if (!ReferenceEquals(other, node) && !Contains(node, other) && !Contains(other, node))
                {
                    Replace(parent, key, node, Clone(other));
                    Replace(otherParent, otherKey, other, Clone(node));
                }

                break;
            case 4: // deep nesting
                YamlNode deep = node;
                for (int d = random.Next(30, 80); d > 0; d--)
                {
                    deep = new YamlSequenceNode(deep);
                }

                Replace(parent, key, node, deep);
                break;
            case 5: // a long value
                Replace(parent, key, node, new YamlScalarNode(new string('a', random.Next(1, 200_000))));
                break;
            default: // an extra, unknown or repeated key
                if (node is YamlMappingNode map)
                {
                    var name = random.Next(2) == 0 ? "unknownKey" : map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value).FirstOrDefault() + "2";
                    if (!map.Children.ContainsKey(new YamlScalarNode(name)))
                    {
                        map.Add(name, Hostile[random.Next(Hostile.Length)]);
                    }
                }

                break;
        }

        var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static string MutateText(string text, Random random)
    {
        var lines = text.Split('\n').ToList();
        int at = random.Next(lines.Count);
        switch (random.Next(7))
        {
            case 0:
                lines.Insert(at, lines[at]); // a duplicated line: repeated keys, repeated items
                break;
            case 1:
                lines.RemoveAt(at);
                break;
            case 2:
                var bytes = new byte[random.Next(1, 16)];
                random.NextBytes(bytes);
                var pos = random.Next(text.Length + 1);
                return string.Concat(text.AsSpan(0, pos), Encoding.Latin1.GetString(bytes), text.AsSpan(pos));
            case 3:
                return text[..random.Next(text.Length + 1)]; // cut off
            case 4:
                lines.Insert(at, "---");
                break;
            case 5:
                lines[at] = "\t" + lines[at];
                break;
            default:
                lines[at] = lines[at].Replace(":", random.Next(2) == 0 ? ": {" : ": [", StringComparison.Ordinal); // an unclosed collection
                break;
        }

        return string.Join('\n', lines);
    }

    private static void Collect(YamlNode node, YamlNode? parent, YamlNode? key, List<(YamlNode, YamlNode?, YamlNode?)> into, int depth)
    {
        if (depth > 64)
        {
            return;
        }

        into.Add((node, parent, key));
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children.ToList())
                {
                    Collect(v, map, k, into, depth + 1);
                }

                break;
            case YamlSequenceNode seq:
                foreach (var c in seq.Children.ToList())
                {
                    Collect(c, seq, null, into, depth + 1);
                }

                break;
        }
    }

    private static void Remove(YamlNode? parent, YamlNode? key, YamlNode node)
    {
        switch (parent)
        {
            case YamlMappingNode map when key is not null:
                map.Children.Remove(key);
                break;
            case YamlSequenceNode seq:
                seq.Children.Remove(node);
                break;
        }
    }

    private static void Replace(YamlNode? parent, YamlNode? key, YamlNode node, YamlNode with)
    {
        switch (parent)
        {
            case YamlMappingNode map when key is not null:
                map.Children[key] = with;
                break;
            case YamlSequenceNode seq:
                int i = seq.Children.IndexOf(node);
                if (i >= 0)
                {
                    seq.Children[i] = with;
                }

                break;
        }
    }

    private static bool Contains(YamlNode outer, YamlNode inner) => outer.AllNodes.Skip(1).Any(n => ReferenceEquals(n, inner));

    private static YamlNode Clone(YamlNode node) => node switch
    {
        YamlScalarNode s => new YamlScalarNode(s.Value),
        YamlSequenceNode q => new YamlSequenceNode(q.Children.Select(Clone)),
        YamlMappingNode m => new YamlMappingNode(m.Children.Select(kv => new KeyValuePair<YamlNode, YamlNode>(Clone(kv.Key), Clone(kv.Value)))),
        _ => new YamlScalarNode("x"),
    };
}
