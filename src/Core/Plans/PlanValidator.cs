using System.Globalization;
using Constellation.Core.Gate;
using Constellation.Core.Text;

namespace Constellation.Core.Plans;

/// <summary>
/// Checks a <see cref="Plan"/> — however it was made: read from YAML, built from <c>load</c>'s flags, converted from
/// JMeter, changed by the service's overrides — and returns every problem at once, each with its path
/// (<c>scenarios[1].load.stages[0].rate: must be &gt; 0, got -5</c>). Every limit is an error, never a silent cap.
/// </summary>
public static partial class PlanValidator
{
    /// <summary>Longest a plan may run, a scenario's start delay included: every load loop is bounded in time.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(24);

    public const int MaxUsers = 100_000;
    public const double MaxRate = 1_000_000;
    public const int MaxScenarios = 100;
    public const int MaxRequestsPerSequence = 100;
    public const int MaxStages = 10_000;
    public static readonly TimeSpan MaxRequestTimeout = TimeSpan.FromMinutes(10);
    public const double MaxProbeRate = 50;

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    private static readonly string[] Roles = ["spin", "webapp"];

    /// <summary>Every problem of the plan; empty when it can run.</summary>
    public static IReadOnlyList<PlanError> Validate(Plan plan)
    {
        var e = new List<PlanError>();
        void Add(string path, string message) => e.Add(new PlanError(path, message));

        if (string.IsNullOrWhiteSpace(plan.Name))
        {
            Add("name", "is required");
        }
        else if (plan.Name.Length > 200 || plan.Name.Any(char.IsControl))
        {
            Add("name", "must be at most 200 characters, without line breaks or control characters");
        }

        ValidateTargets(plan, Add);
        ValidateScenarios(plan, Add);
        if (plan.Observe is { } observe)
        {
            ValidateObserve(observe, plan.Targets, Add);
        }

        ValidateThresholds(plan, Add);
        if (plan.Baseline is { } baseline && (baseline.Length == 0 || baseline.Any(char.IsWhiteSpace) || baseline == "tag:"))
        {
            Add("baseline", $"must be latest-passed, tag:NAME or a run id, got '{baseline}'");
        }

        if (plan.Validity is { } validity && validity.MaxObserverGap < TimeSpan.Zero)
        {
            Add("validity.maxObserverGap", $"must be >= 0, got {Durations.Format(validity.MaxObserverGap)}");
        }

        if (plan.Scenarios.Count > 0 && plan.MaxDuration > MaxDuration)
        {
            Add("scenarios", $"the plan runs for {Durations.Format(plan.MaxDuration)} (start delays included), longer than the limit of {MaxDuration.TotalHours:0}h");
        }

        ValidateSecretReferences(plan, Add);
        return e;
    }

    /// <summary>References are well formed, and only where they are resolved (anywhere else they would be sent as written).</summary>
    private static void ValidateSecretReferences(Plan plan, Action<string, string> add)
    {
        foreach (var r in SecretReferences.Of(plan))
        {
            if (SecretReferences.Problem(r) is { } problem)
            {
                add(r.Path, problem);
            }
        }

        const string NotHere = "refers to a secret, but references (${env:NAME}, ${file:PATH}) are resolved only in request headers, bodies and paths, a baseUrl's user:password and a launched target's env";
        void Check(string? text, string path)
        {
            if (SecretReferences.Has(text))
            {
                add(path, NotHere);
            }
        }

        for (int i = 0; i < plan.Scenarios.Count; i++)
        {
            var s = plan.Scenarios[i];
            for (int j = 0; j < s.Sequence.Count; j++)
            {
                var rp = s.Sequence.Count > 1 || s.Sequence[j].Name is not null ? $"scenarios[{i}].requests[{j}]" : $"scenarios[{i}].request";
                foreach (var (key, texts) in new[] { ("bodyContains", s.Sequence[j].Expect?.BodyContains ?? []), ("bodyNotContains", s.Sequence[j].Expect?.BodyNotContains ?? []) })
                {
                    for (int k = 0; k < texts.Count; k++)
                    {
                        Check(texts[k], $"{rp}.expect.{key}[{k}]");
                    }
                }

                foreach (var name in s.Sequence[j].Headers.Keys)
                {
                    Check(name, $"{rp}.headers");
                }
            }
        }

        for (int i = 0; i < (plan.Observe?.Probes.Count ?? 0); i++)
        {
            Check(plan.Observe!.Probes[i].Path, $"observe.probes[{i}].path");
        }

        if (plan.Observe?.Prometheus is { } prom)
        {
            Check(prom.Url?.OriginalString, "observe.prometheus.url");
            for (int i = 0; i < prom.Queries.Count; i++)
            {
                Check(prom.Queries[i].Query, $"observe.prometheus.queries[{i}].query");
            }
        }
    }

