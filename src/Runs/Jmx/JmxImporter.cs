using System.Xml.Linq;
using Constellation.Core.Load;
using Constellation.Core.Plans;

namespace Constellation.Runs.Jmx;

/// <summary>Something about one element of the .jmx: why it was not converted, or how it was.</summary>
public sealed record JmxFinding(string Path, string Element, string Message)
{
    public override string ToString() => $"{Path} [{Element}]: {Message}";
}

/// <summary>How <see cref="JmxImporter"/> converts.</summary>
public sealed record JmxImportOptions
{
    /// <summary>JMeter properties (-J name=value) for ${__P(name,default)} and ${__property(...)}.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>The time bound of a thread group that ends by its loop count, or runs forever, in JMeter. Default: 10m.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Stop conditions added to every scenario (ramp-to-fail), e.g. "p95 &gt; 1s over 5s".</summary>
    public IReadOnlyList<StopCondition> StopWhen { get; init; } = [];

    /// <summary>The .jmx's file name, for the plan's header comment.</summary>
    public string SourceName { get; init; } = "plan.jmx";

    /// <summary>The .jmx's folder: a CSV Data Set's file is read there for its column names (JMeter resolves it there too).</summary>
    public string? BaseDirectory { get; init; }
}

/// <summary>
/// The converted plan as YAML (written by <see cref="PlanYamlWriter"/>), what could not be converted, notes on what
/// was, and the plan's validation (its <see cref="PlanLoadResult.Plan"/> when valid).
/// </summary>
public sealed record JmxImportResult(string Yaml, IReadOnlyList<JmxFinding> Unmapped, IReadOnlyList<JmxFinding> Notes, PlanLoadResult Validation)
{
    public bool Complete => Unmapped.Count == 0;
}

/// <summary>
/// Converts a JMeter test plan to a Constellation <see cref="Plan"/>: thread groups (standard, jp@gc Stepping and
/// Ultimate, bzm Concurrency) become closed-model scenarios with the same thread counts and ramp times, or open-model
/// ones under a Constant Throughput Timer; the bzm Arrivals and Free-Form Arrivals thread groups open-model ones with
/// the same arrival rates (<see cref="JmxThreadGroups"/>, <see cref="JmxLoads"/>); HTTP samplers with their Header
/// Managers and HTTP Request Defaults become requests, Response Assertions expect checks (<see cref="JmxSamplers"/>).
/// Every element that does not map is reported with its path; nothing is dropped silently. The plan is judged by
/// <see cref="PlanValidator"/> like any other and written with comments by <see cref="PlanYamlWriter"/>.
/// </summary>
public static class JmxImporter
{
    private static readonly string[] Listeners = ["ResultCollector", "Summariser", "BackendListener", "kg.apc.jmeter.vizualizers.CorrectedResultCollector"];

    /// <summary>Converts a .jmx; throws <see cref="JmxFormatException"/> when the text is not a JMeter test plan.</summary>
    public static JmxImportResult Import(string jmxText, JmxImportOptions options) => new Conversion(new JmxContext(options)).Convert(JmxElement.Parse(jmxText));

    private sealed class Conversion(JmxContext c)
    {
        private readonly Dictionary<Uri, TargetSpec> _targets = [];
        private readonly List<ScenarioSpec> _scenarios = [];
        private readonly Dictionary<string, IReadOnlyList<string>> _comments = new(StringComparer.Ordinal);
        private List<JmxLoads.ThreadCurve> _threads = [];

