using System.Globalization;
using Constellation.Core.Gate;
using Constellation.Core.Load;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>
/// Reads a plan's YAML into the typed <see cref="Plan"/>: what the document says, checked for its form only — YAML
/// syntax, limits (size, depth, aliases), one document, keys (unknown, twice, not a name), types (numbers,
/// durations, lists) and texts that are a small language of their own (stop conditions, thresholds). What the
/// values mean is the <see cref="PlanValidator"/>'s job, for every producer of plans alike.
/// </summary>
internal static class PlanYamlReader
{
    public static (Plan? Plan, YamlErrors Errors) Read(string yaml)
    {
        var errors = new YamlErrors();
        var preflight = YamlPreflight.Check(yaml);
        if (preflight.Count > 0)
        {
            errors.Items.AddRange(preflight);
            return (null, errors);
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            errors.Items.Add(new PlanError("(yaml)", e.InnerException?.Message ?? e.Message, (int)e.Start.Line, (int)e.Start.Column));
            return (null, errors);
        }

        if (stream.Documents.Count == 0)
        {
            errors.Items.Add(new PlanError("(plan)", "the plan is empty"));
            return (null, errors);
        }

        var root = YamlMap.From(stream.Documents[0].RootNode, string.Empty, errors);
        if (root is null)
        {
            return (null, errors);
        }

        var plan = new Plan
        {
            Name = root.String("name") ?? string.Empty,
            Description = root.String("description"),
            Targets = ReadTargets(root, errors),
            Scenarios = ReadScenarios(root, errors),
            Observe = root.Has("observe") ? ReadObserve(root, errors) : null,
            Thresholds = ReadThresholds(root, errors),
            Baseline = root.String("baseline"),
            Validity = root.Has("validity") ? ReadValidity(root, errors) : null,
            SourceText = yaml,
        };
        root.RejectUnknown();
        return (plan, errors);
    }

    private static Dictionary<string, TargetSpec> ReadTargets(YamlMap root, YamlErrors errors)
    {
        var result = new Dictionary<string, TargetSpec>(StringComparer.Ordinal);
        var map = YamlMap.From(root.Get("targets"), "targets", errors);
        if (map?.Node is not YamlMappingNode node)
        {
            return result;
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
            if (urlText is not null && SecretReferences.HasReferenceOutsideUserInfo(urlText))
            {
                errors.Add(t.Child("baseUrl"), "may refer to secrets (${env:NAME}, ${file:PATH}) only in its user:password; the scheme, host, port and path are not secrets", t.Get("baseUrl"));
            }
            else if (urlText is not null && !Uri.TryCreate(SecretReferences.EscapeInUserInfo(urlText), UriKind.Absolute, out baseUrl))
            {
                errors.Add(t.Child("baseUrl"), $"must be an absolute http:// or https:// URL, got '{PlanRedactor.RedactUrl(urlText)}'", t.Get("baseUrl"));
            }

            LaunchSpec? launch = null;
            if (t.Has("launch") && YamlMap.From(t.Get("launch"), t.Child("launch"), errors) is { } l)
            {
                launch = new LaunchSpec
                {
                    Role = l.String("role") ?? string.Empty,
                    Env = l.StringMap("env"),
                    ReadyTimeout = l.Duration("readyTimeout") ?? TimeSpan.FromSeconds(30),
                };
                l.RejectUnknown();
            }

            var skipTls = t.Bool("insecureSkipTlsVerify") ?? false;
            t.RejectUnknown();
            result[name] = new TargetSpec { Name = name, BaseUrl = baseUrl, Launch = launch, InsecureSkipTlsVerify = skipTls };
        }

        return result;
    }

