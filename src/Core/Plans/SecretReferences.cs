using System.Text.RegularExpressions;

namespace Constellation.Core.Plans;

/// <summary>One secret a plan refers to: <c>${env:NAME}</c> or <c>${file:PATH}</c>, and where.</summary>
public sealed record SecretReference(string Kind, string Name, string Path)
{
    public string Text => $"${{{Kind}:{Name}}}";

    public override string ToString() => Text;
}

/// <summary>Where a run's secrets come from: the process environment and files.</summary>
public interface ISecretSource
{
    /// <summary>The value of <paramref name="reference"/>, or null when it is not there (unset, no such file).</summary>
    string? Read(SecretReference reference);
}

/// <summary>The environment (<c>${env:NAME}</c>) and files (<c>${file:PATH}</c>, relative to the current folder; one trailing line break dropped; at most 64 KiB; an empty file, a pipe or a device is missing).</summary>
public sealed class SecretSource(Func<string, string?>? environment = null) : ISecretSource
{
    public const int MaxFileBytes = 64 * 1024;

    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    public string? Read(SecretReference reference)
    {
        if (reference.Kind == "env")
        {
            return _environment(reference.Name);
        }

        try
        {
            var info = new FileInfo(reference.Name);
            if (!info.Exists || info.Length > MaxFileBytes)
            {
                return null;
            }

            // Read at most the size the file had when it was looked at, and never what has no size: an empty file, a
            // pipe or a device (size 0) is missing — never a FIFO that blocks, /dev/zero filling memory, or a request
            // sent with an empty credential. A file that grows meanwhile is cut.
            if (info.Length == 0)
            {
                return null;
            }

            var bytes = new byte[info.Length];
            using (var stream = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1))
            {
                bytes = bytes[..stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false)];
            }

            var text = new System.Text.UTF8Encoding(false).GetString(bytes).TrimStart('\uFEFF');
            return text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }
}

/// <summary>A secret a run needs is missing, or holds what cannot go where it is used; the message never holds a secret's value.</summary>
public sealed class SecretException(string message) : Exception(message);

/// <summary>
/// Secrets by reference: <c>${env:NAME}</c> and <c>${file:PATH}</c> in a request's headers, body and path (query
/// included), in a target's baseUrl credentials (<c>https://${env:USER}:${env:PASS}@host</c>) and in a launched
/// target's env. A plan keeps the references — its text, the run record, the reports, the logs, the agents' exchange
/// and the service's answers only ever hold the reference — and <see cref="Resolve(Plan, ISecretSource)"/> makes the
/// copy of the plan the load is sent from, at the run's start.
/// </summary>
public static partial class SecretReferences
{
    /// <summary>A reference: <c>${env:NAME}</c> (a variable name) or <c>${file:PATH}</c>.</summary>
    [GeneratedRegex(@"\$\{(?<kind>env|file):(?<name>[^}\r\n]*)\}")]
    private static partial Regex Reference();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    /// <summary>What a missing reference is: "is not set", "is not a readable, non-empty file of at most 64 KiB".</summary>
    public static string WhyMissing(SecretReference r) => r.Kind == "env" ? "is not set" : $"is not a readable, non-empty file of at most {SecretSource.MaxFileBytes / 1024} KiB";

    /// <summary>Whether <paramref name="text"/> holds a reference.</summary>
    public static bool Has(string? text) => text is not null && text.Contains("${", StringComparison.Ordinal) && Reference().IsMatch(text);

    /// <summary>The references in <paramref name="text"/>, found at <paramref name="path"/>.</summary>
    public static IEnumerable<SecretReference> In(string? text, string path) =>
        text is null || !text.Contains("${", StringComparison.Ordinal) ? [] : Reference().Matches(text).Select(m => new SecretReference(m.Groups["kind"].Value, m.Groups["name"].Value, path));

    /// <summary>Why a reference is malformed (an env name that is not a variable name, an empty path), or null.</summary>
    public static string? Problem(SecretReference r) => r.Kind switch
    {
        "env" when !EnvName().IsMatch(r.Name) => $"{r.Text}: an environment variable name is letters, digits and '_', not starting with a digit",
        "file" when r.Name.Trim().Length == 0 => $"{r.Text}: needs a file path",
        _ => null,
    };