        public JmxImportResult Convert(JmxElement testPlan)
        {
            DefineVariables(testPlan);
            var scope = new JmxScope();
            scope.Collect(testPlan.Children, c);
            var groups = new List<JmxElement>();
            foreach (var e in testPlan.Children.Where(e => !JmxScope.IsScopeElement(e) && !c.SkipDisabled(e)))
            {
                if (JmxThreadGroups.All.Contains(e.Tag))
                {
                    groups.Add(e);
                }
                else
                {
                    Classify(e, insideThreadGroup: false);
                }
            }

            if (JmxContext.Bool(testPlan.Prop("TestPlan.functional_mode")))
            {
                c.Note(testPlan, "functional test mode saves responses in JMeter; Constellation does not keep bodies");
            }

            bool serial = JmxContext.Bool(testPlan.Prop("TestPlan.serialize_threadgroups"));
            _threads = Threads(testPlan, groups, scope, serial);
            DefineRuntimeVariables(testPlan);
            var offset = TimeSpan.Zero;
            foreach (var group in groups)
            {
                offset = ConvertThreadGroup(group, scope, serial ? offset : TimeSpan.Zero) ?? offset;
            }

            if (serial && groups.Count > 1)
            {
                c.Note(testPlan, "thread groups run one after another: each scenario starts when the one before it ends (its full planned duration)");
            }

            if (groups.Count == 0)
            {
                c.Unmapped(testPlan, "the plan has no thread group Constellation can run");
            }

            var comment = testPlan.Prop("TestPlan.comments");
            var plan = new Plan
            {
                Name = testPlan.Name is "Test Plan" or "" ? Path.GetFileNameWithoutExtension(c.Options.SourceName) : testPlan.Name,
                Description = string.IsNullOrWhiteSpace(comment) ? null : comment.Trim(),
                Targets = _targets.Values.ToDictionary(t => t.Name, StringComparer.Ordinal),
                Scenarios = _scenarios,
            };
            var yaml = PlanYamlWriter.Write(plan, Header(), _comments);
            return new JmxImportResult(yaml, c.UnmappedFindings, c.NoteFindings, PlanLoader.Check(plan with { SourceText = yaml }));
        }

        /// <summary>
        /// Every thread group's threads over the test's time, when a Constant Throughput Timer shares its rate among
        /// the active threads of several groups (calcMode 1 or 3); else none are needed.
        /// </summary>
        private List<JmxLoads.ThreadCurve> Threads(JmxElement testPlan, List<JmxElement> groups, JmxScope planScope, bool serial)
        {
            if (!Descendants(testPlan).Any(e => e.Tag == "ConstantThroughputTimer" && c.Int(e, "calcMode") is 1 or 3))
            {
                return [];
            }

            var curves = new List<JmxLoads.ThreadCurve>();
            var at = TimeSpan.Zero;
            foreach (var g in groups)
            {
                if (JmxThreadGroups.Read(g, c) is not { } shape)
                {
                    continue;
                }

                var (start, placed) = Placed(shape, serial ? at : TimeSpan.Zero);
                var scope = planScope.Copy();
                scope.Collect(g.Children, c);
                var timer = JmxLoads.ThroughputTimer(scope, c)?.Timer ?? Descendants(g).FirstOrDefault(e => e.Tag == "ConstantThroughputTimer");
                var curve = new JmxLoads.ThreadCurve(g, start, placed.Stages, timer is null ? -1 : c.Int(timer, "calcMode") ?? 0, shape.Open);
                curves.Add(curve);
                at = start + curve.Duration;
            }

            return curves;
        }

        /// <summary>
        /// startAfter counts whole seconds (the engine aligns scenarios on run seconds): a fraction becomes a leading
        /// stage without users.
        /// </summary>
        private static (TimeSpan WholeStart, GroupLoad Shape) Placed(GroupLoad shape, TimeSpan serialOffset)
        {
            var startAfter = serialOffset + shape.StartAfter;
            var wholeStart = TimeSpan.FromSeconds(Math.Floor(startAfter.TotalSeconds));
            return startAfter > wholeStart
                ? (wholeStart, shape with { Stages = [new Stage(startAfter - wholeStart, 0, "startup delay"), .. shape.Stages] })
                : (wholeStart, shape);
        }

