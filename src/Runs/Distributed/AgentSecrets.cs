using Constellation.Core.Plans;
using YamlDotNet.RepresentationModel;

namespace Constellation.Runs.Distributed;

/// <summary>
/// Keeps secrets out of the exchange: the coordinator replaces every credential-looking header value (the names
/// <see cref="PlanRedactor"/> masks), every secret reference (<c>${env:NAME}</c>, <c>${file:PATH}</c>, resolved here)
/// and a base URL's user:password by a reference to an environment variable of its own, and hands the values to the
/// agents through their environment — the local process environment, or a Kubernetes Secret the Job's pods load. An
/// agent resolves the references from its environment when it loads the plan.
/// </summary>
public static class AgentSecrets
{
    public const string Prefix = "CONSTELLATION_AGENT_SECRET_";

    /// <summary>What goes into the exchange, and the values that go into the agents' environment instead.</summary>
    public sealed record Split(string PlanText, IReadOnlyDictionary<string, string> TargetUrls, IReadOnlyDictionary<string, string> TargetUserInfo, IReadOnlyDictionary<string, string> Environment);

    /// <param name="planText">The plan as written (references unresolved).</param>
    /// <param name="targetUrls">The targets' URLs the load goes to, credentials resolved.</param>
    /// <param name="secrets">Where the plan's references are resolved.</param>
    public static Split Extract(string planText, IReadOnlyDictionary<string, Uri> targetUrls, ISecretSource secrets)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        string Name(string value)
        {
            var name = Prefix + env.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env[name] = value;
            return name;
        }

        string Reference(string value) => "${env:" + Name(value) + "}";

        // Every reference becomes one to the agents' own variable, holding what it resolves to here.
        string Rewrite(string text, string path) => SecretReferences.Rewrite(text, r => Reference(SecretReferences.Resolve(r.Text, path, secrets)));

        var text = YamlTextEdits.Edit(planText, (path, key, node) => node switch
        {
            // The agents take their targets' URLs, credentials apart, from the assignment: none stays in the plan.
            YamlScalarNode { Value: { } url } n when key == "baseUrl" && Uri.TryCreate(SecretReferences.EscapeInUserInfo(url), UriKind.Absolute, out var u) && u.UserInfo.Length > 0 =>
                [(n, new UriBuilder(u) { UserName = string.Empty, Password = string.Empty }.Uri.ToString())],
            YamlScalarNode { Value: { Length: > 0 } value } n when path.Count > 0 && path[^1] == "headers" && PlanRedactor.IsSensitiveHeader(key) =>
                [(n, Reference(SecretReferences.Resolve(value, $"headers.{key}", secrets)))],
            YamlScalarNode { Value: { } value } n when SecretReferences.Has(value) =>
                [(n, Rewrite(value, key))],
            _ => [],
        }) ?? throw new InvalidOperationException("the plan could not be read again to take its secrets out"); // validated before: cannot be

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

    /// <summary>The assigned plan with its references resolved from the agent's environment <paramref name="env"/>.</summary>
    public static Plan Resolve(AgentAssignment assignment, Func<string, string?> env)
    {
        var loaded = PlanLoader.Parse(assignment.PlanText);
        if (!loaded.IsValid)
        {
            throw new AgentException($"the assigned plan is invalid: {string.Join("; ", loaded.Errors.Select(e => e.Message))}");
        }

        try
        {
            return SecretReferences.Resolve(PlanLoader.WithData(loaded.Plan!, (s, _) => assignment.Data.GetValueOrDefault(s.Name)), new SecretSource(env));
        }
        catch (SecretException e)
        {
            throw new AgentException($"{e.Message} in this agent's environment (a Kubernetes Secret, or the coordinator's process environment, provides it)");
        }
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
}