    /// <summary>Every reference of a plan, each with its path, in the places references are resolved.</summary>
    public static IReadOnlyList<SecretReference> Of(Plan plan)
    {
        var found = new List<SecretReference>();
        foreach (var t in plan.Targets.Values)
        {
            if (t.BaseUrl is { } url)
            {
                found.AddRange(In(UserInfo(url), $"targets.{t.Name}.baseUrl"));
            }

            foreach (var (k, v) in t.Launch?.Env ?? new Dictionary<string, string>())
            {
                found.AddRange(In(v, $"targets.{t.Name}.launch.env.{k}"));
            }
        }

        for (int i = 0; i < plan.Scenarios.Count; i++)
        {
            var s = plan.Scenarios[i];
            for (int j = 0; j < s.Sequence.Count; j++)
            {
                var r = s.Sequence[j];
                var rp = s.Sequence.Count > 1 || r.Name is not null ? $"scenarios[{i}].requests[{j}]" : $"scenarios[{i}].request";
                found.AddRange(In(r.Path, $"{rp}.path"));
                found.AddRange(In(r.Body, $"{rp}.body"));
                foreach (var (k, v) in r.Headers)
                {
                    found.AddRange(In(v, $"{rp}.headers.{k}"));
                }
            }
        }

        return found;
    }

    /// <summary>The references of a plan that <paramref name="source"/> cannot give (unset variables, missing files).</summary>
    public static IReadOnlyList<SecretReference> Missing(Plan plan, ISecretSource source) =>
        [.. Of(plan).Where(r => Problem(r) is null && source.Read(r) is null).DistinctBy(r => (r.Text, r.Path))];

    /// <summary>
    /// The plan the load is sent from: every reference replaced by its value — raw in headers, bodies and launch env,
    /// percent-encoded in paths, as user and password in a baseUrl. Throws <see cref="SecretException"/> when one is
    /// missing or a header's value would hold a line break.
    /// </summary>
    public static Plan Resolve(Plan plan, ISecretSource source)
    {
        if (Of(plan).Count == 0)
        {
            return plan;
        }

        return plan with
        {
            Targets = plan.Targets.ToDictionary(kv => kv.Key, kv => ResolveTarget(kv.Value, source), StringComparer.Ordinal),
            Scenarios = [.. plan.Scenarios.Select((s, i) =>
            {
                var sequence = s.Sequence.Select((r, j) => ResolveRequest(r, $"scenarios[{i}].request{(s.Sequence.Count > 1 ? $"s[{j}]" : string.Empty)}", source)).ToList();
                return s with { Request = sequence[0], Sequence = sequence };
            })],
        };
    }

    /// <summary>Replaces the references in one text; <paramref name="encode"/> shapes each value (percent-encoding in a path).</summary>
    public static string Resolve(string text, string path, ISecretSource source, Func<string, string>? encode = null) =>
        !text.Contains("${", StringComparison.Ordinal) ? text : Reference().Replace(text, m =>
        {
            var r = new SecretReference(m.Groups["kind"].Value, m.Groups["name"].Value, path);
            if (Problem(r) is { } problem)
            {
                throw new SecretException($"{path}: {problem}");
            }

            var value = source.Read(r) ?? throw new SecretException($"{path}: {r.Text} {WhyMissing(r)}");
            return encode is null ? value : encode(value);
        });

    /// <summary>Replaces each reference in <paramref name="text"/> by what <paramref name="with"/> gives for it.</summary>
    public static string Rewrite(string text, Func<SecretReference, string> with) =>
        !text.Contains("${", StringComparison.Ordinal) ? text : Reference().Replace(text, m => with(new SecretReference(m.Groups["kind"].Value, m.Groups["name"].Value, string.Empty)));