        private IEnumerable<string> Header()
        {
            yield return $"Imported from {OneLine(c.Options.SourceName)} by constellation import-jmx.";
            if (c.Values.UsedProperties.Count > 0)
            {
                yield return "JMeter properties used: " + string.Join(", ", c.Values.UsedProperties.Select(p => $"{p.Key}={OneLine(p.Value)}"));
            }

            foreach (var (title, list) in new[] { ("Notes on the conversion:", c.NoteFindings), ("NOT converted (imported with --allow-partial):", c.UnmappedFindings) })
            {
                if (list.Count > 0)
                {
                    yield return string.Empty;
                    yield return title;
                    foreach (var f in list)
                    {
                        yield return "  - " + OneLine(f.ToString());
                    }
                }
            }
        }

        private void DefineVariables(JmxElement testPlan)
        {
            Define(testPlan.ElementProp("TestPlan.user_defined_variables"), testPlan);
            foreach (var e in Descendants(testPlan).Where(e => e.Tag == "Arguments" && e.Enabled))
            {
                Define(e.Xml, e);
            }

            void Define(XElement? arguments, JmxElement owner)
            {
                foreach (var a in JmxElement.Collection(arguments, "Arguments.arguments"))
                {
                    var name = JmxElement.PropOf(a, "Argument.name");
                    if (string.IsNullOrEmpty(name))
                    {
                        continue;
                    }

                    var problems = new List<string>();
                    c.Values.Define(name, c.Values.Evaluate(JmxElement.PropOf(a, "Argument.value"), problems));
                    problems.ForEach(p => c.Unmapped(owner, $"variable '{name}': {p}"));
                }
            }
        }

        /// <summary>
        /// The variables JMeter sets at run time become placeholders: a CSV Data Set's columns ${data.NAME}, an
        /// extractor's reference names ${vars.NAME} — so ${user} in a sampler is the user's data, not an unknown.
        /// </summary>
        private void DefineRuntimeVariables(JmxElement testPlan)
        {
            foreach (var e in Descendants(testPlan))
            {
                switch (e.Tag)
                {
                    case "CSVDataSet":
                        foreach (var column in DataColumns(e))
                        {
                            c.Values.Define(column, $"${{data.{column}}}");
                        }

                        break;
                    case "RegexExtractor":
                        Runtime(e.Prop("RegexExtractor.refname"));
                        break;
                    case "BoundaryExtractor":
                        Runtime(e.Prop("BoundaryExtractor.refname"));
                        break;
                    case "JSONPostProcessor":
                        foreach (var name in (e.Prop("JSONPostProcessor.referenceNames") ?? string.Empty).Split(';'))
                        {
                            Runtime(name);
                        }

                        break;
                }
            }

            void Runtime(string? name)
            {
                if (!string.IsNullOrWhiteSpace(name))
                {
                    c.Values.Define(name.Trim(), $"${{vars.{name.Trim()}}}");
                }
            }
        }

        /// <summary>A CSV Data Set's column names: its variable names, else its file's first line (read from the .jmx's folder).</summary>
        private List<string> DataColumns(JmxElement e)
        {
            var names = c.Eval(e, e.Prop("variableNames"));
            if (!string.IsNullOrWhiteSpace(names))
            {
                return [.. names.Split(c.Eval(e, e.Prop("delimiter")) is { Length: 1 } d ? d[0] : ',').Select(n => n.Trim()).Where(n => n.Length > 0)];
            }

            var file = c.Eval(e, e.Prop("filename"));
            if (string.IsNullOrEmpty(file) || c.Options.BaseDirectory is null)
            {
                return [];
            }

            // Read as the run will read it (quoting, a BOM, trimmed names), so the variables are the columns it will have.
            return [.. DataFiles.Read(Path.Combine(c.Options.BaseDirectory, file)).Table?.Columns ?? []];
        }

