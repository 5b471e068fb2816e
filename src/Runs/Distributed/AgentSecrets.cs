using Constellation.Core.Plans;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Constellation.Runs.Distributed;

/// <summary>
/// Keeps secrets out of the exchange: the coordinator replaces every credential-looking header value (the names
/// <see cref="PlanRedactor"/> masks) and a base URL's user:password by a reference to an environment variable, and
/// hands the values to the agents through their environment — the local process environment, or a Kubernetes Secret
/// the Job's pods load. An agent resolves the references when it loads the plan.
/// </summary>
public static class AgentSecrets
{
    public const string Prefix = "CONSTELLATION_AGENT_SECRET_";

    /// <summary>What goes into the exchange, and the values that go into the agents' environment instead.</summary>
    public sealed record Split(string PlanText, IReadOnlyDictionary<string, string> TargetUrls, IReadOnlyDictionary<string, string> TargetUserInfo, IReadOnlyDictionary<string, string> Environment);

    public static Split Extract(string planText, IReadOnlyDictionary<string, Uri> targetUrls)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        string Name(string value)
        {
            var name = Prefix + env.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env[name] = value;
            return name;
        }

        var spans = new List<(int Start, int End, string Value)>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(planText));
        }
        catch (YamlException)
        {
            // the coordinator validated the plan: this cannot be, but nothing is sent in clear for it either
            throw new InvalidOperationException("the plan could not be read again to take its secrets out");
        }

        foreach (var doc in stream.Documents)
        {
            Collect(doc.RootNode, spans);
        }

        var text = planText;
        foreach (var (start, end, value) in spans.DistinctBy(s => s.Start).OrderByDescending(s => s.Start)) // an aliased node is visited once per alias
        {
            text = string.Concat(text.AsSpan(0, start), "\"${env:" + Name(value) + "}\"", text.AsSpan(end));
        }

        var urls = new Dictionary<string, string>(StringComparer.Ordinal);
        var userInfo = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (target, url) in targetUrls)
        {
            if (url.UserInfo.Length > 0)
            {
                userInfo[target] = Name(url.UserInfo);
                urls[target] = new UriBuilder(url) { UserName = string.Empty, Password = string.Empty }.Uri.ToString();
            }
            else
            {
                urls[target] = url.ToString();
            }
        }

        return new Split(text, urls, userInfo, env);
    }

    /// <summary>The assigned plan with its secret references resolved from <paramref name="env"/>.</summary>
    public static Plan Resolve(AgentAssignment assignment, Func<string, string?> env)
    {
        var loaded = PlanLoader.Parse(assignment.PlanText);
        if (!loaded.IsValid)
        {
            throw new AgentException($"the assigned plan is invalid: {string.Join("; ", loaded.Errors.Select(e => e.Message))}");
        }

        var plan = loaded.Plan!;
        return plan with
        {
            Scenarios = [.. plan.Scenarios.Select(s =>
            {
                var sequence = s.Sequence.Select(r => r with { Headers = r.Headers.ToDictionary(h => h.Key, h => Value(h.Value, env), StringComparer.OrdinalIgnoreCase) }).ToList();
                return s with { Request = sequence[0], Sequence = sequence };
            })],
        };
    }

    /// <summary>A target's URL, with its user:password from <paramref name="env"/> when it has one.</summary>
    public static Uri TargetUrl(AgentAssignment assignment, string target, Func<string, string?> env)
    {
        var url = new Uri(assignment.TargetUrls[target]);
        if (!assignment.TargetUserInfo.TryGetValue(target, out var name))
        {
            return url;
        }

        var info = env(name) ?? throw new AgentException($"the secret {name} (target {target}'s user:password) is not in this agent's environment");
        int colon = info.IndexOf(':', StringComparison.Ordinal);
        return new UriBuilder(url)
        {
            UserName = Uri.UnescapeDataString(colon < 0 ? info : info[..colon]),
            Password = colon < 0 ? string.Empty : Uri.UnescapeDataString(info[(colon + 1)..]),
        }.Uri;
    }

    private static string Value(string value, Func<string, string?> env)
    {
        if (!value.StartsWith("${env:" + Prefix, StringComparison.Ordinal) || !value.EndsWith('}'))
        {
            return value;
        }

        var name = value["${env:".Length..^1];
        return env(name) ?? throw new AgentException($"the secret {name} is not in this agent's environment (a Kubernetes Secret, or the coordinator's process environment, provides it)");
    }

    private static void Collect(YamlNode node, List<(int, int, string)> spans)
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
                            if (name is YamlScalarNode { Value: { } n } && PlanRedactor.IsSensitiveHeader(n) && value is YamlScalarNode { Value: { Length: > 0 } text })
                            {
                                spans.Add(((int)value.Start.Index, (int)value.End.Index, text));
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
