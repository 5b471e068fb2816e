using System.Globalization;
using System.Xml.Linq;
using Constellation.Core.Plans;

namespace Constellation.Runs.Jmx;

/// <summary>Config elements, timers and assertions in force at a point of the tree (JMeter's scoping rules).</summary>
internal sealed class JmxScope
{
    public List<JmxElement> HeaderManagers { get; init; } = [];
    public List<JmxElement> Defaults { get; init; } = [];
    public List<JmxElement> Timers { get; init; } = [];
    public List<JmxElement> Throughput { get; init; } = [];
    public List<JmxElement> Assertions { get; init; } = [];
    public List<JmxElement> CookieManagers { get; init; } = [];
    public List<JmxElement> DataSets { get; init; } = [];
    public List<JmxElement> Extractors { get; init; } = [];

    /// <summary>The post-processors that extract values into variables.</summary>
    public static readonly IReadOnlySet<string> ExtractorTags = new HashSet<string>(StringComparer.Ordinal) { "RegexExtractor", "JSONPostProcessor", "BoundaryExtractor" };

    public JmxScope Copy() => new()
    {
        HeaderManagers = [.. HeaderManagers],
        Defaults = [.. Defaults],
        Timers = [.. Timers],
        Throughput = [.. Throughput],
        Assertions = [.. Assertions],
        CookieManagers = [.. CookieManagers],
        DataSets = [.. DataSets],
        Extractors = [.. Extractors],
    };

    /// <summary>Whether an element configures its scope rather than doing something (a header manager, a timer, …).</summary>
    public static bool IsScopeElement(JmxElement e) =>
        e.Tag is "HeaderManager" or "ConstantTimer" or "UniformRandomTimer" or "ConstantThroughputTimer" or "ResponseAssertion" or "Arguments" or "CookieManager" or "CSVDataSet"
        || ExtractorTags.Contains(e.Tag)
        || (e.Tag == "ConfigTestElement" && e.GuiClass == "HttpDefaultsGui");

    /// <summary>Adds the enabled scope elements among <paramref name="elements"/> (they apply whatever their order).</summary>
    public void Collect(IEnumerable<JmxElement> elements, JmxContext c)
    {
        foreach (var e in elements.Where(IsScopeElement).Where(e => !c.SkipDisabled(e)))
        {
            switch (e.Tag)
            {
                case "HeaderManager":
                    HeaderManagers.Add(e);
                    break;
                case "ConfigTestElement":
                    Defaults.Add(e);
                    break;
                case "ConstantTimer" or "UniformRandomTimer":
                    Timers.Add(e);
                    break;
                case "ConstantThroughputTimer":
                    Throughput.Add(e);
                    break;
                case "ResponseAssertion":
                    Assertions.Add(e);
                    break;
                case "CookieManager":
                    CookieManagers.Add(e);
                    break;
                case "CSVDataSet":
                    DataSets.Add(e);
                    break;
                case var t when ExtractorTags.Contains(t):
                    Extractors.Add(e);
                    break;
            }
        }
    }
}

/// <summary>An HTTP sampler as a request, and the server it goes to (a plan target).</summary>
internal sealed record SamplerRequest(Uri Server, RequestSpec Request);

/// <summary>HTTP samplers with their Header Managers, HTTP Request Defaults and Response Assertions as requests.</summary>
internal static class JmxSamplers
{
    public static SamplerRequest? Build(JmxElement sampler, JmxScope scope, JmxContext c)
    {
        string? Field(string prop)
        {
            var own = c.Eval(sampler, sampler.Prop(prop));
            if (!string.IsNullOrEmpty(own))
            {
                return own;
            }

            foreach (var d in Enumerable.Reverse(scope.Defaults))
            {
                var v = c.Eval(d, d.Prop(prop));
                if (!string.IsNullOrEmpty(v))
                {
                    return v;
                }
            }

            return null;
        }

        var method = (Field("HTTPSampler.method") ?? "GET").ToUpperInvariant();
        var protocol = (Field("HTTPSampler.protocol") ?? "http").ToLowerInvariant();
        var host = Field("HTTPSampler.domain");
        var portText = Field("HTTPSampler.port");
        var path = Field("HTTPSampler.path") ?? "/";
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(path, UriKind.Absolute, out var full))
            {
                c.Unmapped(sampler, $"the path '{path}' is not a valid URL");
                return null;
            }