        /// <summary>The scenario's cookie jar and data from the thread group's Cookie Manager and CSV Data Set.</summary>
        private (CookieSpec Cookies, DataSpec? Data) Journey(JmxScope scope)
        {
            CookieSpec cookies;
            if (scope.CookieManagers.Count == 0)
            {
                cookies = new CookieSpec(false); // JMeter keeps no cookies without a Cookie Manager
            }
            else
            {
                var manager = scope.CookieManagers[^1];
                cookies = new CookieSpec(true, JmxContext.Bool(c.Eval(manager, manager.Prop("CookieManager.clearEachIteration"))));
                if (JmxElement.Collection(manager.Xml, "CookieManager.cookies").Any())
                {
                    c.Unmapped(manager, "its user-defined cookies (a Cookie header in a Header Manager sends them)");
                }

                if (manager.Prop("CookieManager.policy") is "ignoreCookies")
                {
                    c.Unmapped(manager, "the 'ignoreCookies' policy (cookies: false keeps none)");
                }
                if (scope.CookieManagers.Count > 1)
                {
                    c.Note(scope.CookieManagers[0], "several Cookie Managers in scope: the innermost one's settings are used");
                }
            }

            if (scope.DataSets.Count == 0)
            {
                return (cookies, null);
            }

            var set = scope.DataSets[^1];
            if (scope.DataSets.Count > 1)
            {
                c.Unmapped(scope.DataSets[0], $"several CSV Data Sets in one thread group: only '{set.Name}' is converted (a scenario has one data source)");
            }

            string? P(string prop) => c.Eval(set, set.Prop(prop));
            if (P("delimiter") is { Length: > 0 } delimiter && delimiter != ",")
            {
                c.Unmapped(set, $"the delimiter '{delimiter}': only comma-separated files are read");
            }

            if (P("shareMode") is { } share && share.Contains("thread", StringComparison.OrdinalIgnoreCase))
            {
                c.Note(set, "sharing mode 'current thread' (each thread reads the file from its start) becomes rows shared by all users in file order");
            }

            bool recycle = P("recycle") is not { } r || JmxContext.Bool(r);
            bool stop = JmxContext.Bool(P("stopThread"));
            if (!recycle && !stop)
            {
                c.Note(set, "at the end of the file JMeter hands out <EOF> values and goes on; here the user stops (atEnd: stop)");
            }

            var names = c.Eval(set, set.Prop("variableNames"));
            var data = new DataSpec
            {
                File = P("filename") ?? string.Empty,
                Bind = DataBinding.Iteration,
                Order = DataOrder.Sequential,
                Recycle = recycle,
                Columns = string.IsNullOrWhiteSpace(names) ? [] : DataColumns(set),
                SkipFirstLine = !string.IsNullOrWhiteSpace(names) && JmxContext.Bool(P("ignoreFirstLine")),
            };
            c.Note(set, $"CSV Data Set '{data.File}' becomes the scenario's data (a row per iteration, in file order, shared by all users); its path is relative to the plan's folder, as it was to the .jmx's");
            return (cookies, data);
        }

        private static IEnumerable<JmxElement> Descendants(JmxElement e) => e.Children.SelectMany(c => c.Enabled ? Descendants(c).Prepend(c) : []);

        /// <summary>An element that is neither a scope element, a sampler, a controller nor a thread group.</summary>
        private void Classify(JmxElement e, bool insideThreadGroup)
        {
            if (Listeners.Contains(e.Tag))
            {
                c.Note(e, "listener replaced by Constellation's own outputs (run.json, index.html, summary.md, junit.xml; export-jtl for a JTL)");
            }
            else if (e.Tag is "SetupThreadGroup" or "PostThreadGroup")
            {
                c.Unmapped(e, "setUp/tearDown thread groups are not supported");
            }
            else if (JmxThreadGroups.All.Contains(e.Tag) && insideThreadGroup)
            {
                c.Unmapped(e, "a thread group inside a thread group is not valid");
            }
            else
            {
                c.Unmapped(e, $"{Describe(e.Tag)} has no Constellation equivalent");
            }
        }