    /// <summary>
    /// A baseUrl whose user:password holds references, as a URL: the references are percent-encoded so that the URL
    /// parses (a <c>${file:/run/secrets/x}</c> holds slashes), and read back by <see cref="UserInfo"/>.
    /// </summary>
    public static string EscapeInUserInfo(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        int at = scheme < 0 ? -1 : FindUserInfoEnd(url, scheme + 3);
        return at < 0 ? url : url[..(scheme + 3)] + Reference().Replace(url[(scheme + 3)..at], m => Uri.EscapeDataString(m.Value)) + url[at..];
    }

    /// <summary>A URL's user:password as written (references readable again), or null when it has none.</summary>
    public static string? UserInfo(Uri url) => url.IsAbsoluteUri && url.UserInfo.Length > 0 ? Uri.UnescapeDataString(url.UserInfo) : null;

    /// <summary>Whether a baseUrl text has references outside its user:password (they may only stand for credentials).</summary>
    public static bool HasReferenceOutsideUserInfo(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        int at = scheme < 0 ? -1 : FindUserInfoEnd(url, scheme + 3);
        var outside = at < 0 ? url : url[..(scheme + 3)] + url[(at + 1)..];
        return Has(outside);
    }

    private static int FindUserInfoEnd(string url, int from)
    {
        // The '@' that ends the userinfo: the last one before the path, skipping references (a file path holds '/').
        int i = from;
        int at = -1;
        while (i < url.Length)
        {
            if (url.AsSpan(i).StartsWith("${", StringComparison.Ordinal) && url.IndexOf('}', i) is var close && close > 0)
            {
                i = close + 1;
                continue;
            }

            if (url[i] is '/' or '?' or '#')
            {
                break;
            }

            if (url[i] == '@')
            {
                at = i;
            }

            i++;
        }

        return at;
    }

    private static TargetSpec ResolveTarget(TargetSpec t, ISecretSource source)
    {
        var resolved = t;
        if (t.BaseUrl is { } url && UserInfo(url) is { } info && Has(info))
        {
            // user:password, each part resolved on its own (a value may hold ':' or '@').
            var (userText, passwordText) = SplitUserInfo(info);
            var user = Resolve(userText, $"targets.{t.Name}.baseUrl", source);
            var password = Resolve(passwordText, $"targets.{t.Name}.baseUrl", source);
            resolved = resolved with { BaseUrl = new UriBuilder(url) { UserName = Uri.EscapeDataString(user), Password = Uri.EscapeDataString(password) }.Uri };
        }

        if (t.Launch is { } launch && launch.Env.Values.Any(Has))
        {
            resolved = resolved with
            {
                Launch = launch with { Env = launch.Env.ToDictionary(kv => kv.Key, kv => Resolve(kv.Value, $"targets.{t.Name}.launch.env.{kv.Key}", source), StringComparer.Ordinal) },
            };
        }

        return resolved;
    }

    private static RequestSpec ResolveRequest(RequestSpec r, string path, ISecretSource source) => r with
    {
        Path = Resolve(r.Path, $"{path}.path", source, Uri.EscapeDataString),
        Body = r.Body is null ? null : Resolve(r.Body, $"{path}.body", source),
        Headers = r.Headers.Values.Any(Has)
            ? r.Headers.ToDictionary(
                h => h.Key,
                h =>
                {
                    var value = Resolve(h.Value, $"{path}.headers.{h.Key}", source);
                    return value.Any(c => c is '\r' or '\n' or '\0')
                        ? throw new SecretException($"{path}.headers.{h.Key}: a secret it refers to holds a line break, which a header cannot")
                        : value;
                },
                StringComparer.OrdinalIgnoreCase)
            : r.Headers,
    };

    /// <summary>A user:password as written, split at the first ':' outside a reference (a file path may hold one).</summary>
    public static (string User, string Password) SplitUserInfo(string info)
    {
        int colon = ColonOutsideReferences(info);
        return colon < 0 ? (info, string.Empty) : (info[..colon], info[(colon + 1)..]);
    }

    private static int ColonOutsideReferences(string info)
    {
        for (int i = 0; i < info.Length; i++)
        {
            if (info.AsSpan(i).StartsWith("${", StringComparison.Ordinal) && info.IndexOf('}', i) is var close && close > 0)
            {
                i = close;
                continue;
            }

            if (info[i] == ':')
            {
                return i;
            }
        }

        return -1;
    }
}