            protocol = full.Scheme;
            host = full.Host;
            portText = full.Port.ToString(CultureInfo.InvariantCulture);
            path = full.PathAndQuery;
        }

        if (string.IsNullOrEmpty(host))
        {
            c.Unmapped(sampler, "no server name (set it on the sampler or in HTTP Request Defaults)");
            return null;
        }

        if (protocol is not ("http" or "https"))
        {
            c.Unmapped(sampler, $"protocol '{protocol}' is not supported (http and https are)");
            return null;
        }

        int port = protocol == "https" ? 443 : 80;
        if (!string.IsNullOrEmpty(portText) && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            c.Unmapped(sampler, $"port '{portText}' is not a number from 1 to 65535");
            return null;
        }

        var serverText = string.Create(CultureInfo.InvariantCulture, $"{protocol}://{(host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host)}:{port}");
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.PathAndQuery != "/" || !string.IsNullOrEmpty(server.UserInfo))
        {
            c.Unmapped(sampler, $"the server name '{host}' does not make a URL");
            return null;
        }

        if (!path.StartsWith('/'))
        {
            path = "/" + path;
        }

        path = path.Replace(" ", "%20", StringComparison.Ordinal);
        foreach (var (prop, what) in new[] { ("HTTPSampler.image_parser", "embedded resources are not downloaded"), ("HTTPSampler.DO_MULTIPART_POST", "multipart/form-data is not supported") })
        {
            if (JmxContext.Bool(c.Eval(sampler, sampler.Prop(prop))))
            {
                c.Unmapped(sampler, what);
            }
        }

        if (JmxElement.Collection(sampler.ElementProp("HTTPsampler.Files"), "HTTPFileArgs.files").Any())
        {
            c.Unmapped(sampler, "file uploads are not supported");
        }

        // Parameters: the sampler's, then the defaults' (JMeter adds them); a raw body is the first one's value.
        var args = Arguments(sampler, sampler.ElementProp("HTTPsampler.Arguments"), c)
            .Concat(scope.Defaults.SelectMany(d => Arguments(d, d.ElementProp("HTTPsampler.Arguments"), c))).ToList();
        string? body = null;
        var headers = Headers(scope, c);
        if (JmxContext.Bool(c.Eval(sampler, sampler.Prop("HTTPSampler.postBodyRaw"))))
        {
            body = args.FirstOrDefault().Value ?? string.Empty;
        }
        else if (args.Count > 0)
        {
            var encoded = string.Join("&", args.Select(a => a.UseEquals || a.Value.Length > 0 ? $"{a.Name}={a.Value}" : a.Name));
            if (method is "POST" or "PUT" or "PATCH")
            {
                body = encoded;
                if (!headers.Any(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
                {
                    headers.Add(new("Content-Type", "application/x-www-form-urlencoded"));
                }
            }
            else
            {
                path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + encoded;
            }
        }

        var request = new RequestSpec
        {
            Method = method,
            Path = path,
            Headers = headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase),
            Body = body,
            Expect = Expectation(scope, c),
            Extract = Extract(scope, c),
        };
        if (Field("HTTPSampler.response_timeout") is { Length: > 0 } rt && double.TryParse(rt, NumberStyles.Float, CultureInfo.InvariantCulture, out var rtMs) && rtMs > 0 && double.IsFinite(rtMs))
        {
            var connectMs = double.TryParse(Field("HTTPSampler.connect_timeout"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ct) && double.IsFinite(ct) && ct > 0 ? ct : 0;
            request = request with { Timeout = JmxContext.Span((rtMs + connectMs) / 1000) };
            c.Note(sampler, $"connect + response timeout ({Core.Text.Durations.FormatExact(request.Timeout)}) bounds the whole request here; in JMeter the response timeout is a read timeout");
        }

        if (!JmxContext.Bool(c.Eval(sampler, sampler.Prop("HTTPSampler.use_keepalive") ?? "true")))
        {
            c.Note(sampler, "'use KeepAlive' is off in JMeter; Constellation keeps connections alive");
        }

        if (JmxContext.Bool(c.Eval(sampler, sampler.Prop("HTTPSampler.follow_redirects"))) || JmxContext.Bool(c.Eval(sampler, sampler.Prop("HTTPSampler.auto_redirects"))))
        {
            c.Note(sampler, "redirects are not followed: a 3xx answer counts as a success");
        }

        return new SamplerRequest(server, request);
    }

    /// <summary>
    /// The Regular Expression, JSON and Boundary Extractors in scope (JMeter runs every post-processor in scope after
    /// each sampler) as the request's extractors: the first match (match number 1), a regex template of one group
    /// ($N$), JSON paths in the supported subset. JMeter sets a variable to its default and goes on when nothing
    /// matches; here an empty default makes it a failed check (noted), a given default is used.
    /// </summary>
    private static List<ExtractSpec> Extract(JmxScope scope, JmxContext c)
    {
        var result = new List<ExtractSpec>();
        foreach (var e in scope.Extractors)
        {
            string? P(string prop) => c.Eval(e, e.Prop(prop));
            bool FirstMatch(string? number)
            {
                if (string.IsNullOrEmpty(number) || number.Trim() == "1")
                {
                    return true;
                }

                c.Unmapped(e, $"match number {number}: only the first match (1) maps (0 is a random match, -1 all of them)");
                return false;
            }

            switch (e.Tag)
            {
                case "RegexExtractor":
                {
                    var name = P("RegexExtractor.refname");
                    var regex = P("RegexExtractor.regex");
                    var template = P("RegexExtractor.template") ?? "$1$";
                    var field = P("RegexExtractor.useHeaders");
                    if (field is { Length: > 0 } and not "false")
                    {
                        c.Unmapped(e, $"a regular expression over '{field}' (not the body): use a header extractor (extract: [{{ name, header }}]) instead");
                        continue;
                    }

                    var m = System.Text.RegularExpressions.Regex.Match(template, @"^\$(\d+)\$$");
                    if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(regex))
                    {
                        c.Unmapped(e, "a Regular Expression Extractor needs a reference name and a regular expression");
                        continue;
                    }

                    if (!m.Success)
                    {
                        c.Unmapped(e, $"the template '{template}' is not one group ($1$)");
                        continue;
                    }

                    if (!FirstMatch(P("RegexExtractor.match_number")))
                    {
                        continue;
                    }

                    result.Add(WithDefault(new ExtractSpec { Name = name, Kind = ExtractKind.Regex, Expression = regex, Group = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) }, P("RegexExtractor.default"), e, c));
                    break;
                }

                case "BoundaryExtractor":
                {
                    var name = P("BoundaryExtractor.refname");
                    var left = P("BoundaryExtractor.lboundary");
                    if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(left) || string.IsNullOrEmpty(P("BoundaryExtractor.rboundary")))
                    {
                        c.Unmapped(e, "a Boundary Extractor needs a reference name and both boundaries (JMeter refuses an empty one)");
                        continue;
                    }

                    if (!FirstMatch(P("BoundaryExtractor.match_number")))
                    {
                        continue;
                    }

                    result.Add(WithDefault(new ExtractSpec { Name = name, Kind = ExtractKind.Boundary, Expression = left, Right = P("BoundaryExtractor.rboundary") ?? string.Empty }, P("BoundaryExtractor.default"), e, c));
                    break;
                }

                case "JSONPostProcessor":
                {
                    var names = (P("JSONPostProcessor.referenceNames") ?? string.Empty).Split(';');
                    var paths = (P("JSONPostProcessor.jsonPathExprs") ?? string.Empty).Split(';');
                    var numbers = (P("JSONPostProcessor.match_numbers") ?? string.Empty).Split(';');
                    var defaults = (P("JSONPostProcessor.defaultValues") ?? string.Empty).Split(';');
                    for (int i = 0; i < names.Length && i < paths.Length; i++)
                    {
                        if (names[i].Trim().Length == 0 || !FirstMatch(i < numbers.Length ? numbers[i] : null))
                        {
                            continue;
                        }

                        if (!JsonPath.TryParse(paths[i].Trim(), out _, out var why))
                        {
                            c.Unmapped(e, $"JSON path {paths[i]}: {why}");
                            continue;
                        }

                        result.Add(WithDefault(new ExtractSpec { Name = names[i].Trim(), Kind = ExtractKind.Json, Expression = paths[i].Trim() }, i < defaults.Length ? defaults[i] : null, e, c));
                    }

                    break;
                }
            }
        }

        return result;
    }

    private static ExtractSpec WithDefault(ExtractSpec spec, string? value, JmxElement e, JmxContext c)
    {
        if (!string.IsNullOrEmpty(value))
        {
            return spec with { Default = value };
        }

        c.Note(e, $"'{spec.Name}': no default value, so an answer without a match is a failed check here (JMeter keeps the variable's previous value and goes on)");
        return spec;
    }

    private static List<(string Name, string Value, bool UseEquals)> Arguments(JmxElement owner, XElement? arguments, JmxContext c)
    {
        var result = new List<(string, string, bool)>();
        foreach (var a in JmxElement.Collection(arguments, "Arguments.arguments"))
        {
            var name = c.Eval(owner, JmxElement.PropOf(a, "Argument.name")) ?? string.Empty;
            var value = c.Eval(owner, JmxElement.PropOf(a, "Argument.value")) ?? string.Empty;
            bool encode = JmxContext.Bool(JmxElement.PropOf(a, "HTTPArgument.always_encode"));
            bool useEquals = JmxElement.PropOf(a, "HTTPArgument.use_equals") is not { } ue || JmxContext.Bool(ue);
            // A variable became a placeholder (${data.user}): the encoding applies around it, the value goes in as it is.
            result.Add(encode ? (Placeholders.EncodeOutside(name, Uri.EscapeDataString), Placeholders.EncodeOutside(value, Uri.EscapeDataString), useEquals) : (name, value, useEquals));
        }

        return result;
    }

    /// <summary>Header Managers in scope, outer first; an inner manager's header replaces an outer one of the same name.</summary>
    private static List<KeyValuePair<string, string>> Headers(JmxScope scope, JmxContext c)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var m in scope.HeaderManagers)
        {
            foreach (var h in JmxElement.Collection(m.Xml, "HeaderManager.headers"))
            {
                var name = c.Eval(m, JmxElement.PropOf(h, "Header.name"))?.Trim();
                if (string.IsNullOrEmpty(name))
                {
                    continue;
                }

                result.RemoveAll(x => x.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
                result.Add(new(name, c.Eval(m, JmxElement.PropOf(h, "Header.value")) ?? string.Empty));
            }
        }

        return result;
    }

    /// <summary>Response Assertions in scope as expect checks: code equals N (or any of N, M with OR), text contains/not contains.</summary>
    private static ResponseExpectation? Expectation(JmxScope scope, JmxContext c)
    {
        List<int>? status = null;
        var contains = new List<string>();
        var notContains = new List<string>();
        foreach (var a in scope.Assertions)
        {
            var field = a.Prop("Assertion.test_field") ?? "Assertion.response_data";
            int type = int.TryParse(a.Prop("Assertion.test_type"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) ? t : 16;
            bool not = (type & 4) != 0, or = (type & 32) != 0;
            int mode = type & (1 | 2 | 8 | 16);
            var strings = JmxElement.Collection(a.Xml, "Asserion.test_strings").Concat(JmxElement.Collection(a.Xml, "Assertion.test_strings"))
                .Select(x => c.Eval(a, x.Value) ?? string.Empty).ToList();
            if (JmxContext.Bool(a.Prop("Assertion.assume_success")))
            {
                c.Unmapped(a, "'ignore status' (a 4xx/5xx answer counted as a success) is not supported");
                continue;
            }

            if (strings.Count == 0)
            {
                c.Unmapped(a, "the assertion has no patterns to test");
                continue;
            }

            switch (field)
            {
                case "Assertion.response_code" when !not && (strings.Count == 1 || or):
                    var codes = new List<int>();
                    foreach (var s in strings)
                    {
                        if (int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 399 && (mode is 8 or 16 or 1 or 2))
                        {
                            codes.Add(code);
                        }
                        else
                        {
                            c.Unmapped(a, $"response code pattern '{s}' does not map (an exact code from 100 to 399 does; 4xx/5xx answers are errors anyway)");
                        }
                    }

                    status = status is null ? codes : [.. status.Intersect(codes)];
                    if (status.Count == 0)
                    {
                        c.Unmapped(a, "the response code assertions in scope can never all pass together");
                    }

                    break;
                case "Assertion.response_data" when (mode is 16 || (mode is 2 && strings.All(IsLiteral))) && (strings.Count == 1 || !or):
                    (not ? notContains : contains).AddRange(strings);
                    break;
                default:
                    c.Unmapped(a, $"a Response Assertion on {field.Replace("Assertion.", string.Empty, StringComparison.Ordinal)} with test type {type} ({(not ? "not " : string.Empty)}{ModeName(mode)}{(or ? ", or" : string.Empty)}) does not map; code equals N and text contains / does not contain (substring or literal) do");
                    break;
            }
        }

        return status is null && contains.Count == 0 && notContains.Count == 0
            ? null
            : new ResponseExpectation { Status = status ?? [], BodyContains = contains, BodyNotContains = notContains };
    }

    private static string ModeName(int mode) => mode switch
    {
        1 => "matches",
        2 => "contains",
        8 => "equals",
        16 => "substring",
        _ => "mixed",
    };

    private static bool IsLiteral(string pattern) => pattern.IndexOfAny(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']) < 0;
}