        private static string Describe(string tag) => tag switch
        {
            "CacheManager" => "HTTP Cache Manager",
            "XPathExtractor" => $"{tag} (only Regular Expression, JSON and Boundary Extractors map)",
            "JSR223Sampler" or "JSR223PreProcessor" or "JSR223PostProcessor" or "BeanShellSampler" or "BeanShellPreProcessor" or "BeanShellPostProcessor" => $"{tag} (scripts)",
            "GaussianRandomTimer" or "PoissonRandomTimer" or "SyncTimer" or "PreciseThroughputTimer" => $"{tag} (only Constant, Uniform Random and Constant Throughput timers map)",
            "DurationAssertion" or "SizeAssertion" or "JSONPathAssertion" or "XPathAssertion" => $"{tag} (only Response Assertions map)",
            "AuthManager" => "HTTP Authorization Manager (put an Authorization header in a Header Manager instead)",
            _ => tag,
        };

        /// <summary>A thread group as a scenario; returns when it ends (for serial thread groups), or null when it was not converted.</summary>
        private TimeSpan? ConvertThreadGroup(JmxElement group, JmxScope planScope, TimeSpan serialOffset)
        {
            var scope = planScope.Copy();
            scope.Collect(group.Children, c);
            var samplers = new List<(JmxElement Sampler, JmxScope Scope)>();
            Walk(group.Children, scope, samplers);

            var onError = c.Eval(group, group.Prop("ThreadGroup.on_sample_error")) ?? "continue";
            if (onError is not ("continue" or ""))
            {
                c.Unmapped(group, $"'action after a sampler error' is {onError}; Constellation always continues (use stopWhen or an abortOnFail threshold)");
            }

            var shape = JmxThreadGroups.Read(group, c);
            if (samplers.Count == 0)
            {
                c.Unmapped(group, "the thread group has no HTTP Request sampler: nothing to convert");
                return null;
            }

            if (shape is null)
            {
                return null;
            }

            var sequence = Sequence(group, shape, samplers);
            if (sequence.Count == 0)
            {
                return null;
            }

            (var wholeStart, shape) = Placed(shape, serialOffset);
            var name = UniqueName(group.Name);
            var remarks = new List<string>();
            var load = JmxLoads.Build(group, shape, sequence[0].Scope, c, remarks, wholeStart, _threads);
            var (cookies, data) = Journey(sequence[0].Scope);
            var scenario = new ScenarioSpec
            {
                Name = name,
                Target = TargetName(sequence[0].Request.Server),
                Request = sequence[0].Request.Request,
                Load = load,
                StartAfter = wholeStart,
                StopWhen = c.Options.StopWhen,
                Cookies = cookies.Enabled || sequence.Count > 1 ? cookies : null,
                Data = data,
            };
            if (sequence.Count > 1)
            {
                // A sequence's requests carry their samplers' names; the first is also the scenario's request.
                List<RequestSpec> requests = [.. sequence.Select(x => x.Request.Request with { Name = x.Sampler.Name })];
                scenario = scenario with { Request = requests[0], Sequence = requests };
            }

            _scenarios.Add(scenario);
            _comments[name] = [$"from: {OneLine(group.Path)} [{group.Tag}] → {OneLine(string.Join(", ", sequence.Select(x => x.Sampler.Name)))}", .. remarks];
            return wholeStart + shape.Stages.Aggregate(TimeSpan.Zero, (t, s) => t + s.Duration);
        }

