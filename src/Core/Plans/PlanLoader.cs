using System.Globalization;
using Constellation.Core.Load;
using Constellation.Core.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>The outcome of reading a plan: the plan, or every problem found in it.</summary>
public sealed record PlanLoadResult(Plan? Plan, IReadOnlyList<PlanError> Errors)
{
    public bool IsValid => Plan is not null && Errors.Count == 0;
}

/// <summary>Reads a YAML plan and validates all of it, reporting every problem with its location.</summary>
public static class PlanLoader
{
    /// <summary>Longest scenario a plan may describe: every load loop is bounded in time.</summary>
    public static readonly TimeSpan MaxScenarioDuration = TimeSpan.FromHours(24);

    public const int MaxUsers = 100_000;
    public const double MaxRate = 1_000_000;
    public static readonly TimeSpan MaxRequestTimeout = TimeSpan.FromMinutes(10);

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    private static readonly string[] Roles = ["spin", "webapp"];

    public static PlanLoadResult LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new PlanLoadResult(null, [new PlanError(path, $"cannot read the plan: {e.Message}")]);
        }

        return Parse(text);
    }

    public static PlanLoadResult Parse(string yaml)
    {
        var errors = new YamlErrors();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            return new PlanLoadResult(null, [new PlanError("(yaml)", e.InnerException?.Message ?? e.Message, (int)e.Start.Line)]);
        }

        if (stream.Documents.Count == 0)
        {
            return new PlanLoadResult(null, [new PlanError("(plan)", "the plan is empty")]);
        }

        var root = YamlMap.From(stream.Documents[0].RootNode, string.Empty, errors);
        if (root is null)
        {
            return new PlanLoadResult(null, errors.Items);
        }

        var name = root.String("name", required: true) ?? string.Empty;
        var description = root.String("description");
        var targets = ReadTargets(root, errors);
        var scenarios = ReadScenarios(root, targets, errors);
        var observe = root.Has("observe") ? ObserveReader.Read(root, targets, errors) : null;
        var thresholds = ThresholdReader.Read(root, errors);
        var baseline = ThresholdReader.ReadBaseline(root, errors);
        var validity = ThresholdReader.ReadValidity(root, errors);
        root.RejectUnknown();

        var plan = new Plan
        {
            Name = name,
            Description = description,
            Targets = targets,
            Scenarios = scenarios,
            Observe = observe,
            Thresholds = thresholds,
            Baseline = baseline,
            Validity = validity,
            SourceText = yaml,
        };
        ThresholdReader.Check(plan, errors);
        return errors.Items.Count == 0 ? new PlanLoadResult(plan, []) : new PlanLoadResult(null, errors.Items);
    }

    private static Dictionary<string, TargetSpec> ReadTargets(YamlMap root, YamlErrors errors)
    {
        var result = new Dictionary<string, TargetSpec>(StringComparer.Ordinal);
        var map = YamlMap.From(root.Get("targets"), "targets", errors);
        if (map?.Node is not YamlMappingNode node)
        {
            return result;
        }

        if (node.Children.Count == 0)
        {
            errors.Add("targets", "must name at least one target", node);
        }

        foreach (var (k, v) in node.Children)
        {
            var name = ((YamlScalarNode)k).Value ?? string.Empty;
            var t = YamlMap.From(v, $"targets.{name}", errors);
            map.Get(name);
            if (t is null)
            {
                continue;
            }

            Uri? baseUrl = null;
            var urlText = t.String("baseUrl");
            if (urlText is not null)
            {
                if (!Uri.TryCreate(urlText, UriKind.Absolute, out baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
                {
                    errors.Add(t.Child("baseUrl"), $"must be an absolute http:// or https:// URL, got '{urlText}'", t.Get("baseUrl"));
                    baseUrl = null;
                }
            }

            LaunchSpec? launch = null;
            if (t.Has("launch"))
            {
                var l = YamlMap.From(t.Get("launch"), t.Child("launch"), errors);
                if (l is not null)
                {
                    var role = l.String("role", required: true);
                    if (role is not null && !Roles.Contains(role))
                    {
                        errors.Add(l.Child("role"), $"must be one of {string.Join(", ", Roles)}, got '{role}'", l.Get("role"));
                    }

                    var readyTimeout = l.Duration("readyTimeout");
                    if (readyTimeout is { } rt && rt <= TimeSpan.Zero)
                    {
                        errors.Add(l.Child("readyTimeout"), $"must be > 0, got {Durations.Format(rt)}", l.Get("readyTimeout"));
                    }

                    launch = new LaunchSpec
                    {
                        Role = role ?? "spin",
                        Env = l.StringMap("env"),
                        ReadyTimeout = readyTimeout ?? TimeSpan.FromSeconds(30),
                    };
                    l.RejectUnknown();
                }
            }

            if (urlText is null && !t.Has("launch"))
            {
                errors.Add(t.Path, "needs either baseUrl or launch", v);
            }
            else if (urlText is not null && t.Has("launch"))
            {
                errors.Add(t.Path, "takes baseUrl or launch, not both (a launched target gets a free loopback port)", v);
            }

            var skipTls = t.Bool("insecureSkipTlsVerify") ?? false;
            if (skipTls && baseUrl is not null && baseUrl.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add(t.Child("insecureSkipTlsVerify"), $"only applies to an https:// baseUrl, got '{urlText}'", t.Get("insecureSkipTlsVerify"));
            }

            t.RejectUnknown();
            result[name] = new TargetSpec { Name = name, BaseUrl = baseUrl, Launch = launch, InsecureSkipTlsVerify = skipTls };
        }

        return result;
    }

    private static List<ScenarioSpec> ReadScenarios(YamlMap root, Dictionary<string, TargetSpec> targets, YamlErrors errors)
    {
        var result = new List<ScenarioSpec>();
        var seq = root.Sequence("scenarios", required: true);
        if (seq is null)
        {
            return result;
        }

        if (seq.Children.Count == 0)
        {
            errors.Add("scenarios", "must list at least one scenario", seq);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < seq.Children.Count; i++)
        {
            var s = YamlMap.From(seq.Children[i], $"scenarios[{i}]", errors);
            if (s is null)
            {
                continue;
            }

            var name = s.String("name", required: true) ?? $"scenario-{i + 1}";
            if (!names.Add(name))
            {
                errors.Add(s.Child("name"), $"'{name}' is used by another scenario; names must be unique", s.Get("name"));
            }

            var target = s.String("target", required: true);
            if (target is not null && !targets.ContainsKey(target))
            {
                var known = targets.Count == 0 ? "none are defined" : "defined: " + string.Join(", ", targets.Keys);
                errors.Add(s.Child("target"), $"unknown target '{target}' ({known})", s.Get("target"));
            }

            var startAfter = s.Duration("startAfter") ?? TimeSpan.Zero;
            if (startAfter < TimeSpan.Zero)
            {
                errors.Add(s.Child("startAfter"), $"must be >= 0, got {Durations.Format(startAfter)}", s.Get("startAfter"));
            }

            var sequence = ReadRequests(s, errors);
            var load = ReadLoad(s, errors);
            if (sequence.Count > 1 && load?.Model == LoadModel.Open)
            {
                errors.Add(s.Child("requests"), "a sequence of requests needs the closed model (each user sends them in order)", s.Get("requests", markUsed: false));
            }

            var stops = new List<StopCondition>();
            var stopSeq = s.Sequence("stopWhen");
            if (stopSeq is not null)
            {
                for (int j = 0; j < stopSeq.Children.Count; j++)
                {
                    var node = stopSeq.Children[j];
                    var text = (node as YamlScalarNode)?.Value ?? string.Empty;
                    if (StopCondition.TryParse(text, out var c, out var err))
                    {
                        stops.Add(c!);
                    }
                    else
                    {
                        errors.Add($"{s.Child("stopWhen")}[{j}]", err!, node);
                    }
                }
            }

            var thresholds = ThresholdReader.Read(s, errors);
            s.RejectUnknown();
            if (load is not null)
            {
                result.Add(new ScenarioSpec
                {
                    Name = name,
                    Target = target ?? string.Empty,
                    Request = sequence[0],
                    Sequence = sequence,
                    Load = load,
                    StartAfter = startAfter,
                    StopWhen = stops,
                    Thresholds = thresholds,
                });
            }
        }

        return result;
    }

    /// <summary>The scenario's request (key <c>request</c>) or its sequence (key <c>requests</c>); default: GET /.</summary>
    private static List<RequestSpec> ReadRequests(YamlMap scenario, YamlErrors errors)
    {
        if (scenario.Has("request") && scenario.Has("requests"))
        {
            errors.Add(scenario.Path, "takes request or requests, not both", scenario.Get("request"));
        }

        if (!scenario.Has("requests"))
        {
            if (!scenario.Has("request"))
            {
                return [new RequestSpec()];
            }

            var one = YamlMap.From(scenario.Get("request"), scenario.Child("request"), errors);
            return [one is null ? new RequestSpec() : ReadRequest(one, named: false, errors)];
        }

        var seq = scenario.Sequence("requests");
        var result = new List<RequestSpec>();
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var r = YamlMap.From(seq.Children[i], $"{scenario.Child("requests")}[{i}]", errors);
            if (r is not null)
            {
                result.Add(ReadRequest(r, named: true, errors));
            }
        }

        if (result.Count == 0)
        {
            errors.Add(scenario.Child("requests"), "must list at least one request", seq);
            result.Add(new RequestSpec());
        }

        return result;
    }

    private static RequestSpec ReadRequest(YamlMap r, bool named, YamlErrors errors)
    {
        var name = named ? r.String("name") : null;

        var method = r.String("method")?.ToUpperInvariant() ?? "GET";
        if (!Methods.Contains(method))
        {
            errors.Add(r.Child("method"), $"must be one of {string.Join(", ", Methods)}, got '{method}'", r.Get("method"));
        }

        var path = r.String("path") ?? "/";
        if (!path.StartsWith('/') || path.Any(char.IsWhiteSpace))
        {
            errors.Add(r.Child("path"), $"must start with / and contain no spaces, got '{path}'", r.Get("path"));
        }

        var timeout = r.Duration("timeout") ?? TimeSpan.FromSeconds(10);
        if (timeout <= TimeSpan.Zero || timeout > MaxRequestTimeout)
        {
            errors.Add(r.Child("timeout"), $"must be > 0 and at most {MaxRequestTimeout.TotalMinutes:0}m, got {Durations.Format(timeout)}", r.Get("timeout"));
        }

        var headers = r.StringMap("headers");
        foreach (var (k, v) in headers)
        {
            // Names are tokens; values may hold any text but line breaks and other control characters (they go out as UTF-8).
            if (k.Length == 0 || k.Any(c => c <= ' ' || c == ':' || c > '~') || v.Any(c => char.IsControl(c) && c != '\t'))
            {
                errors.Add($"{r.Child("headers")}.{k}", "is not a valid header name or value", r.Get("headers"));
            }
        }

        var body = r.String("body");
        var expect = r.Has("expect") ? ReadExpect(r, errors) : null;
        r.RejectUnknown();
        return new RequestSpec { Name = name, Method = method, Path = path, Headers = headers, Body = body, Timeout = timeout, Expect = expect };
    }

    private static ResponseExpectation? ReadExpect(YamlMap request, YamlErrors errors)
    {
        var e = YamlMap.From(request.Get("expect"), request.Child("expect"), errors);
        if (e is null)
        {
            return null;
        }

        var statuses = new List<int>();
        foreach (var (text, node, path) in ScalarList(e, "status", errors))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code < 100 || code > 399)
            {
                errors.Add(path, $"must be a status from 100 to 399 (4xx and 5xx answers are errors anyway), got '{text}'", node);
            }
            else
            {
                statuses.Add(code);
            }
        }

        var contains = ScalarList(e, "bodyContains", errors).Select(x => x.Text).ToList();
        var notContains = ScalarList(e, "bodyNotContains", errors).Select(x => x.Text).ToList();
        foreach (var (key, list) in new[] { ("bodyContains", contains), ("bodyNotContains", notContains) })
        {
            if (list.Any(string.IsNullOrEmpty))
            {
                errors.Add(e.Child(key), "must not hold an empty text", e.Get(key, markUsed: false));
            }
        }

        if (!e.Has("status") && !e.Has("bodyContains") && !e.Has("bodyNotContains"))
        {
            errors.Add(e.Path, "needs at least one of status, bodyContains, bodyNotContains", e.Node);
        }

        e.RejectUnknown();
        return new ResponseExpectation { Status = statuses, BodyContains = contains, BodyNotContains = notContains };
    }

    /// <summary>A key holding one scalar or a list of scalars, with each item's path and node.</summary>
    private static List<(string Text, YamlNode Node, string Path)> ScalarList(YamlMap map, string key, YamlErrors errors)
    {
        var result = new List<(string, YamlNode, string)>();
        var node = map.Get(key);
        switch (node)
        {
            case null:
                break;
            case YamlScalarNode scalar:
                result.Add((scalar.Value ?? string.Empty, scalar, map.Child(key)));
                break;
            case YamlSequenceNode seq:
                for (int i = 0; i < seq.Children.Count; i++)
                {
                    if (seq.Children[i] is YamlScalarNode item)
                    {
                        result.Add((item.Value ?? string.Empty, item, $"{map.Child(key)}[{i}]"));
                    }
                    else
                    {
                        errors.Add($"{map.Child(key)}[{i}]", "must be a single value", seq.Children[i]);
                    }
                }

                break;
            default:
                errors.Add(map.Child(key), "must be a value or a list of values", node);
                break;
        }

        return result;
    }

    private static LoadSpec? ReadLoad(YamlMap scenario, YamlErrors errors)
    {
        var l = YamlMap.From(scenario.Get("load"), scenario.Child("load"), errors);
        if (l is null)
        {
            return null;
        }

        var modelText = l.String("model", required: true);
        LoadModel model;
        switch (modelText)
        {
            case "open":
                model = LoadModel.Open;
                break;
            case "closed":
                model = LoadModel.Closed;
                break;
            case null:
                l.RejectUnknown();
                return null;
            default:
                errors.Add(l.Child("model"), $"must be open (arrival rate) or closed (virtual users), got '{modelText}'", l.Get("model"));
                l.RejectUnknown();
                return null;
        }

        bool open = model == LoadModel.Open;
        string unitKey = open ? "rate" : "users";
        string startKey = open ? "startRate" : "startUsers";
        string otherUnit = open ? "users" : "rate";
        foreach (var misplaced in open ? new[] { "users", "startUsers", "thinkTime", "thinkTimeMax", "iterations" } : ["rate", "startRate", "maxInFlight"])
        {
            if (l.Has(misplaced))
            {
                errors.Add(l.Child(misplaced), $"does not apply to the {modelText} model (use {(open ? "rate" : "users")})", l.Get(misplaced, markUsed: true));
            }
        }

        var shapes = new[] { unitKey, "stages", "steps" }.Where(l.Has).ToList();
        if (shapes.Count != 1)
        {
            errors.Add(l.Path, shapes.Count == 0
                ? $"needs one load shape: {unitKey} + duration, stages, or steps"
                : $"takes one load shape, got {string.Join(" and ", shapes)}", l.Node);
        }

        var segments = new List<LoadSegment>();
        if (l.Has(unitKey))
        {
            var v = l.Number(unitKey);
            var d = l.Duration("duration", required: true);
            if (v is { } value && value <= 0)
            {
                errors.Add(l.Child(unitKey), $"must be > 0, got {Fmt(value)}", l.Get(unitKey));
            }

            CheckDuration(l, "duration", d, errors);
            if (v is { } val && d is { } dur)
            {
                segments.Add(new LoadSegment(dur, val, val));
            }
        }
        else if (l.Has("duration"))
        {
            l.Get("duration");
            errors.Add(l.Child("duration"), $"goes with {unitKey}; stages and steps carry their own durations", l.Get("duration"));
        }

        if (l.Has("stages"))
        {
            var previous = l.Number(startKey) ?? 0;
            if (previous < 0)
            {
                errors.Add(l.Child(startKey), $"must be >= 0, got {Fmt(previous)}", l.Get(startKey));
            }

            var seq = l.Sequence("stages");
            for (int i = 0; seq is not null && i < seq.Children.Count; i++)
            {
                var st = YamlMap.From(seq.Children[i], $"{l.Child("stages")}[{i}]", errors);
                if (st is null)
                {
                    continue;
                }

                // A stage of 0s is a jump: the value changes at once (JMeter's stepping thread groups).
                var d = st.Duration("duration", required: true);
                if (d is { } sd && sd < TimeSpan.Zero)
                {
                    errors.Add(st.Child("duration"), $"must be >= 0, got {st.String("duration")}", st.Get("duration"));
                }

                var v = st.Number(unitKey, required: true);
                if (st.Has(otherUnit))
                {
                    errors.Add(st.Child(otherUnit), $"does not apply to the {modelText} model (use {unitKey})", st.Get(otherUnit));
                }

                if (v is { } value && value < 0)
                {
                    errors.Add(st.Child(unitKey), $"must be > 0, got {Fmt(value)}", st.Get(unitKey));
                }

                var stageName = st.String("name");
                st.RejectUnknown();
                if (d is { } dur && v is { } val)
                {
                    segments.Add(new LoadSegment(dur, previous, val, stageName));
                    previous = val;
                }
            }

            if (seq is not null && seq.Children.Count == 0)
            {
                errors.Add(l.Child("stages"), "must list at least one stage", seq);
            }
            else if (seq is not null && segments.Count == seq.Children.Count && segments.All(x => x.Duration == TimeSpan.Zero))
            {
                errors.Add(l.Child("stages"), "must last longer than 0s in total", seq);
            }
        }
        else if (l.Has(startKey))
        {
            errors.Add(l.Child(startKey), "goes with stages", l.Get(startKey));
        }

        if (l.Has("steps"))
        {
            var st = YamlMap.From(l.Get("steps"), l.Child("steps"), errors);
            if (st is not null)
            {
                var from = st.Number("from", required: true);
                var step = st.Number("step", required: true);
                var every = st.Duration("every", required: true);
                var to = st.Number("to", required: true);
                CheckDuration(st, "every", every, errors);
                if (from is <= 0)
                {
                    errors.Add(st.Child("from"), $"must be > 0, got {Fmt(from.Value)}", st.Get("from"));
                }

                if (step is <= 0)
                {
                    errors.Add(st.Child("step"), $"must be > 0, got {Fmt(step.Value)}", st.Get("step"));
                }

                if (to is { } t && from is { } f && t < f)
                {
                    errors.Add(st.Child("to"), $"must be >= from ({Fmt(f)}), got {Fmt(t)}", st.Get("to"));
                }

                st.RejectUnknown();
                if (from > 0 && step > 0 && to >= from && every > TimeSpan.Zero)
                {
                    int n = 0;
                    for (var v = from.Value; v <= to.Value + 1e-9 && n < 10_000; v += step.Value)
                    {
                        n++;
                        segments.Add(new LoadSegment(every.Value, v, v, $"step {n} ({Fmt(v)}{(open ? "/s" : " users")})"));
                    }
                }
            }
        }

        var maxInFlight = l.Number("maxInFlight");
        if (maxInFlight is { } mif && (mif < 1 || mif > 1_000_000 || mif != Math.Floor(mif)))
        {
            errors.Add(l.Child("maxInFlight"), $"must be a whole number from 1 to 1000000, got {Fmt(mif)}", l.Get("maxInFlight"));
        }

        var think = l.Duration("thinkTime");
        if (think is { } th && th < TimeSpan.Zero)
        {
            errors.Add(l.Child("thinkTime"), $"must be >= 0, got {Durations.Format(th)}", l.Get("thinkTime"));
        }

        var thinkMax = l.Duration("thinkTimeMax");
        if (thinkMax is { } tm && tm < (think ?? TimeSpan.Zero))
        {
            errors.Add(l.Child("thinkTimeMax"), $"must be >= thinkTime ({Durations.Format(think ?? TimeSpan.Zero)}), got {Durations.Format(tm)}", l.Get("thinkTimeMax"));
        }

        var iterations = l.Number("iterations");
        if (iterations is { } it && (it < 1 || it > int.MaxValue || it != Math.Floor(it)))
        {
            errors.Add(l.Child("iterations"), $"must be a whole number >= 1, got {Fmt(it)}", l.Get("iterations"));
        }

        l.RejectUnknown();

        var total = segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);
        if (total > MaxScenarioDuration)
        {
            errors.Add(l.Path, $"runs for {Durations.Format(total)}, longer than the limit of {MaxScenarioDuration.TotalHours:0}h", l.Node);
        }

        var peak = segments.Count == 0 ? 0 : segments.Max(s => Math.Max(s.From, s.To));
        if (segments.Count > 0 && peak <= 0 && segments.All(s => s.From >= 0 && s.To >= 0))
        {
            errors.Add(l.Path, $"never offers any load: every {unitKey} is 0", l.Node);
        }

        if (open && peak > MaxRate)
        {
            errors.Add(l.Path, $"peaks at {Fmt(peak)}/s, above the limit of {Fmt(MaxRate)}/s", l.Node);
        }

        if (!open && peak > MaxUsers)
        {
            errors.Add(l.Path, $"peaks at {Fmt(peak)} users, above the limit of {MaxUsers}", l.Node);
        }

        if (!open && segments.Any(s => s.From != Math.Floor(s.From) || s.To != Math.Floor(s.To)))
        {
            errors.Add(l.Path, "user counts must be whole numbers", l.Node);
        }

        return new LoadSpec
        {
            Model = model,
            Segments = segments,
            MaxInFlight = (int)(maxInFlight ?? 1000),
            ThinkTime = think ?? TimeSpan.Zero,
            ThinkTimeMax = thinkMax,
            Iterations = iterations is { } count && count >= 1 && count <= int.MaxValue ? (int)count : null,
        };
    }

    private static void CheckDuration(YamlMap map, string key, TimeSpan? value, YamlErrors errors)
    {
        if (value is { } d && d <= TimeSpan.Zero)
        {
            errors.Add(map.Child(key), $"must be > 0, got {map.String(key)}", map.Get(key));
        }
    }

    private static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
