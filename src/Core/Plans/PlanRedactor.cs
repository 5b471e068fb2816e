namespace Constellation.Core.Plans;

/// <summary>
/// The second line of defence, after secrets by reference (<see cref="SecretReferences"/>): secrets written in clear
/// are masked before a plan's text or a URL is recorded (run.json, the journal, the reports, logs, the service's
/// answers). Masked: a base URL's password, the values of credential-looking headers and query parameters (see
/// <see cref="IsSensitiveName"/>). A value that holds a reference is kept as written: the reference is where its
/// secret is. The rest of the text — comments, layout, anchors and aliases — stays as written.
/// </summary>
public static partial class PlanRedactor
{
    public const string Mask = "***redacted***";

    /// <summary>Names that carry credentials whole (a header or query parameter of that name, in any case).</summary>
    public static readonly IReadOnlyList<string> SensitiveNames = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

    /// <summary>Parts that make a name credential-looking when it contains them (X-Api-Key, access_token, client_secret, X-Auth).</summary>
    public static readonly IReadOnlyList<string> SensitiveParts = ["auth", "token", "secret", "password", "passwd", "apikey", "api-key", "api_key", "session", "credential", "signature", "cookie", "jwt"];

    /// <summary>Words that make a name credential-looking when it has them as a '-', '_' or '.' separated word (Ocp-Apim-Subscription-Key, sig, pwd, sid).</summary>
    public static readonly IReadOnlyList<string> SensitiveWords = ["key", "sig", "pwd", "pass", "sid"];

    /// <summary>Whether a header or query parameter name looks like it carries a credential (the documented list).</summary>
    public static bool IsSensitiveName(string name)
    {
        var lower = name.Trim().ToLowerInvariant();
        return SensitiveNames.Contains(lower)
            || SensitiveParts.Any(p => lower.Contains(p, StringComparison.Ordinal))
            || lower.Split(['-', '_', '.'], StringSplitOptions.RemoveEmptyEntries).Any(w => SensitiveWords.Contains(w));
    }

    /// <summary>Whether a header carries credentials (see <see cref="IsSensitiveName"/>).</summary>
    public static bool IsSensitiveHeader(string name) => IsSensitiveName(name);

    /// <summary>A URL as it may be recorded: credentials in its userinfo masked, credential-looking query values masked.</summary>
    public static string RedactUrl(Uri url)
    {
        if (!url.IsAbsoluteUri)
        {
            return RedactQuery(url.OriginalString);
        }

        var text = url.UserInfo.Length == 0 || IsOnlyReferences(SecretReferences.SplitUserInfo(SecretReferences.UserInfo(url)!).Password)
            ? url.ToString()
            : new UriBuilder(url) { UserName = "redacted", Password = string.Empty }.Uri.ToString();
        return RedactQuery(text);
    }

    /// <summary>A URL text as it may be recorded (see <see cref="RedactUrl(Uri)"/>); text that is not a URL has its query masked.</summary>
    public static string RedactUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? RedactUrl(u) : RedactQuery(UserInfoLike().Replace(url, "redacted@"));

    /// <summary>What looks like user:password@ after a scheme, in a text that is not a URL.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=://)[^/?#\s]*@")]
    private static partial System.Text.RegularExpressions.Regex UserInfoLike();

    /// <summary>A path and query (or URL) with the values of credential-looking query parameters masked (a reference is kept).</summary>
    public static string RedactQuery(string pathAndQuery)
    {
        int q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return pathAndQuery;
        }

        int hash = pathAndQuery.IndexOf('#', q);
        var query = hash < 0 ? pathAndQuery[(q + 1)..] : pathAndQuery[(q + 1)..hash];
        var parts = query.Split('&');
        bool changed = false;
        for (int i = 0; i < parts.Length; i++)
        {
            int eq = parts[i].IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && eq < parts[i].Length - 1 && IsSensitiveName(Uri.UnescapeDataString(parts[i][..eq])) && !IsOnlyReferences(Uri.UnescapeDataString(parts[i][(eq + 1)..])))
            {
                parts[i] = parts[i][..(eq + 1)] + Mask;
                changed = true;
            }
        }

        return changed ? pathAndQuery[..(q + 1)] + string.Join('&', parts) + (hash < 0 ? string.Empty : pathAndQuery[hash..]) : pathAndQuery;
    }

    /// <summary>A plan's text as it may be recorded: clear secrets masked, references and everything else as written.</summary>
    public static string Redact(string yaml) => YamlTextEdits.Edit(yaml, (path, key, value) => value switch
    {
        YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } url } node when key == "baseUrl" && Uri.TryCreate(SecretReferences.EscapeInUserInfo(url), UriKind.Absolute, out var parsed)
            && parsed.UserInfo.Length > 0 && RedactUrl(parsed) is var safe && safe.Contains("redacted@", StringComparison.Ordinal) =>
            [(node, safe)],
        YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } pathAndQuery } node when key == "path" && path.Count > 0 && RedactQuery(pathAndQuery) is var safe && safe != pathAndQuery =>
            [(node, safe)],
        YamlDotNet.RepresentationModel.YamlMappingNode headers when key == "headers" =>
            headers.Children
                .Where(h => h.Key is YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } n } && IsSensitiveName(n))
                .Select(h => h.Value)
                .OfType<YamlDotNet.RepresentationModel.YamlScalarNode>()
                .Where(v => v.Value is { Length: > 0 } text && !SecretReferences.Has(text))
                .Select(v => (v, Mask)),
        _ => [],
    }) ?? yaml; // not a plan that parsed; nothing was run from it

    /// <summary>Whether a value is nothing but references (and so holds no secret itself).</summary>
    private static bool IsOnlyReferences(string value) =>
        value.Length > 0 && SecretReferences.Has(value) && SecretReferences.In(value, string.Empty).Aggregate(value, (rest, r) => rest.Replace(r.Text, string.Empty, StringComparison.Ordinal)).Length == 0;
}