        /// <summary>
        /// Every sampler is a request of the sequence a user sends per iteration — against one server; under a
        /// Constant Throughput Timer only the first (it paces samples, not iterations).
        /// </summary>
        private List<(JmxElement Sampler, SamplerRequest Request, JmxScope Scope)> Sequence(JmxElement group, GroupLoad shape, List<(JmxElement Sampler, JmxScope Scope)> samplers)
        {
            // An arrivals thread group starts an iteration per arrival: a journey. A Constant Throughput Timer paces every
            // sample, not iterations, so its rate cannot be one of journeys.
            bool paced = JmxLoads.ThroughputTimer(samplers[0].Scope, c) is not null;
            var sequence = new List<(JmxElement Sampler, SamplerRequest Request, JmxScope Scope)>();
            foreach (var (sampler, sc) in samplers)
            {
                if (sequence.Count > 0 && paced)
                {
                    c.Unmapped(sampler, $"a Constant Throughput Timer paces every sample, not iterations: only '{sequence[0].Sampler.Name}' of '{group.Name}' was converted (an arrival rate starts whole journeys)");
                    continue;
                }

                if (JmxSamplers.Build(sampler, sc, c) is not { } r)
                {
                    continue;
                }

                if (sequence.Count > 0 && r.Server != sequence[0].Request.Server)
                {
                    c.Unmapped(sampler, $"a scenario's requests go to one server: {r.Server.OriginalString} is not {sequence[0].Request.Server.OriginalString} of '{sequence[0].Sampler.Name}' (put it in a thread group of its own)");
                    continue;
                }

                if (sequence.Count > 0 && !sc.Timers.SequenceEqual(sequence[0].Scope.Timers))
                {
                    c.Note(sampler, $"its timers differ from those of '{sequence[0].Sampler.Name}'; the scenario's think time (from '{sequence[0].Sampler.Name}') follows every request");
                }

                sequence.Add((sampler, r, sc));
            }

            return sequence;
        }

        /// <summary>Finds the samplers of a thread group; Simple and Transaction Controllers are flattened.</summary>
        private void Walk(IEnumerable<JmxElement> elements, JmxScope scope, List<(JmxElement, JmxScope)> samplers)
        {
            foreach (var e in elements.Where(e => !JmxScope.IsScopeElement(e) && !c.SkipDisabled(e)))
            {
                switch (e.Tag)
                {
                    case "HTTPSamplerProxy" or "HTTPSampler":
                        var own = scope.Copy();
                        own.Collect(e.Children, c);
                        foreach (var child in e.Children.Where(x => !JmxScope.IsScopeElement(x) && !c.SkipDisabled(x)))
                        {
                            Classify(child, insideThreadGroup: true);
                        }

                        samplers.Add((e, own));
                        break;
                    case "GenericController" or "TransactionController":
                        if (e.Tag == "TransactionController")
                        {
                            c.Note(e, "transaction controller flattened: its samplers' results are the scenario's");
                        }

                        var inner = scope.Copy();
                        inner.Collect(e.Children, c);
                        Walk(e.Children, inner, samplers);
                        break;
                    default:
                        Classify(e, insideThreadGroup: true);
                        break;
                }
            }
        }

        private string TargetName(Uri server)
        {
            if (_targets.TryGetValue(server, out var existing))
            {
                return existing.Name;
            }

            var baseName = new string([.. server.Host.Select(ch => char.IsAsciiLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '-')]).Trim('-');
            var name = baseName.Length == 0 ? "target" : baseName;
            bool Taken(string n) => _targets.Values.Any(t => t.Name == n);
            if (Taken(name))
            {
                name = $"{name}-{server.Port}";
            }

            for (int i = 2; Taken(name); i++)
            {
                name = $"{baseName}-{server.Port}-{i}";
            }

            _targets[server] = new TargetSpec { Name = name, BaseUrl = server };
            return name;
        }

        private string UniqueName(string name)
        {
            var n = string.IsNullOrWhiteSpace(name) ? "thread-group" : name.Trim();
            var candidate = n;
            for (int i = 2; _scenarios.Any(s => s.Name == candidate); i++)
            {
                candidate = $"{n} ({i})";
            }

            return candidate;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