    private static List<ScenarioSpec> ReadScenarios(YamlMap root, YamlErrors errors)
    {
        var result = new List<ScenarioSpec>();
        var seq = root.Sequence("scenarios");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var s = YamlMap.From(seq.Children[i], $"scenarios[{i}]", errors);
            if (s is null)
            {
                continue;
            }

            var sequence = ReadRequests(s, errors);
            var stops = new List<StopCondition>();
            var stopSeq = s.Sequence("stopWhen");
            for (int j = 0; stopSeq is not null && j < stopSeq.Children.Count; j++)
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

            var scenario = new ScenarioSpec
            {
                Name = s.String("name") ?? string.Empty,
                Target = s.String("target") ?? string.Empty,
                Request = sequence[0],
                Sequence = sequence,
                Load = ReadLoad(s, errors) ?? new LoadSpec { Model = LoadModel.Open, Segments = [] },
                StartAfter = s.Duration("startAfter") ?? TimeSpan.Zero,
                StopWhen = stops,
                Thresholds = ReadThresholds(s, errors),
                Deployment = s.String("deployment"),
                Cookies = ReadCookies(s, errors),
                Data = ReadData(s, errors),
            };
            s.RejectUnknown();
            result.Add(scenario);
        }

        return result;
    }

    /// <summary><c>cookies: true | false | { clearEachIteration: true }</c>.</summary>
    private static CookieSpec? ReadCookies(YamlMap s, YamlErrors errors)
    {
        var node = s.Get("cookies");
        if (node is null)
        {
            return null;
        }

        if (node is YamlDotNet.RepresentationModel.YamlScalarNode)
        {
            return s.Bool("cookies") is { } on ? new CookieSpec(on) : null;
        }

        if (YamlMap.From(node, s.Child("cookies"), errors) is not { } c)
        {
            return null;
        }

        var spec = new CookieSpec(c.Bool("enabled") ?? true, c.Bool("clearEachIteration") ?? false);
        c.RejectUnknown();
        return spec;
    }

    /// <summary><c>data: { file, bind: user | iteration, order: sequential | random | unique, atEnd: recycle | stop }</c>.</summary>
    private static DataSpec? ReadData(YamlMap s, YamlErrors errors)
    {
        if (!s.Has("data") || YamlMap.From(s.Get("data"), s.Child("data"), errors) is not { } d)
        {
            return null;
        }

        T Pick<T>(string key, T fallback, params (string Text, T Value)[] choices)
        {
            var text = d.String(key);
            if (text is null)
            {
                return fallback;
            }

            foreach (var (t, v) in choices)
            {
                if (t == text)
                {
                    return v;
                }
            }

            errors.Add(d.Child(key), $"must be one of {string.Join(", ", choices.Select(c => c.Text))}, got '{text}'", d.Get(key, markUsed: false));
            return fallback;
        }

        var spec = new DataSpec
        {
            File = d.String("file") ?? string.Empty,
            Bind = Pick("bind", DataBinding.Iteration, ("iteration", DataBinding.Iteration), ("user", DataBinding.User)),
            Order = Pick("order", DataOrder.Sequential, ("sequential", DataOrder.Sequential), ("random", DataOrder.Random), ("unique", DataOrder.Unique)),
            Recycle = Pick("atEnd", d.String("order") != "unique", ("recycle", true), ("stop", false)), // unique rows are used once
            Columns = [.. ScalarList(d, "columns", errors).Select(x => x.Text)],
            SkipFirstLine = d.Bool("skipFirstLine") ?? false,
        };
        if (spec.File.Length == 0)
        {
            errors.Add(d.Child("file"), "is required: a CSV file with a header line, or JSON lines (.jsonl)", d.Node);
        }

        d.RejectUnknown();
        return spec;
    }

    /// <summary>The scenario's request (key <c>request</c>) or its sequence (key <c>requests</c>); default: GET /.</summary>
    private static List<RequestSpec> ReadRequests(YamlMap scenario, YamlErrors errors)
    {
        // Both are known keys here, whichever the scenario uses (the "unknown key" hint lists them).
        scenario.Get("request");
        scenario.Get("requests");
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
            if (YamlMap.From(seq.Children[i], $"{scenario.Child("requests")}[{i}]", errors) is { } r)
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
        var request = new RequestSpec
        {
            Name = named ? r.String("name") : null,
            Method = r.String("method")?.ToUpperInvariant() ?? "GET",
            Path = r.String("path") ?? "/",
            Headers = r.StringMap("headers", StringComparer.OrdinalIgnoreCase),
            Body = r.String("body"),
            Timeout = r.Duration("timeout") ?? TimeSpan.FromSeconds(10),
            Expect = r.Has("expect") ? ReadExpect(r, errors) : null,
            Extract = ReadExtract(r, errors),
        };
        r.RejectUnknown();
        return request;
    }

    /// <summary><c>extract: [{ name, json | regex (+ group) | header | between: [left, right], default }]</c>.</summary>
    private static List<ExtractSpec> ReadExtract(YamlMap r, YamlErrors errors)
    {
        var result = new List<ExtractSpec>();
        var seq = r.Sequence("extract");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var path = $"{r.Child("extract")}[{i}]";
            if (YamlMap.From(seq.Children[i], path, errors) is not { } e)
            {
                continue;
            }

            var name = e.String("name");
            var kinds = new[] { "json", "regex", "header", "between" }.Where(e.Has).ToList();
            foreach (var k in new[] { "json", "regex", "header", "between", "group", "default" })
            {
                e.Get(k, markUsed: true);
            }

            if (string.IsNullOrEmpty(name))
            {
                errors.Add(e.Child("name"), "is required: the value is ${vars.NAME} in later requests", e.Node);
            }

            if (kinds.Count != 1)
            {
                errors.Add(path, "takes one of json (a JSON path), regex (with group), header or between: [left, right]", e.Node);
                e.RejectUnknown();
                continue;
            }

            var kind = kinds[0];
            string? expression = null, right = null;
            if (kind == "between")
            {
                var pair = ScalarList(e, "between", errors);
                if (pair.Count != 2 || pair[0].Text.Length == 0)
                {
                    errors.Add(e.Child("between"), "is [left, right]: the text before and after the value (left not empty; right empty: to the end)", e.Get("between", markUsed: false));
                }
                else
                {
                    (expression, right) = (pair[0].Text, pair[1].Text);
                }
            }
            else
            {
                expression = e.String(kind);
            }

            int group = 1;
            if (e.Number("group") is { } g)
            {
                group = (int)g;
            }

            if (expression is not null && name is not null)
            {
                result.Add(new ExtractSpec
                {
                    Name = name,
                    Kind = kind switch { "json" => ExtractKind.Json, "regex" => ExtractKind.Regex, "header" => ExtractKind.Header, _ => ExtractKind.Boundary },
                    Expression = expression,
                    Right = right,
                    Group = group,
                    Default = e.String("default"),
                });
            }

            e.RejectUnknown();
        }

        return result;
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
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            {
                statuses.Add(code);
            }
            else
            {
                errors.Add(path, $"must be a status from 100 to 399 (4xx and 5xx answers are errors anyway), got '{text}'", node);
            }
        }

        var expect = new ResponseExpectation
        {
            Status = statuses,
            BodyContains = [.. ScalarList(e, "bodyContains", errors).Select(x => x.Text)],
            BodyNotContains = [.. ScalarList(e, "bodyNotContains", errors).Select(x => x.Text)],
        };
        e.RejectUnknown();
        return expect;
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
                    errors.Positions.Set($"{map.Child(key)}[{i}]", seq.Children[i]);
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

        var modelText = l.String("model");
        LoadModel model;
        switch (modelText)
        {
            case "open":
                model = LoadModel.Open;
                break;
            case "closed":
                model = LoadModel.Closed;
                break;
            default:
                errors.Add(l.Child("model"), modelText is null ? "is required: open (arrival rate) or closed (virtual users)" : $"must be open (arrival rate) or closed (virtual users), got '{modelText}'", l.Get("model") ?? l.Node);
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

        var shapes = new[] { unitKey, "stages", "steps", "cycles" }.Where(l.Has).ToList();
        if (shapes.Count != 1)
        {
            errors.Add(l.Path, shapes.Count == 0
                ? $"needs one load shape: {unitKey} + duration, stages, steps, or cycles"
                : $"takes one load shape, got {string.Join(" and ", shapes)}", l.Node);
        }

        LoadShape? shape = ReadConstant(l, unitKey, errors);
        if (l.Has("stages"))
        {
            shape = ReadStages(l, unitKey, startKey, otherUnit, modelText, errors);
        }
        else if (l.Has(startKey))
        {
            errors.Add(l.Child(startKey), "goes with stages", l.Get(startKey));
        }

        if (l.Has("steps"))
        {
            shape = ReadSteps(l, open, errors);
        }

        if (l.Has("cycles"))
        {
            shape = ReadCycles(l, open, errors);
        }

        if (shape is null)
        {
            errors.MarkBad(l.Path); // its shape had errors of its own: no curve to judge
        }

        var maxInFlight = l.Number("maxInFlight");
        var iterations = l.Number("iterations");
        var load = new LoadSpec
        {
            Model = model,
            Shape = shape,
            Segments = shape?.Segments() ?? [],
            MaxInFlight = maxInFlight is { } m ? (int)Math.Clamp(m, int.MinValue, int.MaxValue) : 1000,
            ThinkTime = l.Duration("thinkTime") ?? TimeSpan.Zero,
            ThinkTimeMax = l.Duration("thinkTimeMax"),
            Iterations = iterations is { } it ? (int)Math.Clamp(it, int.MinValue, int.MaxValue) : null,
        };

        // Whole numbers are a form: 2.5 users or 0.5 iterations cannot be read as what they say.
        if (maxInFlight is { } mif && mif != Math.Floor(mif))
        {
            errors.Add(l.Child("maxInFlight"), $"must be a whole number from 1 to 1000000, got {Fmt(mif)}", l.Get("maxInFlight"));
        }

        if (iterations is { } its && its != Math.Floor(its))
        {
            errors.Add(l.Child("iterations"), $"must be a whole number >= 1, got {Fmt(its)}", l.Get("iterations"));
        }

        l.RejectUnknown();
        return load;
    }

    /// <summary><c>rate: R</c> (or <c>users: N</c>) with <c>duration</c>; null when not given or wrong.</summary>
    private static ConstantShape? ReadConstant(YamlMap l, string unitKey, YamlErrors errors)
    {
        if (!l.Has(unitKey))
        {
            if (l.Has("duration"))
            {
                errors.Add(l.Child("duration"), $"goes with {unitKey}; stages and steps carry their own durations", l.Get("duration"));
            }

            return null;
        }

        var v = l.Number(unitKey);
        var d = l.Duration("duration");
        if (d is null && !errors.IsBad(l.Child("duration")))
        {
            errors.Add(l.Child("duration"), $"is required with {unitKey}", l.Node);
        }

        return v is { } value && d is { } dur ? new ConstantShape(value, dur) : null;
    }

    /// <summary><c>startRate</c> (or <c>startUsers</c>) and <c>stages</c>; null when one stage is wrong.</summary>
    private static StagesShape? ReadStages(YamlMap l, string unitKey, string startKey, string otherUnit, string modelText, YamlErrors errors)
    {
        var start = l.Number(startKey) ?? 0;
        var stages = new List<Stage>();
        var seq = l.Sequence("stages");
        bool complete = seq is not null;
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var st = YamlMap.From(seq.Children[i], $"{l.Child("stages")}[{i}]", errors);
            if (st is null)
            {
                complete = false;
                continue;
            }

            var d = st.Duration("duration");
            var v = st.Number(unitKey);
            if (st.Has(otherUnit))
            {
                errors.Add(st.Child(otherUnit), $"does not apply to the {modelText} model (use {unitKey})", st.Get(otherUnit));
            }

            Require(st, errors, ("duration", d is null), (unitKey, v is null));
            var name = st.String("name");
            st.RejectUnknown();
            if (d is { } dur && v is { } val)
            {
                stages.Add(new Stage(dur, val, name));
            }
            else
            {
                complete = false;
            }
        }

        return complete ? new StagesShape(start, stages) : null;
    }

    /// <summary><c>steps: { from, step, every, to }</c>; null when wrong.</summary>
    private static StepsShape? ReadSteps(YamlMap l, bool open, YamlErrors errors)
    {
        if (YamlMap.From(l.Get("steps"), l.Child("steps"), errors) is not { } steps)
        {
            return null;
        }

        var from = steps.Number("from");
        var step = steps.Number("step");
        var every = steps.Duration("every");
        var to = steps.Number("to");
        Require(steps, errors, ("from", from is null), ("step", step is null), ("every", every is null), ("to", to is null));
        steps.RejectUnknown();
        return from is { } f && step is { } s && every is { } e && to is { } t ? new StepsShape(f, s, e, t, open ? "/s" : " users") : null;
    }

    /// <summary><c>cycles: { base, peak, baseFor, peakFor, count, ramp }</c>; null when wrong.</summary>
    private static CyclesShape? ReadCycles(YamlMap l, bool open, YamlErrors errors)
    {
        if (YamlMap.From(l.Get("cycles"), l.Child("cycles"), errors) is not { } c)
        {
            return null;
        }

        var low = c.Number("base");
        var peak = c.Number("peak");
        var baseFor = c.Duration("baseFor");
        var peakFor = c.Duration("peakFor");
        var count = c.Number("count");
        var ramp = c.Duration("ramp") ?? TimeSpan.Zero;
        Require(c, errors, ("base", low is null), ("peak", peak is null), ("baseFor", baseFor is null), ("peakFor", peakFor is null), ("count", count is null));
        if (count is { } n && (n != Math.Floor(n) || n < 1 || n > CyclesShape.MaxCycles))
        {
            errors.Add(c.Child("count"), $"must be a whole number from 1 to {CyclesShape.MaxCycles}, got {Fmt(n)}", c.Get("count"));
            count = null;
        }

        c.RejectUnknown();
        return low is { } b && peak is { } p && baseFor is { } bf && peakFor is { } pf && count is { } k
            ? new CyclesShape(b, p, bf, pf, (int)k, ramp, open ? "/s" : " users")
            : null;
    }

    /// <summary>Each key that is missing is required (unless it is there but could not be read: that has its own error).</summary>
    private static void Require(YamlMap map, YamlErrors errors, params (string Key, bool Missing)[] keys)
    {
        foreach (var (key, missing) in keys)
        {
            if (missing && !errors.IsBad(map.Child(key)))
            {
                errors.Add(map.Child(key), "is required", map.Node);
            }
        }
    }

    /// <summary>
    /// Each entry is the threshold text, or a map <c>{ threshold: "...", abortOnFail: true, delayAbortEval: 10s }</c>
    /// as in k6. Every parse error is reported with the entry's path, line and the column in the text.
    /// </summary>
    private static List<Threshold> ReadThresholds(YamlMap map, YamlErrors errors)
    {
        var result = new List<Threshold>();
        var seq = map.Sequence("thresholds");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var node = seq.Children[i];
            var path = $"{map.Child("thresholds")}[{i}]";
            string? text;
            bool abort = false;
            TimeSpan grace = TimeSpan.Zero;
            if (node is YamlScalarNode scalar)
            {
                text = scalar.Value;
            }
            else if (YamlMap.From(node, path, errors) is { } m)
            {
                text = m.String("threshold");
                if (text is null)
                {
                    errors.Add(m.Child("threshold"), "is required", m.Node);
                }

                abort = m.Bool("abortOnFail") ?? false;
                grace = m.Duration("delayAbortEval") ?? TimeSpan.Zero;
                m.RejectUnknown();
            }
            else
            {
                continue;
            }

            if (text is null)
            {
                continue;
            }

            if (ThresholdParser.TryParse(text, out var t, out var err))
            {
                result.Add(t! with { AbortOnFail = abort, AbortGrace = grace });
            }
            else
            {
                errors.Add(path, $"{err} in '{text}'", node);
            }
        }

        return result;
    }

    private static ValiditySpec? ReadValidity(YamlMap root, YamlErrors errors)
    {
        var v = YamlMap.From(root.Get("validity"), "validity", errors);
        if (v is null)
        {
            return null;
        }

        var validity = new ValiditySpec
        {
            MaxObserverGap = v.Duration("maxObserverGap") ?? TimeSpan.FromSeconds(60),
            GeneratorSaturatedIsInvalid = v.Bool("generatorSaturatedIsInvalid") ?? true,
        };
        v.RejectUnknown();
        return validity;
    }

    private static ObserveSpec? ReadObserve(YamlMap root, YamlErrors errors)
    {
        var o = YamlMap.From(root.Get("observe"), "observe", errors);
        if (o is null)
        {
            return null;
        }

        LocalSamplerSpec? local = null;
        if (o.Has("local"))
        {
            var node = o.Get("local");
            if (node is YamlScalarNode { Value: "true" })
            {
                local = new LocalSamplerSpec();
            }
            else if (YamlMap.From(node, o.Child("local"), errors) is { } l)
            {
                local = new LocalSamplerSpec { Interval = l.Duration("interval") ?? TimeSpan.FromSeconds(1) };
                l.RejectUnknown();
            }
        }

        var probes = new List<ProbeSpec>();
        var seq = o.Sequence("probes");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            if (YamlMap.From(seq.Children[i], $"{o.Child("probes")}[{i}]", errors) is { } p)
            {
                probes.Add(new ProbeSpec
                {
                    Target = p.String("target") ?? string.Empty,
                    Path = p.String("path") ?? "/",
                    Rate = p.Number("rate") ?? 2,
                    Timeout = p.Duration("timeout") ?? TimeSpan.FromSeconds(5),
                });
                p.RejectUnknown();
            }
        }

        var observe = new ObserveSpec
        {
            Baseline = o.Duration("baseline") ?? TimeSpan.Zero,
            Cooldown = o.Duration("cooldown") ?? TimeSpan.Zero,
            Local = local,
            Probes = probes,
            Kubernetes = o.Has("kubernetes") ? ReadKubernetes(o, errors) : null,
            Prometheus = o.Has("prometheus") ? ReadPrometheus(o, errors) : null,
        };
        o.RejectUnknown();
        return observe;
    }

    private static KubernetesSamplerSpec? ReadKubernetes(YamlMap o, YamlErrors errors)
    {
        var k = YamlMap.From(o.Get("kubernetes"), o.Child("kubernetes"), errors);
        if (k is null)
        {
            return null;
        }

        var workloads = new List<WorkloadSpec>();
        var seq = k.Sequence("workloads");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            if (YamlMap.From(seq.Children[i], $"{k.Child("workloads")}[{i}]", errors) is { } w)
            {
                workloads.Add(new WorkloadSpec { Namespace = w.String("namespace") ?? "default", Deployment = w.String("deployment") ?? string.Empty, Hpa = w.String("hpa"), Selector = w.String("selector") });
                w.RejectUnknown();
            }
        }

        var eventNamespaces = new List<string>();
        var ev = k.Sequence("eventNamespaces");
        for (int i = 0; ev is not null && i < ev.Children.Count; i++)
        {
            if (ev.Children[i] is YamlScalarNode { Value: { } name })
            {
                eventNamespaces.Add(name);
            }
            else
            {
                errors.Add($"{k.Child("eventNamespaces")}[{i}]", "must be a namespace name", ev.Children[i]);
            }
        }

        var spec = new KubernetesSamplerSpec
        {
            Kubeconfig = k.String("kubeconfig"),
            Context = k.String("context"),
            InCluster = k.Bool("inCluster") ?? false,
            Workloads = workloads,
            NodeSelector = k.String("nodeSelector"),
            EventNamespaces = eventNamespaces,
            MetricsInterval = k.Duration("metricsInterval") ?? TimeSpan.FromSeconds(15),
            RequestTimeout = k.Duration("requestTimeout") ?? TimeSpan.FromSeconds(30),
        };
        k.RejectUnknown();
        return spec;
    }

    private static PrometheusSamplerSpec? ReadPrometheus(YamlMap o, YamlErrors errors)
    {
        var p = YamlMap.From(o.Get("prometheus"), o.Child("prometheus"), errors);
        if (p is null)
        {
            return null;
        }

        var urlText = p.String("url");
        Uri? url = null;
        if (urlText is not null && !Uri.TryCreate(urlText, UriKind.Absolute, out url))
        {
            errors.Add(p.Child("url"), $"must be an absolute http:// or https:// URL, got '{urlText}'", p.Get("url"));
        }

        var queries = new List<PromQuerySpec>();
        var seq = p.Sequence("queries");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            if (YamlMap.From(seq.Children[i], $"{p.Child("queries")}[{i}]", errors) is { } q)
            {
                queries.Add(new PromQuerySpec(q.String("name") ?? string.Empty, q.String("query") ?? string.Empty, q.String("unit") ?? string.Empty));
                q.RejectUnknown();
            }
        }

        var spec = new PrometheusSamplerSpec { Url = url, Step = p.Duration("step") ?? TimeSpan.FromSeconds(15), Queries = queries };
        p.RejectUnknown();
        return spec;
    }

    private static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
