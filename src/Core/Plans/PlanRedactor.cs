using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>
/// Takes secrets out of a plan's text before it goes into run.json, the reports or the service's pages: the
/// values of request headers that carry credentials (Authorization, Cookie, API keys, tokens, secrets,
/// passwords) and credentials in a base URL's userinfo. The rest of the text — comments, layout — stays as written.
/// </summary>
public static class PlanRedactor
{
    public const string Mask = "***redacted***";

    private static readonly string[] SensitiveParts = ["authorization", "cookie", "token", "secret", "password", "api-key", "apikey", "x-api-key", "session"];

    public static bool IsSensitiveHeader(string name) => SensitiveParts.Any(p => name.Contains(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>A URL as it may be recorded: credentials in its userinfo (user:password@) masked.</summary>
    public static string RedactUrl(Uri url)
    {
        if (!url.IsAbsoluteUri || url.UserInfo.Length == 0)
        {
            return url.ToString();
        }

        return new UriBuilder(url) { UserName = "redacted", Password = string.Empty }.Uri.ToString();
    }

    /// <summary>A URL text as it may be recorded (see <see cref="RedactUrl(Uri)"/>); text that is not a URL is kept.</summary>
    public static string RedactUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? RedactUrl(u) : url;

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

        var spans = new List<(int Start, int End, string With)>();
        foreach (var doc in stream.Documents)
        {
            Collect(doc.RootNode, spans);
        }

        // Replace from the end so earlier offsets stay valid.
        var text = yaml;
        foreach (var (start, end, with) in spans.DistinctBy(s => s.Start).OrderByDescending(s => s.Start)) // an aliased node is visited once per alias
        {
            text = string.Concat(text.AsSpan(0, start), "\"" + with + "\"", text.AsSpan(end));
        }

        return text;
    }

    private static void Collect(YamlNode node, List<(int, int, string)> spans)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    if (k is YamlScalarNode { Value: "baseUrl" } && v is YamlScalarNode { Value: { } url } && RedactUrl(url) is var safe && safe != url)
                {
                    spans.Add(((int)v.Start.Index, (int)v.End.Index, safe));
                }
                else if (k is YamlScalarNode { Value: "headers" } && v is YamlMappingNode headers)
                    {
                        foreach (var (name, value) in headers.Children)
                        {
                            if (name is YamlScalarNode { Value: { } n } && IsSensitiveHeader(n) && value is YamlScalarNode { Value.Length: > 0 })
                            {
                                spans.Add(((int)value.Start.Index, (int)value.End.Index, Mask));
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