    private static void ValidateTargets(Plan plan, Action<string, string> add)
    {
        if (plan.Targets.Count == 0)
        {
            add("targets", "must name at least one target");
        }

        foreach (var (name, t) in plan.Targets)
        {
            var path = $"targets.{name}";
            if (!IsName(name))
            {
                add(path, "a target's name is letters, digits, '-', '_' and '.', at most 100 characters");
            }

            if (t.BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
            {
                add($"{path}.baseUrl", $"must be an absolute http:// or https:// URL, got '{PlanRedactor.RedactUrl(url)}'");
            }

            if (t.BaseUrl is { } withQuery && (withQuery.Query.Length > 0 || withQuery.Fragment.Length > 0))
            {
                add($"{path}.baseUrl", "takes no query or fragment (requests carry their own path and query)");
            }

            if (t.BaseUrl is null && t.Launch is null)
            {
                add(path, "needs either baseUrl or launch");
            }
            else if (t.BaseUrl is not null && t.Launch is not null)
            {
                add(path, "takes baseUrl or launch, not both (a launched target gets a free loopback port)");
            }

            if (t.Launch is { } launch)
            {
                if (!Roles.Contains(launch.Role))
                {
                    add($"{path}.launch.role", launch.Role.Length == 0 ? $"is required: one of {string.Join(", ", Roles)}" : $"must be one of {string.Join(", ", Roles)}, got '{launch.Role}'");
                }

                if (launch.ReadyTimeout <= TimeSpan.Zero || launch.ReadyTimeout > TimeSpan.FromMinutes(10))
                {
                    add($"{path}.launch.readyTimeout", $"must be > 0 and at most 10m, got {Durations.Format(launch.ReadyTimeout)}");
                }

                foreach (var (k, v) in launch.Env)
                {
                    if (k.Length == 0 || k.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '.')) || v.Any(c => c == '\0'))
                    {
                        add($"{path}.launch.env.{k}", "is not a valid environment variable name or value");
                    }
                }
            }

            if (t.InsecureSkipTlsVerify && t.BaseUrl is { } plain && plain.Scheme != Uri.UriSchemeHttps)
            {
                add($"{path}.insecureSkipTlsVerify", $"only applies to an https:// baseUrl, got '{PlanRedactor.RedactUrl(plain)}'");
            }
        }
    }

    private static void ValidateScenarios(Plan plan, Action<string, string> add)
    {
        if (plan.Scenarios.Count == 0)
        {
            add("scenarios", "must list at least one scenario");
        }
        else if (plan.Scenarios.Count > MaxScenarios)
        {
            add("scenarios", $"lists {plan.Scenarios.Count} scenarios, more than the limit of {MaxScenarios}");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < plan.Scenarios.Count; i++)
        {
            var s = plan.Scenarios[i];
            var path = $"scenarios[{i}]";
            if (string.IsNullOrWhiteSpace(s.Name))
            {
                add($"{path}.name", "is required");
            }
            else if (!names.Add(s.Name))
            {
                add($"{path}.name", $"'{s.Name}' is used by another scenario; names must be unique");
            }
            else if (s.Name.Length > 100 || s.Name.Any(char.IsControl))
            {
                add($"{path}.name", "must be at most 100 characters, without line breaks or control characters");
            }
            if (s.Name.Contains("{request:", StringComparison.Ordinal))
            {
                add($"{path}.name", "'{request:' marks one request's results: a scenario's name cannot hold it");
            }


            if (string.IsNullOrEmpty(s.Target))
            {
                add($"{path}.target", "is required");
            }
            else if (!plan.Targets.ContainsKey(s.Target))
            {
                var known = plan.Targets.Count == 0 ? "none are defined" : "defined: " + string.Join(", ", plan.Targets.Keys);
                add($"{path}.target", $"unknown target '{s.Target}' ({known})");
            }

            if (s.StartAfter < TimeSpan.Zero)
            {
                add($"{path}.startAfter", $"must be >= 0, got {Durations.Format(s.StartAfter)}");
            }
            else if (s.StartAfter > MaxDuration)
            {
                add($"{path}.startAfter", $"must be at most {MaxDuration.TotalHours:0}h, got {Durations.Format(s.StartAfter)}");
            }

            if (s.Deployment is { } deployment && !(plan.Observe?.Kubernetes?.Workloads.Any(w => w.Deployment == deployment) ?? false))
            {
                add($"{path}.deployment", NotWatched(plan, deployment));
            }

            ValidateRequests(s, path, add);
            ValidateJourney(s, path, add);
            ValidateLoad(s.Load, $"{path}.load", add);
        }
    }

    /// <summary>Extractors that compile, and placeholders that name a data column or a value extracted earlier in the iteration.</summary>
    private static void ValidateJourney(ScenarioSpec s, string path, Action<string, string> add)
    {
        bool sequence = s.Sequence.Count > 1 || s.Sequence[0].Name is not null;
        var extracted = new HashSet<string>(StringComparer.Ordinal);

        if (s.Data is { Order: DataOrder.Unique, Recycle: true })
        {
            add($"{path}.data.atEnd", "unique rows are each used once: at their end the users stop (atEnd: stop, the default for unique)");
        }

        for (int j = 0; j < s.Sequence.Count; j++)
        {
            var r = s.Sequence[j];
            var rp = sequence ? $"{path}.requests[{j}]" : $"{path}.request";
            var texts = new List<(string Where, string? Text)> { ("path", r.Path), ("body", r.Body) };
            texts.AddRange(r.Headers.Select(h => ($"headers.{h.Key}", (string?)h.Value)));
            foreach (var (where, text) in texts)
            {
                foreach (var (kind, name) in Placeholders.Find(text))
                {
                    if (kind == "vars" && !extracted.Contains(name))
                    {
                        add($"{rp}.{where}", $"${{vars.{name}}} is not extracted by an earlier request of the sequence (extract: [{{ name: {name}, ... }}])");
                    }
                    else if (kind == "data" && s.Data is null)
                    {
                        add($"{rp}.{where}", $"${{data.{name}}} needs the scenario's data: data: {{ file: FILE.csv }}");
                    }
                    else if (kind == "data" && s.Data?.Rows is { } rows && !rows.Columns.Contains(name))
                    {
                        add($"{rp}.{where}", $"${{data.{name}}}: {s.Data.File} has no column '{name}' (its columns: {string.Join(", ", rows.Columns)})");
                    }
                }
            }

            for (int k = 0; k < r.Extract.Count; k++)
            {
                var x = r.Extract[k];
                var xp = $"{rp}.extract[{k}]";
                if (!NameToken().IsMatch(x.Name))
                {
                    add($"{xp}.name", $"must be a name of letters, digits, '_' and '-' (it is ${{vars.NAME}}), got '{x.Name}'");
                }

                switch (x.Kind)
                {
                    case ExtractKind.Regex:
                        try
                        {
                            var re = new System.Text.RegularExpressions.Regex(x.Expression, System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
                            if (x.Group < 0 || x.Group > re.GetGroupNumbers().Max())
                            {
                                add($"{xp}.group", $"the expression has {re.GetGroupNumbers().Max()} group(s); group {x.Group} does not exist");
                            }
                        }
                        catch (ArgumentException e)
                        {
                            add($"{xp}.regex", $"is not a regular expression: {e.Message}");
                        }

                        break;
                    case ExtractKind.Json when !JsonPath.TryParse(x.Expression, out _, out var why):
                        add($"{xp}.json", why!);
                        break;
                    case ExtractKind.Header when !NameToken().IsMatch(x.Expression):
                        add($"{xp}.header", $"must be a header name, got '{x.Expression}'");
                        break;
                    case ExtractKind.Header when x.Expression.ToLowerInvariant() is "content-length" or "transfer-encoding" or "connection":
                        add($"{xp}.header", $"{x.Expression} frames the answer for the connection, not for a journey: extract another header");
                        break;
                }

                extracted.Add(x.Name);
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial System.Text.RegularExpressions.Regex NameToken();

    private static void ValidateRequests(ScenarioSpec s, string path, Action<string, string> add)
    {
        bool sequence = s.Sequence.Count > 1 || s.Sequence[0].Name is not null;
        if (s.Sequence.Count > MaxRequestsPerSequence)
        {
            add($"{path}.requests", $"lists {s.Sequence.Count} requests, more than the limit of {MaxRequestsPerSequence}");
        }

        for (int j = 0; j < s.Sequence.Count; j++)
        {
            var r = s.Sequence[j];
            var rp = sequence ? $"{path}.requests[{j}]" : $"{path}.request";
            if (!Methods.Contains(r.Method))
            {
                add($"{rp}.method", $"must be one of {string.Join(", ", Methods)}, got '{r.Method}'");
            }

            if (!r.Path.StartsWith('/') || r.Path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                add($"{rp}.path", $"must start with / and contain no spaces, got '{PlanRedactor.RedactQuery(r.Path)}'");
            }

            if (r.Timeout <= TimeSpan.Zero || r.Timeout > MaxRequestTimeout)
            {
                add($"{rp}.timeout", $"must be > 0 and at most {MaxRequestTimeout.TotalMinutes:0}m, got {Durations.Format(r.Timeout)}");
            }

            foreach (var (k, v) in r.Headers)
            {
                // Names are tokens; values may hold any text but line breaks and other control characters (they go out as UTF-8).
                if (k.Length == 0 || k.Any(c => c <= ' ' || c == ':' || c > '~') || v.Any(c => char.IsControl(c) && c != '\t'))
                {
                    add($"{rp}.headers.{k}", "is not a valid header name or value");
                }
            }

            if (r.Expect is { } expect)
            {
                for (int k = 0; k < expect.Status.Count; k++)
                {
                    if (expect.Status[k] is < 100 or > 399)
                    {
                        add(expect.Status.Count == 1 ? $"{rp}.expect.status" : $"{rp}.expect.status[{k}]", $"must be a status from 100 to 399 (4xx and 5xx answers are errors anyway), got '{expect.Status[k]}'");
                    }
                }

                foreach (var (key, texts) in new[] { ("bodyContains", expect.BodyContains), ("bodyNotContains", expect.BodyNotContains) })
                {
                    if (texts.Any(string.IsNullOrEmpty))
                    {
                        add($"{rp}.expect.{key}", "must not hold an empty text");
                    }
                }

                if (expect.Status.Count == 0 && expect.BodyContains.Count == 0 && expect.BodyNotContains.Count == 0)
                {
                    add($"{rp}.expect", "needs at least one of status, bodyContains, bodyNotContains");
                }
            }
        }
    }

    private static void ValidateLoad(LoadSpec l, string path, Action<string, string> add)
    {
        bool open = l.Model == LoadModel.Open;
        string unitKey = open ? "rate" : "users";
        switch (l.Shape)
        {
            case ConstantShape c:
                if (c.Value <= 0)
                {
                    add($"{path}.{unitKey}", $"must be > 0, got {Fmt(c.Value)}");
                }

                if (c.Duration <= TimeSpan.Zero)
                {
                    add($"{path}.duration", $"must be > 0, got {Durations.Format(c.Duration)}");
                }

                break;
            case StagesShape st:
                if (st.Start < 0)
                {
                    add($"{path}.{(open ? "startRate" : "startUsers")}", $"must be >= 0, got {Fmt(st.Start)}");
                }

                if (st.Stages.Count == 0)
                {
                    add($"{path}.stages", "must list at least one stage");
                }
                else if (st.Stages.Count > MaxStages)
                {
                    add($"{path}.stages", $"lists {st.Stages.Count} stages, more than the limit of {MaxStages}");
                }
                else if (st.Stages.All(x => x.Duration == TimeSpan.Zero))
                {
                    add($"{path}.stages", "must last longer than 0s in total");
                }

                for (int i = 0; i < st.Stages.Count; i++)
                {
                    if (st.Stages[i].Duration < TimeSpan.Zero)
                    {
                        add($"{path}.stages[{i}].duration", $"must be >= 0, got {Durations.Format(st.Stages[i].Duration)}");
                    }

                    if (st.Stages[i].Value < 0)
                    {
                        add($"{path}.stages[{i}].{unitKey}", $"must be > 0, got {Fmt(st.Stages[i].Value)}");
                    }
                }

                break;
            case StepsShape sp:
                if (sp.From <= 0)
                {
                    add($"{path}.steps.from", $"must be > 0, got {Fmt(sp.From)}");
                }

                if (sp.Step <= 0)
                {
                    add($"{path}.steps.step", $"must be > 0, got {Fmt(sp.Step)}");
                }

                if (sp.Every <= TimeSpan.Zero)
                {
                    add($"{path}.steps.every", $"must be > 0, got {Durations.Format(sp.Every)}");
                }

                if (sp.To < sp.From)
                {
                    add($"{path}.steps.to", $"must be >= from ({Fmt(sp.From)}), got {Fmt(sp.To)}");
                }
                else if (sp.Step > 0 && sp.Count > LoadShape.MaxSteps)
                {
                    add($"{path}.steps", $"makes {sp.Count:0} steps ({Fmt(sp.From)} to {Fmt(sp.To)} by {Fmt(sp.Step)}), more than the limit of {LoadShape.MaxSteps}: take bigger steps");
                }

                break;
            case CyclesShape cy:
                if (cy.Base < 0)
                {
                    add($"{path}.cycles.base", $"must be >= 0, got {Fmt(cy.Base)}");
                }

                if (cy.Peak <= cy.Base)
                {
                    add($"{path}.cycles.peak", $"must be above base ({Fmt(cy.Base)}), got {Fmt(cy.Peak)}");
                }

                if (cy.BaseFor <= TimeSpan.Zero)
                {
                    add($"{path}.cycles.baseFor", $"must be > 0, got {Durations.Format(cy.BaseFor)}");
                }

                if (cy.PeakFor <= TimeSpan.Zero)
                {
                    add($"{path}.cycles.peakFor", $"must be > 0, got {Durations.Format(cy.PeakFor)}");
                }

                if (cy.Ramp < TimeSpan.Zero)
                {
                    add($"{path}.cycles.ramp", $"must be >= 0, got {Durations.Format(cy.Ramp)}");
                }

                break;
            case null when l.Segments.Count == 0:
                add(path, $"needs one load shape: {unitKey} + duration, stages, steps, or cycles");
                break;
        }

        // The curve itself, however it was made (a shape or segments built in memory).
        var segments = l.Segments;
        if (l.Shape is null)
        {
            for (int i = 0; i < segments.Count; i++)
            {
                if (segments[i].Duration < TimeSpan.Zero || segments[i].From < 0 || segments[i].To < 0 || !double.IsFinite(segments[i].From) || !double.IsFinite(segments[i].To))
                {
                    add($"{path}.stages[{i}]", "a stage's duration and values must be >= 0");
                }
            }
        }

        var total = segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);
        if (total > MaxDuration)
        {
            add(path, $"runs for {Durations.Format(total)}, longer than the limit of {MaxDuration.TotalHours:0}h");
        }

        var peak = segments.Count == 0 ? 0 : segments.Max(s => Math.Max(s.From, s.To));
        if (segments.Count > 0 && peak <= 0 && segments.All(s => s.From >= 0 && s.To >= 0))
        {
            add(path, $"never offers any load: every {unitKey} is 0");
        }

        if (open && peak > MaxRate)
        {
            add(path, $"peaks at {Fmt(peak)}/s, above the limit of {Fmt(MaxRate)}/s");
        }

        if (!open && peak > MaxUsers)
        {
            add(path, $"peaks at {Fmt(peak)} users, above the limit of {MaxUsers}");
        }

        if (!open && segments.Any(s => s.From != Math.Floor(s.From) || s.To != Math.Floor(s.To)))
        {
            add(path, "user counts must be whole numbers");
        }

        if (open && (l.MaxInFlight < 1 || l.MaxInFlight > 1_000_000))
        {
            add($"{path}.maxInFlight", $"must be a whole number from 1 to 1000000, got {l.MaxInFlight}");
        }

        if (l.ThinkTime < TimeSpan.Zero || l.ThinkTime > TimeSpan.FromHours(1))
        {
            add($"{path}.thinkTime", $"must be from 0 to 1h, got {Durations.Format(l.ThinkTime)}");
        }

        if (l.ThinkTimeMax is { } tm && (tm < l.ThinkTime || tm > TimeSpan.FromHours(1)))
        {
            add($"{path}.thinkTimeMax", $"must be >= thinkTime ({Durations.Format(l.ThinkTime)}) and at most 1h, got {Durations.Format(tm)}");
        }

        if (l.Iterations is < 1)
        {
            add($"{path}.iterations", $"must be a whole number >= 1, got {l.Iterations}");
        }
    }

    private static void ValidateObserve(ObserveSpec o, IReadOnlyDictionary<string, TargetSpec> targets, Action<string, string> add)
    {
        foreach (var (key, value) in new[] { ("baseline", o.Baseline), ("cooldown", o.Cooldown) })
        {
            if (value < TimeSpan.Zero)
            {
                add($"observe.{key}", $"must be >= 0, got {Durations.Format(value)}");
            }
            else if (value > TimeSpan.FromHours(1))
            {
                add($"observe.{key}", $"must be at most 1h, got {Durations.Format(value)}");
            }
        }

        if (o.Local is { } local)
        {
            Interval("observe.local.interval", local.Interval, TimeSpan.FromMilliseconds(100), add);
        }

        var probed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Probes.Count; i++)
        {
            var p = o.Probes[i];
            var path = $"observe.probes[{i}]";
            if (string.IsNullOrEmpty(p.Target))
            {
                add($"{path}.target", "is required");
            }
            else if (!targets.ContainsKey(p.Target))
            {
                add($"{path}.target", $"unknown target '{p.Target}' (defined: {string.Join(", ", targets.Keys)})");
            }
            else if (!probed.Add(p.Target))
            {
                add($"{path}.target", $"'{p.Target}' is probed twice");
            }

            if (!p.Path.StartsWith('/') || p.Path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                add($"{path}.path", $"must start with / and contain no spaces, got '{p.Path}'");
            }

            if (p.Rate <= 0 || p.Rate > MaxProbeRate || !double.IsFinite(p.Rate))
            {
                add($"{path}.rate", $"must be > 0 and at most {MaxProbeRate}/s (a probe is not load), got {Fmt(p.Rate)}");
            }

            Interval($"{path}.timeout", p.Timeout, TimeSpan.FromMilliseconds(10), add);
        }

        if (o.Kubernetes is { } k)
        {
            var path = "observe.kubernetes";
            if (k.InCluster && (k.Kubeconfig is not null || k.Context is not null))
            {
                add($"{path}.inCluster", "takes no kubeconfig or context (it uses the pod's service account)");
            }

            if (k.Workloads.Count == 0)
            {
                add($"{path}.workloads", "must list at least one deployment to watch");
            }

            var seen = new HashSet<(string, string)>();
            for (int i = 0; i < k.Workloads.Count; i++)
            {
                var w = k.Workloads[i];
                foreach (var (key, value) in new[] { ("namespace", (string?)w.Namespace), ("deployment", w.Deployment), ("hpa", w.Hpa) })
                {
                    if (key == "deployment" && string.IsNullOrEmpty(value))
                    {
                        add($"{path}.workloads[{i}].deployment", "is required");
                    }
                    else if (value is not null && !IsDnsName(value))
                    {
                        add($"{path}.workloads[{i}].{key}", $"must be a Kubernetes name (lower-case letters, digits, '-', '.'), got '{value}'");
                    }
                }

                if (!string.IsNullOrEmpty(w.Deployment) && !seen.Add((w.Namespace, w.Deployment)))
                {
                    add($"{path}.workloads[{i}].deployment", $"{w.Namespace}/{w.Deployment} is listed twice");
                }
            }

            for (int i = 0; i < k.EventNamespaces.Count; i++)
            {
                if (!IsDnsName(k.EventNamespaces[i]))
                {
                    add($"{path}.eventNamespaces[{i}]", "must be a namespace name");
                }
            }

            if (k.MetricsInterval < TimeSpan.Zero || (k.MetricsInterval > TimeSpan.Zero && k.MetricsInterval < TimeSpan.FromSeconds(1)))
            {
                add($"{path}.metricsInterval", $"must be 0 (off) or at least 1s, got {Durations.Format(k.MetricsInterval)}");
            }

            Interval($"{path}.requestTimeout", k.RequestTimeout, TimeSpan.FromSeconds(1), add);
        }

        if (o.Prometheus is { } prom)
        {
            var path = "observe.prometheus";
            if (prom.Url is null)
            {
                add($"{path}.url", "is required");
            }
            else if (prom.Url.Scheme != Uri.UriSchemeHttp && prom.Url.Scheme != Uri.UriSchemeHttps)
            {
                add($"{path}.url", $"must be an absolute http:// or https:// URL, got '{PlanRedactor.RedactUrl(prom.Url)}'");
            }

            Interval($"{path}.step", prom.Step, TimeSpan.FromSeconds(1), add);
            if (prom.Queries.Count == 0)
            {
                add($"{path}.queries", "must list at least one query");
            }

            for (int i = 0; i < prom.Queries.Count; i++)
            {
                if (string.IsNullOrEmpty(prom.Queries[i].Name))
                {
                    add($"{path}.queries[{i}].name", "is required");
                }

                if (string.IsNullOrEmpty(prom.Queries[i].Query))
                {
                    add($"{path}.queries[{i}].query", "is required");
                }
            }
        }
    }

    private static string NotWatched(Plan plan, string deployment)
    {
        var watched = plan.Observe?.Kubernetes?.Workloads.Select(w => w.Deployment).Distinct().ToList() ?? [];
        return $"'{deployment}' is not a deployment the observer watches (observe.kubernetes.workloads{(watched.Count == 0 ? " is empty" : ": " + string.Join(", ", watched))})";
    }

    /// <summary>Why a reaction phase of <paramref name="deployment"/> could never be measured by this plan, if it could not.</summary>
    private static string? ReactionProblem(Plan plan, string deployment, string phase)
    {
        var aimed = plan.Scenarios.Where(s => (s.Deployment ?? s.Target) == deployment).ToList();
        if (aimed.Count == 0)
        {
            return $"no scenario's load lands on '{deployment}': a reaction is measured for the steps of a scenario aimed at it (its target named '{deployment}', or deployment: {deployment})";
        }

        return phase switch
        {
            "metric_above" when plan.Observe!.Kubernetes!.Workloads.All(w => w.Deployment != deployment || w.Hpa is null)
                => $"the HPA metric needs the deployment's HPA watched (observe.kubernetes.workloads: hpa: for '{deployment}')",
            "recovered" when aimed.All(s => Results.ReactionScope.For(s).P95LimitMs is null)
                => "recovery is judged against a p95 limit: give a scenario aimed at it a p(95) < X threshold or a p95 > X stopWhen",
            "control_recovered" when plan.Observe!.Probes.Count == 0 || plan.Observe.Baseline <= TimeSpan.Zero
                => "the control app's recovery needs a probe (observe.probes) and a calm baseline (observe.baseline)",
            _ => null,
        };
    }

    /// <summary>
    /// What a single threshold cannot know: stage names, observed deployments and probes, a baseline for regressions.
    /// A problem names its list and the threshold's text (the list holds only the thresholds that parsed).
    /// </summary>
    private static void ValidateThresholds(Plan plan, Action<string, string> add)
    {
        var observedDeployments = plan.Observe?.Kubernetes?.Workloads.Select(w => w.Deployment).ToHashSet(StringComparer.Ordinal) ?? [];
        var probed = plan.Observe?.Probes.Select(p => p.Target).ToHashSet(StringComparer.Ordinal) ?? [];
        var lists = new List<(string Scope, string List, IReadOnlyList<Threshold> Thresholds)> { ("run", "thresholds", plan.Thresholds) };
        lists.AddRange(plan.Scenarios.Select((s, i) => (s.Name, $"scenarios[{i}].thresholds", s.Thresholds)));
        foreach (var (scope, list, thresholds) in lists)
        {
            foreach (var t in thresholds)
            {
                void Problem(string message) => add(list, $"'{t.Text}': {message}");
                if (t.AbortGrace < TimeSpan.Zero)
                {
                    Problem($"delayAbortEval must be >= 0, got {Durations.Format(t.AbortGrace)}");
                }

                if (t.Window.Kind == WindowKind.DuringStage && !GateEvaluator.StageNames(plan, scope).Contains(t.Window.Stage!))
                {
                    var names = GateEvaluator.StageNames(plan, scope);
                    Problem($"no stage named \"{t.Window.Stage}\" in {(scope == "run" ? "any scenario" : $"scenario {scope}")} ({(names.Count == 0 ? "its stages have no names: add name: to a stage" : "stages: " + string.Join(", ", names))})");
                }

                if (t.Kind == ThresholdMetricKind.Scaling)
                {
                    if (scope != "run")
                    {
                        Problem("scaling thresholds belong to the run: put them in the top-level thresholds list");
                    }

                    var name = ScalingName.Parse(t.ScalingName!)!;
                    if (name.Kind == "scale" && !observedDeployments.Contains(name.Subject!))
                    {
                        Problem(NotWatched(plan, name.Subject!));
                    }
                    else if (name is { IsReaction: true, Subject: var d } && ReactionProblem(plan, d!, name.Metric) is { } problem)
                    {
                        Problem(problem);
                    }
                    else if (name.Kind == "nodes" && plan.Observe?.Kubernetes is null)
                    {
                        Problem("node metrics need the Kubernetes sampler (observe.kubernetes)");
                    }
                    else if (name.Kind == "control" && !probed.Contains(name.Subject!))
                    {
                        Problem($"'{name.Subject}' is not a probed control app (observe.probes{(probed.Count == 0 ? " is empty" : ": " + string.Join(", ", probed))})");
                    }
                }

                if (t.Request is { } request)
                {
                    var labels = plan.Scenarios.FirstOrDefault(s => s.Name == scope) is { } sc ? RequestLabels.Distinct(sc) : [];
                    if (scope == "run")
                    {
                        Problem("a request's threshold belongs to its scenario: put it in the scenario's thresholds");
                    }
                    else if (!labels.Contains(request))
                    {
                        Problem(labels.Count == 0
                            ? "{request:NAME} picks one request of a sequence (requests:); this scenario sends one request, whose results are the scenario's"
                            : $"no request '{request}' in this scenario (its requests: {string.Join(", ", labels)})");
                    }
                    else if (t.Change || t.AbortOnFail)
                    {
                        Problem(t.Change ? "the stored runs keep each scenario's numbers, not each request's: a change takes the scenario's metric" : "abortOnFail watches a scenario's seconds as they come: give it the scenario's metric");
                    }
                }

                if (t.Regression && plan.Baseline is null)
                {
                    Problem("a regression threshold needs a baseline: set baseline: latest-passed, tag:NAME or a run id");
                }

                if (t.Change && t.Kind != ThresholdMetricKind.Scaling && scope == "run")
                {
                    Problem($"the stored runs keep {t.MetricText} per scenario: put a change of it in a scenario's thresholds");
                }

                if (t.AbortOnFail && (t.Regression || t.Change || t.Kind == ThresholdMetricKind.Scaling))
                {
                    Problem("abortOnFail works on load metrics while the run goes; scaling, regression and change thresholds are judged at the end");
                }
            }
        }
    }

    private static void Interval(string path, TimeSpan value, TimeSpan min, Action<string, string> add)
    {
        if (value < min || value > TimeSpan.FromHours(1))
        {
            add(path, $"must be from {Durations.Format(min)} to 1h, got {Durations.Format(value)}");
        }
    }

    private static bool IsName(string s) => s.Length is > 0 and <= 100 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsDnsName(string s) =>
        s.Length is > 0 and <= 253 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.') && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1]);

    private static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
