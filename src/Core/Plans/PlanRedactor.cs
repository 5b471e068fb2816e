using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>
/// Takes secrets out of a plan's text before it goes into run.json, the reports or the service's pages: the
/// values of request headers that carry credentials (Authorization, Cookie, API keys, tokens, secrets,
/// passwords). The rest of the text — comments, layout — stays as written.
/// </summary>
public static class PlanRedactor
{
    public const string Mask = "***redacted***";

    private static readonly string[] SensitiveParts = ["authorization", "cookie", "token", "secret", "password", "api-key", "apikey", "x-api-key", "session"];

    public static bool IsSensitiveHeader(string name) => SensitiveParts.Any(p => name.Contains(p, StringComparison.OrdinalIgnoreCase));

    public static string Redact(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException)
        {
            return yaml; // not a plan that parsed; nothing was run from it
        }

        var spans = new List<(int Start, int End)>();
        foreach (var doc in stream.Documents)
        {
            Collect(doc.RootNode, spans);
        }

        // Replace from the end so earlier offsets stay valid.
        var text = yaml;
        foreach (var (start, end) in spans.OrderByDescending(s => s.Start))
        {
            text = string.Concat(text.AsSpan(0, start), "\"" + Mask + "\"", text.AsSpan(end));
        }

        return text;
    }

    private static void Collect(YamlNode node, List<(int, int)> spans)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    if (k is YamlScalarNode { Value: "headers" } && v is YamlMappingNode headers)
                    {
                        foreach (var (name, value) in headers.Children)
                        {
                            if (name is YamlScalarNode { Value: { } n } && IsSensitiveHeader(n) && value is YamlScalarNode { Value.Length: > 0 })
                            {
                                spans.Add(((int)value.Start.Index, (int)value.End.Index));
                            }
                        }
                    }
                    else
                    {
                        Collect(v, spans);
                    }
                }

                break;
            case YamlSequenceNode seq:
                foreach (var child in seq.Children)
                {
                    Collect(child, spans);
                }

                break;
        }
    }
}
