using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Constellation.Core.Plans;

namespace Constellation.Core.Jmx;

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
    public IReadOnlyList<string> StopWhen { get; init; } = [];

    /// <summary>The .jmx's file name, for the plan's header comment.</summary>
    public string SourceName { get; init; } = "plan.jmx";
}

/// <summary>The converted plan as YAML, what could not be converted, notes on what was, and the plan's validation.</summary>
public sealed record JmxImportResult(string Yaml, IReadOnlyList<JmxFinding> Unmapped, IReadOnlyList<JmxFinding> Notes, PlanLoadResult Validation)
{
    public bool Complete => Unmapped.Count == 0;
}

/// <summary>
/// Converts a JMeter test plan to a Constellation plan: thread groups (standard, jp@gc Stepping and Ultimate, bzm
/// Concurrency) become closed-model scenarios with the same thread counts and ramp times, or open-model ones under
/// a Constant Throughput Timer; the bzm Arrivals and Free-Form Arrivals thread groups open-model ones with the same
/// arrival rates; HTTP samplers with their Header Managers and HTTP Request Defaults become requests; timers
/// become think time; Response Assertions on the code and the text become expect checks. Every element that does
/// not map is reported with its path; nothing is dropped silently.
/// </summary>
public static class JmxImporter
{
    private const string SteppingThreadGroup = "kg.apc.jmeter.threads.SteppingThreadGroup";
    private const string ConcurrencyThreadGroup = "com.blazemeter.jmeter.threads.concurrency.ConcurrencyThreadGroup";
    private const string UltimateThreadGroup = "kg.apc.jmeter.threads.UltimateThreadGroup";
    private const string ArrivalsThreadGroup = "com.blazemeter.jmeter.threads.arrivals.ArrivalsThreadGroup";
    private const string FreeFormArrivalsThreadGroup = "com.blazemeter.jmeter.threads.arrivals.FreeFormArrivalsThreadGroup";
    private static readonly string[] ThreadGroups = ["ThreadGroup", SteppingThreadGroup, ConcurrencyThreadGroup, UltimateThreadGroup, ArrivalsThreadGroup, FreeFormArrivalsThreadGroup];
    private static readonly string[] Listeners = ["ResultCollector", "Summariser", "BackendListener", "kg.apc.jmeter.vizualizers.CorrectedResultCollector"];

    public static JmxImportResult Import(string jmxText, JmxImportOptions options)
    {
        var root = JmxElement.Parse(jmxText);
        var run = new Conversion(options);
        return run.Convert(root);
    }

    /// <summary>Config elements, timers and assertions in force at a point of the tree (JMeter's scoping rules).</summary>
    private sealed class Scope
    {
        public List<JmxElement> HeaderManagers { get; init; } = [];
        public List<JmxElement> Defaults { get; init; } = [];
        public List<JmxElement> Timers { get; init; } = [];
        public List<JmxElement> Throughput { get; init; } = [];
        public List<JmxElement> Assertions { get; init; } = [];

        public Scope Copy() => new()
        {
            HeaderManagers = [.. HeaderManagers],
            Defaults = [.. Defaults],
            Timers = [.. Timers],
            Throughput = [.. Throughput],
            Assertions = [.. Assertions],
        };
    }

    private sealed record Stage(TimeSpan Duration, double Value, string Name);

    private sealed record Request(string TargetUrl, string Method, string PathAndQuery, List<KeyValuePair<string, string>> Headers, string? Body, TimeSpan? Timeout, ResponseExpectation? Expect);

    /// <summary>A thread group's load: users (closed) or, for the arrivals thread groups, arrivals per second (open).</summary>
    private sealed record Shape(List<Stage> Stages, TimeSpan StartAfter, int? Iterations, bool Open = false, int? MaxInFlight = null);

    private sealed class Conversion(JmxImportOptions options)
    {
        private readonly List<JmxFinding> _unmapped = [];
        private readonly List<JmxFinding> _notes = [];
        private readonly JmxValues _values = new(options.Properties);
        private readonly Dictionary<string, string> _targets = new(StringComparer.Ordinal); // url → name
        private readonly List<string> _scenarios = [];
        private readonly HashSet<string> _scenarioNames = new(StringComparer.Ordinal);

        public JmxImportResult Convert(JmxElement testPlan)
        {
            DefineVariables(testPlan);
            var scope = new Scope();
            var groups = new List<(JmxElement Group, Scope Scope)>();
            CollectScope(testPlan.Children, scope);
            foreach (var e in testPlan.Children.Where(e => !IsScopeElement(e) && !SkipDisabled(e)))
            {
                if (ThreadGroups.Contains(e.Tag))
                {
                    groups.Add((e, scope));
                }
                else
                {
                    Classify(e, insideThreadGroup: false);
                }
            }

            if (Bool(testPlan.Prop("TestPlan.functional_mode")))
            {
                Note(testPlan, "functional test mode saves responses in JMeter; Constellation does not keep bodies");
            }

            bool serial = Bool(testPlan.Prop("TestPlan.serialize_threadgroups"));
            var offset = TimeSpan.Zero;
            foreach (var (group, groupScope) in groups)
            {
                var end = ConvertThreadGroup(group, groupScope, serial ? offset : TimeSpan.Zero);
                offset = end ?? offset;
            }

            if (serial && groups.Count > 1)
            {
                Note(testPlan, "thread groups run one after another: each scenario starts when the one before it ends (its full planned duration)");
            }

            if (groups.Count == 0)
            {
                Unmapped(testPlan, "the plan has no thread group Constellation can run");
            }

            var yaml = Render(testPlan);
            return new JmxImportResult(yaml, _unmapped, _notes, PlanLoader.Parse(yaml));
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
                    _values.Define(name, _values.Evaluate(JmxElement.PropOf(a, "Argument.value"), problems));
                    problems.ForEach(p => Unmapped(owner, $"variable '{name}': {p}"));
                }
            }
        }

        /// <summary>True (and noted) for an element disabled in the plan, which JMeter skips too.</summary>
        private bool SkipDisabled(JmxElement e)
        {
            if (!e.Enabled)
            {
                Note(e, "disabled in the plan; skipped, as JMeter skips it");
            }

            return !e.Enabled;
        }

        private static IEnumerable<JmxElement> Descendants(JmxElement e) => e.Children.SelectMany(c => c.Enabled ? Descendants(c).Prepend(c) : []);

        private static bool IsScopeElement(JmxElement e) =>
            e.Tag is "HeaderManager" or "ConstantTimer" or "UniformRandomTimer" or "ConstantThroughputTimer" or "ResponseAssertion" or "Arguments"
            || (e.Tag == "ConfigTestElement" && e.GuiClass == "HttpDefaultsGui");

        /// <summary>Adds the enabled scope elements among <paramref name="elements"/> to <paramref name="scope"/> (they apply whatever their order).</summary>
        private void CollectScope(IEnumerable<JmxElement> elements, Scope scope)
        {
            foreach (var e in elements.Where(IsScopeElement))
            {
                if (SkipDisabled(e))
                {
                    continue;
                }

                switch (e.Tag)
                {
                    case "HeaderManager":
                        scope.HeaderManagers.Add(e);
                        break;
                    case "ConfigTestElement":
                        scope.Defaults.Add(e);
                        break;
                    case "ConstantTimer" or "UniformRandomTimer":
                        scope.Timers.Add(e);
                        break;
                    case "ConstantThroughputTimer":
                        scope.Throughput.Add(e);
                        break;
                    case "ResponseAssertion":
                        scope.Assertions.Add(e);
                        break;
                }
            }
        }

        /// <summary>An element that is neither a scope element, a sampler, a controller nor a thread group.</summary>
        private void Classify(JmxElement e, bool insideThreadGroup)
        {
            if (Listeners.Contains(e.Tag))
            {
                Note(e, "listener replaced by Constellation's own outputs (run.json, index.html, summary.md, junit.xml; export-jtl for a JTL)");
            }
            else if (e.Tag is "SetupThreadGroup" or "PostThreadGroup")
            {
                Unmapped(e, "setUp/tearDown thread groups are not supported");
            }
            else if (ThreadGroups.Contains(e.Tag) && insideThreadGroup)
            {
                Unmapped(e, "a thread group inside a thread group is not valid");
            }
            else
            {
                Unmapped(e, $"{Describe(e.Tag)} has no Constellation equivalent");
            }
        }

        private static string Describe(string tag) => tag switch
        {
            "CookieManager" => "HTTP Cookie Manager (cookies are not kept between requests)",
            "CacheManager" => "HTTP Cache Manager",
            "CSVDataSet" => "CSV Data Set Config (per-user data)",
            "RegexExtractor" or "JSONPostProcessor" or "BoundaryExtractor" or "XPathExtractor" => $"{tag} (values extracted from responses)",
            "JSR223Sampler" or "JSR223PreProcessor" or "JSR223PostProcessor" or "BeanShellSampler" or "BeanShellPreProcessor" or "BeanShellPostProcessor" => $"{tag} (scripts)",
            "GaussianRandomTimer" or "PoissonRandomTimer" or "SyncTimer" or "PreciseThroughputTimer" => $"{tag} (only Constant, Uniform Random and Constant Throughput timers map)",
            "DurationAssertion" or "SizeAssertion" or "JSONPathAssertion" or "XPathAssertion" => $"{tag} (only Response Assertions map)",
            "AuthManager" => "HTTP Authorization Manager (put an Authorization header in a Header Manager instead)",
            _ => tag,
        };

        // ---- thread groups -------------------------------------------------------------------------------

        private TimeSpan? ConvertThreadGroup(JmxElement group, Scope planScope, TimeSpan serialOffset)
        {
            var scope = planScope.Copy();
            CollectScope(group.Children, scope);
            var samplers = new List<(JmxElement Sampler, Scope Scope)>();
            Walk(group.Children, scope, samplers);

            var onError = Eval(group, group.Prop("ThreadGroup.on_sample_error")) ?? "continue";
            if (onError is not ("continue" or ""))
            {
                Unmapped(group, $"'action after a sampler error' is {onError}; Constellation always continues (use stopWhen or an abortOnFail threshold)");
            }

            var shape = group.Tag switch
            {
                SteppingThreadGroup => SteppingShape(group),
                ConcurrencyThreadGroup => ConcurrencyShape(group),
                UltimateThreadGroup => UltimateShape(group),
                ArrivalsThreadGroup => ArrivalsShape(group),
                FreeFormArrivalsThreadGroup => FreeFormArrivalsShape(group),
                _ => StandardShape(group),
            };

            if (samplers.Count == 0)
            {
                Unmapped(group, "the thread group has no HTTP Request sampler: nothing to convert");
                return null;
            }

            if (shape is null)
            {
                return null;
            }

            // Every sampler is a request of the sequence a user sends per iteration — against one server, and in
            // the closed model only (an arrival rate paces single requests).
            bool open = shape.Open || ThroughputTimer(samplers[0].Scope) is not null;
            var sequence = new List<(JmxElement Sampler, Request Request, Scope Scope)>();
            foreach (var (sampler, sc) in samplers)
            {
                if (sequence.Count > 0 && open)
                {
                    Unmapped(sampler, $"a sequence of requests needs the closed model; under an arrival rate only '{sequence[0].Sampler.Name}' of '{group.Name}' was converted");
                    continue;
                }

                if (BuildRequest(sampler, sc) is not { } r)
                {
                    continue;
                }

                if (sequence.Count > 0 && r.TargetUrl != sequence[0].Request.TargetUrl)
                {
                    Unmapped(sampler, $"a scenario's requests go to one server: {r.TargetUrl} is not {sequence[0].Request.TargetUrl} of '{sequence[0].Sampler.Name}' (put it in a thread group of its own)");
                    continue;
                }

                if (sequence.Count > 0 && !sc.Timers.SequenceEqual(sequence[0].Scope.Timers))
                {
                    Note(sampler, $"its timers differ from those of '{sequence[0].Sampler.Name}'; the scenario's think time (from '{sequence[0].Sampler.Name}') follows every request");
                }

                sequence.Add((sampler, r, sc));
            }

            if (sequence.Count == 0)
            {
                return null;
            }

            var request = sequence[0].Request;
            var target = TargetName(request.TargetUrl);
            var name = UniqueName(group.Name);
            var sb = new StringBuilder();
            sb.Append("  - name: ").Append(Q(name)).Append('\n');
            sb.Append("    # from: ").Append(OneLine(group.Path)).Append(" [").Append(group.Tag).Append("] → ").Append(OneLine(string.Join(", ", sequence.Select(x => x.Sampler.Name)))).Append('\n');
            sb.Append("    target: ").Append(Q(target)).Append('\n');
            if (sequence.Count == 1)
            {
                sb.Append("    request:\n");
                AppendRequest(sb, request, "      ");
            }
            else
            {
                sb.Append("    requests:\n");
                foreach (var (sampler, r, _) in sequence)
                {
                    sb.Append("      - name: ").Append(Q(sampler.Name)).Append('\n');
                    AppendRequest(sb, r, "        ");
                }
            }

            // startAfter counts whole seconds (the engine aligns scenarios on run seconds): a fraction becomes a
            // leading stage without users.
            var startAfter = serialOffset + shape.StartAfter;
            var wholeStart = TimeSpan.FromSeconds(Math.Floor(startAfter.TotalSeconds));
            if (startAfter > wholeStart)
            {
                shape = shape with { Stages = [new Stage(startAfter - wholeStart, 0, "startup delay"), .. shape.Stages] };
            }

            if (wholeStart > TimeSpan.Zero)
            {
                sb.Append("    startAfter: ").Append(Dur(wholeStart)).Append('\n');
            }

            AppendLoad(sb, group, shape, sequence[0].Scope);
            if (options.StopWhen.Count > 0)
            {
                sb.Append("    stopWhen: [").Append(string.Join(", ", options.StopWhen.Select(Q))).Append("]\n");
            }

            _scenarios.Add(sb.ToString());
            return wholeStart + shape.Stages.Aggregate(TimeSpan.Zero, (t, s) => t + s.Duration);
        }

        /// <summary>Finds the samplers of a thread group; Simple and Transaction Controllers are flattened.</summary>
        private void Walk(IEnumerable<JmxElement> elements, Scope scope, List<(JmxElement, Scope)> samplers)
        {
            foreach (var e in elements.Where(e => !IsScopeElement(e)))
            {
                if (SkipDisabled(e))
                {
                    continue;
                }

                switch (e.Tag)
                {
                    case "HTTPSamplerProxy" or "HTTPSampler":
                        var own = scope.Copy();
                        CollectScope(e.Children, own);
                        foreach (var child in e.Children.Where(c => !IsScopeElement(c) && !SkipDisabled(c)))
                        {
                            Classify(child, insideThreadGroup: true);
                        }

                        samplers.Add((e, own));
                        break;
                    case "GenericController" or "TransactionController":
                        if (e.Tag == "TransactionController")
                        {
                            Note(e, "transaction controller flattened: its samplers' results are the scenario's");
                        }

                        var inner = scope.Copy();
                        CollectScope(e.Children, inner);
                        Walk(e.Children, inner, samplers);
                        break;
                    default:
                        Classify(e, insideThreadGroup: true);
                        break;
                }
            }
        }

        /// <summary>ThreadGroup: threads started evenly over the ramp-up, after the startup delay; duration or loop count.</summary>
        private Shape? StandardShape(JmxElement g)
        {
            var threads = Int(g, "ThreadGroup.num_threads");
            var ramp = Seconds(g, "ThreadGroup.ramp_time") ?? TimeSpan.Zero;
            bool scheduler = Bool(Eval(g, g.Prop("ThreadGroup.scheduler")));
            var duration = scheduler ? Seconds(g, "ThreadGroup.duration") : null;
            var delay = scheduler ? Seconds(g, "ThreadGroup.delay") ?? TimeSpan.Zero : TimeSpan.Zero;
            var loops = Loops(g);
            if (threads is not { } n || n < 1)
            {
                Unmapped(g, "the number of threads is missing or not a whole number >= 1");
                return null;
            }

            bool bounded = duration is { } d0 && d0 > TimeSpan.Zero;
            if (!bounded && loops is null)
            {
                Note(g, $"loops forever without a duration in JMeter; bounded here to {Dur(options.MaxDuration)} (--max-duration)");
            }
            else if (!bounded)
            {
                Note(g, $"ends after its loop count; {Dur(options.MaxDuration)} (--max-duration) bounds it in time");
            }

            var total = bounded ? duration!.Value : options.MaxDuration;
            var stages = new List<Stage>();
            if (ramp > TimeSpan.Zero)
            {
                var rampPart = ramp < total ? ramp : total;
                var reached = ramp < total ? n : Math.Round(n * (total / ramp));
                stages.Add(new Stage(rampPart, reached, $"ramp-up to {Fmt(reached)} users"));
                if (total > ramp)
                {
                    stages.Add(new Stage(total - ramp, n, "hold"));
                }
            }
            else
            {
                stages.Add(new Stage(TimeSpan.Zero, n, $"start {n} users"));
                stages.Add(new Stage(total, n, "hold"));
            }

            return new Shape(stages, delay, loops);
        }

        /// <summary>jp@gc Stepping Thread Group: its schedule as the plug-in computes each thread's start and end.</summary>
        private Shape? SteppingShape(JmxElement g)
        {
            var n = Int(g, "ThreadGroup.num_threads");
            var delay = Seconds(g, "Threads initial delay") ?? TimeSpan.Zero;
            var inCount = Int(g, "Start users count") ?? 0;
            var burst = Int(g, "Start users count burst") ?? 0;
            var period = Seconds(g, "Start users period") ?? TimeSpan.Zero;
            var outCount = Int(g, "Stop users count") ?? 0;
            var outPeriod = Seconds(g, "Stop users period") ?? TimeSpan.Zero;
            var flight = Seconds(g, "flighttime") ?? TimeSpan.Zero;
            var ramp = Seconds(g, "rampUp") ?? TimeSpan.Zero;
            if (n is not { } total || total < 1)
            {
                Unmapped(g, "the number of threads is missing or not a whole number >= 1");
                return null;
            }

            if (inCount <= 0)
            {
                inCount = total;
            }

            if (outCount <= 0)
            {
                outCount = total;
            }

            int first = Math.Min(burst > 0 ? burst : inCount, total);
            var stages = new List<Stage>();
            int users = 0;
            void Add(int count, TimeSpan over, string name)
            {
                users += count;
                stages.Add(new Stage(over, users, name));
            }

            // The first bucket's threads spread over the whole ramp-up; each later thread takes rampUp / "start users count".
            Add(first, ramp, $"step 1: +{first} users");
            int step = 1;
            while (users < total)
            {
                stages.Add(new Stage(period, users, $"hold {users} users"));
                int count = Math.Min(inCount, total - users);
                step++;
                Add(count, ramp * count / inCount, $"step {step}: +{count} users");
            }

            stages.Add(new Stage(flight, users, $"hold {users} users (flight time)"));
            if (outPeriod > TimeSpan.Zero)
            {
                for (int left = total - outCount; left > 0; left -= outCount)
                {
                    stages.Add(new Stage(TimeSpan.Zero, left, $"stop {outCount} users"));
                    stages.Add(new Stage(outPeriod, left, $"hold {left} users"));
                }
            }

            return new Shape(stages, delay, Loops(g));
        }

        /// <summary>bzm Concurrency Thread Group: target concurrency reached over the ramp-up (in steps or linearly), then held.</summary>
        private Shape? ConcurrencyShape(JmxElement g)
        {
            var target = Int(g, "TargetLevel");
            double factor = UnitFactor(g);
            var ramp = TimeSpan.FromSeconds(Math.Round((Double(g, "RampUp") ?? 0) * factor));
            var hold = TimeSpan.FromSeconds(Math.Round((Double(g, "Hold") ?? 0) * factor));
            var steps = Int(g, "Steps") ?? 0;
            if (target is not { } c || c < 1)
            {
                Unmapped(g, "the target concurrency is missing or not a whole number >= 1");
                return null;
            }

            if (Int(g, "Iterations") is > 0)
            {
                Note(g, "'thread iterations limit' recycles threads in JMeter (the concurrency stays); Constellation's users keep going, the load is the same");
            }

            var stages = RampStepsHold(c, ramp, steps, hold, wholeUsers: true);
            return new Shape(stages, TimeSpan.Zero, null);
        }

        /// <summary>
        /// jp@gc Ultimate Thread Group: rows of (threads, initial delay, startup time, hold, shutdown time) that stack.
        /// Each row starts its threads evenly over its startup time and stops them evenly over its shutdown time, so
        /// the sum of the rows is piecewise linear: stages between the rows' corners, jumps where a row has no ramp.
        /// </summary>
        private Shape? UltimateShape(JmxElement g)
        {
            var rows = new List<(double Threads, double Delay, double Startup, double Hold, double Shutdown)>();
            foreach (var row in JmxElement.Collection(g.Xml, "ultimatethreadgroupdata"))
            {
                if (ScheduleRow(g, row, 5, "five numbers >= 0 (threads, initial delay, startup, hold, shutdown)", v => v[0] == Math.Floor(v[0])) is not { } values)
                {
                    continue;
                }

                rows.Add((values[0], values[1], values[2], values[3], values[4]));
            }

            if (rows.Count == 0 || rows.All(r => r.Threads == 0))
            {
                Unmapped(g, "the thread schedule has no usable row");
                return null;
            }

            // A row's threads at t, approached from the left or the right (they differ where the row jumps).
            static double At((double Threads, double Delay, double Startup, double Hold, double Shutdown) r, double t, bool fromLeft)
            {
                double top = r.Delay + r.Startup, down = top + r.Hold, end = down + r.Shutdown;
                bool Before(double x) => fromLeft ? t <= x : t < x;
                return Before(r.Delay) ? 0
                    : Before(top) ? r.Threads * (t - r.Delay) / r.Startup
                    : Before(down) ? r.Threads
                    : Before(end) ? r.Threads * (end - t) / r.Shutdown
                    : 0;
            }

            var corners = rows.SelectMany(r => new[] { r.Delay, r.Delay + r.Startup, r.Delay + r.Startup + r.Hold, r.Delay + r.Startup + r.Hold + r.Shutdown })
                .Distinct().Order().ToList();
            var start = corners[0];
            var stages = new List<Stage>();
            double previous = start;
            foreach (var t in corners)
            {
                double left = Math.Round(rows.Sum(r => At(r, t, fromLeft: true)), MidpointRounding.AwayFromZero);
                double right = Math.Round(rows.Sum(r => At(r, t, fromLeft: false)), MidpointRounding.AwayFromZero);
                if (t > previous)
                {
                    stages.Add(new Stage(TimeSpan.FromSeconds(t - previous), left, $"{Fmt(left)} users at {Fmt(t)}s"));
                }

                if (right != left && t < corners[^1])
                {
                    stages.Add(new Stage(TimeSpan.Zero, right, $"{Fmt(right)} users from {Fmt(t)}s"));
                }

                previous = t;
            }

            return new Shape(stages, TimeSpan.FromSeconds(start), Loops(g));
        }

        /// <summary>bzm Arrivals Thread Group: a target arrival rate reached in steps or linearly over the ramp-up, then held (open model).</summary>
        private Shape? ArrivalsShape(JmxElement g)
        {
            double factor = UnitFactor(g);
            var rate = Double(g, "TargetLevel") / factor;
            var ramp = TimeSpan.FromSeconds(Math.Round((Double(g, "RampUp") ?? 0) * factor));
            var hold = TimeSpan.FromSeconds(Math.Round((Double(g, "Hold") ?? 0) * factor));
            var steps = Int(g, "Steps") ?? 0;
            if (rate is not { } r || r <= 0)
            {
                Unmapped(g, "the target rate is missing or not > 0");
                return null;
            }

            var stages = RampStepsHold(r, ramp, steps, hold, wholeUsers: false);
            return new Shape(stages, TimeSpan.Zero, null, Open: true, MaxInFlight: ArrivalsLimit(g));
        }

        /// <summary>
        /// The bzm dynamic thread groups' profile (Concurrency: users, Arrivals: req/s): the target reached over the
        /// ramp-up in equal steps (jumps at each step's start) or linearly, then held.
        /// </summary>
        private static List<Stage> RampStepsHold(double target, TimeSpan ramp, int steps, TimeSpan hold, bool wholeUsers)
        {
            string Level(double v) => wholeUsers ? $"{Fmt(v)} users" : $"{Fmt(v)}/s";
            var stages = new List<Stage>();
            if (ramp <= TimeSpan.Zero)
            {
                stages.Add(new Stage(TimeSpan.Zero, target, $"start {Level(target)}"));
            }
            else if (steps > 0)
            {
                for (int k = 0; k < steps; k++)
                {
                    var level = target * (k + 1) / steps;
                    level = wholeUsers ? Math.Round(level, MidpointRounding.AwayFromZero) : level;
                    stages.Add(new Stage(TimeSpan.Zero, level, $"step {k + 1}: {Level(level)}"));
                    stages.Add(new Stage(ramp / steps, level, $"hold {Level(level)}"));
                }
            }
            else
            {
                stages.Add(new Stage(ramp, target, $"ramp-up to {Level(target)}"));
            }

            if (hold > TimeSpan.Zero)
            {
                stages.Add(new Stage(hold, target, $"hold {Level(target)}"));
            }

            return stages;
        }

        /// <summary>bzm Free-Form Arrivals Thread Group: rows of (start rate, end rate, duration), each a linear stretch (open model).</summary>
        private Shape? FreeFormArrivalsShape(JmxElement g)
        {
            double factor = UnitFactor(g);
            var stages = new List<Stage>();
            double previous = 0;
            foreach (var row in JmxElement.Collection(g.Xml, "Schedule"))
            {
                if (ScheduleRow(g, row, 3, "three numbers >= 0 (start, end, duration)") is not { } values)
                {
                    continue;
                }

                double from = values[0] / factor, to = values[1] / factor;
                if (from != previous)
                {
                    stages.Add(new Stage(TimeSpan.Zero, from, $"{Fmt(from)}/s"));
                }

                stages.Add(new Stage(TimeSpan.FromSeconds(values[2] * factor), to, $"{Fmt(from)} → {Fmt(to)}/s"));
                previous = to;
            }

            if (stages.Count == 0)
            {
                Unmapped(g, "the schedule has no usable row");
                return null;
            }

            return new Shape(stages, TimeSpan.Zero, null, Open: true, MaxInFlight: ArrivalsLimit(g));
        }

        /// <summary>
        /// A row of a plug-in thread group's schedule table: its values, or null (and listed) when its first
        /// <paramref name="columns"/> are not numbers >= 0 that pass <paramref name="valid"/>.
        /// </summary>
        private double[]? ScheduleRow(JmxElement g, XElement row, int columns, string expected, Func<double[], bool>? valid = null)
        {
            var values = row.Elements().Select(e => double.TryParse(Eval(g, e.Value), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
            if (values.Length >= columns && !values.Take(columns).Any(v => double.IsNaN(v) || v < 0) && (valid is null || valid(values)))
            {
                return values;
            }

            Unmapped(g, $"schedule row '{string.Join(", ", row.Elements().Select(e => e.Value))}' is not {expected}");
            return null;
        }

        /// <summary>The arrivals thread groups' concurrency limit, which becomes maxInFlight (noted: JMeter delays, Constellation drops).</summary>
        private int? ArrivalsLimit(JmxElement g)
        {
            if (Int(g, "Iterations") is > 0)
            {
                Note(g, "'thread iterations limit' only recycles JMeter's threads; the arrival rate is the same");
            }

            if (Int(g, "ConcurrencyLimit") is not { } limit || limit <= 0)
            {
                return null;
            }

            Note(g, $"concurrency limit {limit} becomes maxInFlight: an arrival beyond it is dropped and counted, where JMeter would start it late");
            return limit;
        }

        private double UnitFactor(JmxElement g) => (Eval(g, g.Prop("Unit")) ?? "S").Equals("M", StringComparison.OrdinalIgnoreCase) ? 60 : 1;

        /// <summary>The main controller's loop count; null for "infinite" (-1).</summary>
        private int? Loops(JmxElement g)
        {
            var controller = g.ElementProp("ThreadGroup.main_controller");
            if (controller is null)
            {
                return null;
            }

            var text = _values.Evaluate(JmxElement.PropOf(controller, "LoopController.loops"), []);
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var loops) && loops > 0 ? loops : null;
        }

        // ---- requests ----------------------------------------------------------------------------------------

        private Request? BuildRequest(JmxElement sampler, Scope scope)
        {
            string? Field(string prop)
            {
                var own = Eval(sampler, sampler.Prop(prop));
                if (!string.IsNullOrEmpty(own))
                {
                    return own;
                }

                foreach (var d in Enumerable.Reverse(scope.Defaults))
                {
                    var v = Eval(d, d.Prop(prop));
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
                    Unmapped(sampler, $"the path '{path}' is not a valid URL");
                    return null;
                }

                protocol = full.Scheme;
                host = full.Host;
                portText = full.Port.ToString(CultureInfo.InvariantCulture);
                path = full.PathAndQuery;
            }

            if (string.IsNullOrEmpty(host))
            {
                Unmapped(sampler, "no server name (set it on the sampler or in HTTP Request Defaults)");
                return null;
            }

            if (protocol is not ("http" or "https"))
            {
                Unmapped(sampler, $"protocol '{protocol}' is not supported (http and https are)");
                return null;
            }

            int port = protocol == "https" ? 443 : 80;
            if (!string.IsNullOrEmpty(portText) && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            {
                Unmapped(sampler, $"port '{portText}' is not a number from 1 to 65535");
                return null;
            }

            if (!path.StartsWith('/'))
            {
                path = "/" + path;
            }

            path = path.Replace(" ", "%20", StringComparison.Ordinal);
            foreach (var (prop, what) in new[] { ("HTTPSampler.image_parser", "embedded resources are not downloaded"), ("HTTPSampler.DO_MULTIPART_POST", "multipart/form-data is not supported") })
            {
                if (Bool(Eval(sampler, sampler.Prop(prop))))
                {
                    Unmapped(sampler, what);
                }
            }

            if (JmxElement.Collection(sampler.ElementProp("HTTPsampler.Files"), "HTTPFileArgs.files").Any())
            {
                Unmapped(sampler, "file uploads are not supported");
            }

            // Parameters: the sampler's, then the defaults' (JMeter adds them); a raw body is the first one's value.
            var args = Arguments(sampler, sampler.ElementProp("HTTPsampler.Arguments"))
                .Concat(scope.Defaults.SelectMany(d => Arguments(d, d.ElementProp("HTTPsampler.Arguments")))).ToList();
            string? body = null;
            var headers = Headers(scope);
            if (Bool(Eval(sampler, sampler.Prop("HTTPSampler.postBodyRaw"))))
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

            TimeSpan? timeout = null;
            if (Field("HTTPSampler.response_timeout") is { Length: > 0 } rt && double.TryParse(rt, NumberStyles.Float, CultureInfo.InvariantCulture, out var rtMs) && rtMs > 0)
            {
                var connectMs = double.TryParse(Field("HTTPSampler.connect_timeout"), NumberStyles.Float, CultureInfo.InvariantCulture, out var c) ? c : 0;
                timeout = TimeSpan.FromMilliseconds(rtMs + connectMs);
                Note(sampler, $"connect + response timeout ({Dur(timeout.Value)}) bounds the whole request here; in JMeter the response timeout is a read timeout");
            }

            if (!Bool(Eval(sampler, sampler.Prop("HTTPSampler.use_keepalive") ?? "true")))
            {
                Note(sampler, "'use KeepAlive' is off in JMeter; Constellation keeps connections alive");
            }

            if (Bool(Eval(sampler, sampler.Prop("HTTPSampler.follow_redirects"))) || Bool(Eval(sampler, sampler.Prop("HTTPSampler.auto_redirects"))))
            {
                Note(sampler, "redirects are not followed: a 3xx answer counts as a success");
            }

            var url = string.Create(CultureInfo.InvariantCulture, $"{protocol}://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}");
            return new Request(url, method, path, headers, body, timeout, Expectation(scope));
        }

        private List<(string Name, string Value, bool UseEquals)> Arguments(JmxElement owner, XElement? arguments)
        {
            var result = new List<(string, string, bool)>();
            foreach (var a in JmxElement.Collection(arguments, "Arguments.arguments"))
            {
                var name = Eval(owner, JmxElement.PropOf(a, "Argument.name")) ?? string.Empty;
                var value = Eval(owner, JmxElement.PropOf(a, "Argument.value")) ?? string.Empty;
                bool encode = Bool(JmxElement.PropOf(a, "HTTPArgument.always_encode"));
                bool useEquals = JmxElement.PropOf(a, "HTTPArgument.use_equals") is not { } ue || Bool(ue);
                result.Add(encode ? (Uri.EscapeDataString(name), Uri.EscapeDataString(value), useEquals) : (name, value, useEquals));
            }

            return result;
        }

        /// <summary>Header Managers in scope, outer first; an inner manager's header replaces an outer one of the same name.</summary>
        private List<KeyValuePair<string, string>> Headers(Scope scope)
        {
            var result = new List<KeyValuePair<string, string>>();
            foreach (var m in scope.HeaderManagers)
            {
                foreach (var h in JmxElement.Collection(m.Xml, "HeaderManager.headers"))
                {
                    var name = Eval(m, JmxElement.PropOf(h, "Header.name"))?.Trim();
                    if (string.IsNullOrEmpty(name))
                    {
                        continue;
                    }

                    result.RemoveAll(x => x.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
                    result.Add(new(name, Eval(m, JmxElement.PropOf(h, "Header.value")) ?? string.Empty));
                }
            }

            return result;
        }

        /// <summary>Response Assertions in scope as expect checks: code equals N (or any of N, M with OR), text contains/not contains.</summary>
        private ResponseExpectation? Expectation(Scope scope)
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
                    .Select(x => Eval(a, x.Value) ?? string.Empty).ToList();
                if (Bool(a.Prop("Assertion.assume_success")))
                {
                    Unmapped(a, "'ignore status' (a 4xx/5xx answer counted as a success) is not supported");
                    continue;
                }

                if (strings.Count == 0)
                {
                    Unmapped(a, "the assertion has no patterns to test");
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
                                Unmapped(a, $"response code pattern '{s}' does not map (an exact code from 100 to 399 does; 4xx/5xx answers are errors anyway)");
                            }
                        }

                        status = status is null ? codes : [.. status.Intersect(codes)];
                        if (status.Count == 0)
                        {
                            Unmapped(a, "the response code assertions in scope can never all pass together");
                        }

                        break;
                    case "Assertion.response_data" when (mode is 16 || (mode is 2 && strings.All(IsLiteral))) && (strings.Count == 1 || !or):
                        (not ? notContains : contains).AddRange(strings);
                        break;
                    default:
                        Unmapped(a, $"a Response Assertion on {field.Replace("Assertion.", string.Empty, StringComparison.Ordinal)} with test type {type} ({(not ? "not " : string.Empty)}{ModeName(mode)}{(or ? ", or" : string.Empty)}) does not map; code equals N and text contains / does not contain (substring or literal) do");
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

        // ---- load ----------------------------------------------------------------------------------------------

        private void AppendLoad(StringBuilder sb, JmxElement group, Shape shape, Scope scope)
        {
            var throughput = scope.Throughput;
            var peak = shape.Stages.Max(s => s.Value);
            sb.Append("    load:\n");
            if (shape.Open)
            {
                foreach (var ignored in scope.Timers.Concat(throughput).Take(1))
                {
                    Note(ignored, "timers are left out under an arrivals thread group: its arrival rate sets the pace");
                }

                sb.Append("      model: open\n");
                sb.Append("      stages:\n");
                foreach (var s in shape.Stages)
                {
                    sb.Append("        - ").Append(StageYaml(s.Duration, s.Value, "rate", s.Name)).Append('\n');
                }

                if (shape.MaxInFlight is { } limit)
                {
                    sb.Append("      maxInFlight: ").Append(limit).Append("   # the thread group's concurrency limit\n");
                }

                return;
            }

            if (throughput.Count > 0 && ThroughputTimer(scope) is null)
            {
                Unmapped(throughput[^1], "the target throughput is missing or not > 0; the thread group's threads set the load");
            }

            if (ThroughputTimer(scope) is var (ctt, pm))
            {
                if (throughput.Count > 1)
                {
                    Unmapped(throughput[0], $"several Constant Throughput Timers in scope; the innermost, '{ctt.Name}', sets the rate");
                }

                int calcMode = Int(ctt, "calcMode") ?? 0;

                if (shape.Iterations is not null)
                {
                    Unmapped(group, "a loop count together with a Constant Throughput Timer does not map (the rate runs for the thread group's duration)");
                }

                if (scope.Timers.Count > 0)
                {
                    Note(scope.Timers[0], "timers are left out under the Constant Throughput Timer: the arrival rate sets the pace");
                }

                // calcMode 0, "this thread only": each thread runs at the rate, so the total follows the thread count.
                // Other modes share the rate among the active threads: the total is the rate while any thread runs.
                double rate = pm / 60;
                sb.Append("      model: open\n");
                sb.Append("      stages:\n");
                bool started = false;
                foreach (var s in shape.Stages)
                {
                    if (calcMode == 0)
                    {
                        sb.Append("        - ").Append(StageYaml(s.Duration, s.Value * rate, "rate", $"{s.Name} × {Fmt(rate)}/s")).Append('\n');
                        continue;
                    }

                    if (!started && s.Value > 0)
                    {
                        sb.Append("        - ").Append(StageYaml(TimeSpan.Zero, rate, "rate", $"start {Fmt(rate)}/s")).Append('\n');
                        started = true;
                    }

                    sb.Append("        - ").Append(StageYaml(s.Duration, started ? rate : 0, "rate", s.Name)).Append('\n');
                }

                sb.Append("      maxInFlight: ").Append(Fmt(Math.Max(1, peak))).Append("   # JMeter cannot have more requests in flight than threads\n");
                Note(ctt, $"Constant Throughput Timer ({Fmt(pm)}/min, {(calcMode == 0 ? "this thread only" : "shared by the active threads")}) becomes an open model at {Fmt(rate)} req/s{(calcMode == 0 ? " per user" : string.Empty)}");
                return;
            }

            sb.Append("      model: closed\n");
            if (shape.Stages is [{ Duration.Ticks: 0 } jump, var hold] && hold.Value == jump.Value)
            {
                sb.Append("      users: ").Append(Fmt(hold.Value)).Append('\n');
                sb.Append("      duration: ").Append(Dur(hold.Duration)).Append('\n');
            }
            else
            {
                sb.Append("      stages:\n");
                foreach (var s in shape.Stages)
                {
                    sb.Append("        - ").Append(StageYaml(s.Duration, s.Value, "users", s.Name)).Append('\n');
                }
            }

            if (shape.Iterations is { } loops)
            {
                sb.Append("      iterations: ").Append(loops).Append("   # JMeter loop count\n");
            }

            if (scope.Timers.Count > 0)
            {
                double delay = 0, range = 0;
                foreach (var t in scope.Timers)
                {
                    delay += Double(t, "ConstantTimer.delay") ?? 0;
                    range += t.Tag == "UniformRandomTimer" ? Double(t, "RandomTimer.range") ?? 0 : 0;
                }

                sb.Append("      thinkTime: ").Append(Dur(TimeSpan.FromMilliseconds(delay))).Append('\n');
                if (range > 0)
                {
                    sb.Append("      thinkTimeMax: ").Append(Dur(TimeSpan.FromMilliseconds(delay + range))).Append('\n');
                }

                Note(scope.Timers[0], $"timers in scope become think time: {Dur(TimeSpan.FromMilliseconds(delay))}{(range > 0 ? $" to {Dur(TimeSpan.FromMilliseconds(delay + range))}" : string.Empty)} after each request (JMeter waits before it)");
            }
        }

        /// <summary>The innermost Constant Throughput Timer in scope and its samples per minute, when it has a usable rate.</summary>
        private (JmxElement Timer, double PerMinute)? ThroughputTimer(Scope scope) =>
            scope.Throughput.Count > 0 && Double(scope.Throughput[^1], "throughput") is { } perMinute && perMinute > 0
                ? (scope.Throughput[^1], perMinute)
                : null;

        private static string StageYaml(TimeSpan duration, double value, string unit, string name) =>
            $"{{ duration: {Dur(duration)}, {unit}: {value.ToString("0.######", CultureInfo.InvariantCulture)}, name: {Q(name)} }}";

        // ---- helpers ---------------------------------------------------------------------------------------------

        private string TargetName(string url)
        {
            if (_targets.TryGetValue(url, out var existing))
            {
                return existing;
            }

            var uri = new Uri(url);
            var baseName = new string([.. uri.Host.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-')]).Trim('-');
            var name = baseName.Length == 0 ? "target" : baseName;
            if (_targets.ContainsValue(name))
            {
                name = $"{name}-{uri.Port}";
            }

            for (int i = 2; _targets.ContainsValue(name); i++)
            {
                name = $"{baseName}-{uri.Port}-{i}";
            }

            _targets[url] = name;
            return name;
        }

        private string UniqueName(string name)
        {
            var n = string.IsNullOrWhiteSpace(name) ? "thread-group" : name.Trim();
            var candidate = n;
            for (int i = 2; !_scenarioNames.Add(candidate); i++)
            {
                candidate = $"{n} ({i})";
            }

            return candidate;
        }

        private string? Eval(JmxElement owner, string? text)
        {
            if (text is null)
            {
                return null;
            }

            var problems = new List<string>();
            var value = _values.Evaluate(text, problems);
            problems.ForEach(p => Unmapped(owner, p));
            return value;
        }

        private int? Int(JmxElement e, string prop) =>
            Eval(e, e.Prop(prop)) is { Length: > 0 } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue ? (int)d : null;

        private double? Double(JmxElement e, string prop) =>
            Eval(e, e.Prop(prop)) is { Length: > 0 } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

        private TimeSpan? Seconds(JmxElement e, string prop) => Double(e, prop) is { } d && d >= 0 ? TimeSpan.FromSeconds(d) : null;

        private static bool Bool(string? s) => string.Equals(s?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

        private void Unmapped(JmxElement e, string message)
        {
            var f = new JmxFinding(e.Path, e.Tag, message);
            if (!_unmapped.Contains(f))
            {
                _unmapped.Add(f);
            }
        }

        private void Note(JmxElement e, string message)
        {
            var f = new JmxFinding(e.Path, e.Tag, message);
            if (!_notes.Contains(f))
            {
                _notes.Add(f);
            }
        }

        /// <summary>A request's keys at <paramref name="indent"/> (under request:, or as an item of requests:).</summary>
        private static void AppendRequest(StringBuilder sb, Request r, string indent)
        {
            sb.Append(indent).Append("method: ").Append(r.Method).Append('\n');
            sb.Append(indent).Append("path: ").Append(Q(r.PathAndQuery)).Append('\n');
            if (r.Headers.Count > 0)
            {
                sb.Append(indent).Append("headers:\n");
                foreach (var (k, v) in r.Headers)
                {
                    sb.Append(indent).Append("  ").Append(Q(k)).Append(": ").Append(Q(v)).Append('\n');
                }
            }

            if (r.Body is not null)
            {
                sb.Append(indent).Append("body: ").Append(Q(r.Body)).Append('\n');
            }

            if (r.Timeout is { } t)
            {
                sb.Append(indent).Append("timeout: ").Append(Dur(t)).Append('\n');
            }

            if (r.Expect is { } e)
            {
                sb.Append(indent).Append("expect:\n");
                if (e.Status.Count > 0)
                {
                    sb.Append(indent).Append("  status: [").Append(string.Join(", ", e.Status)).Append("]\n");
                }

                if (e.BodyContains.Count > 0)
                {
                    sb.Append(indent).Append("  bodyContains: [").Append(string.Join(", ", e.BodyContains.Select(Q))).Append("]\n");
                }

                if (e.BodyNotContains.Count > 0)
                {
                    sb.Append(indent).Append("  bodyNotContains: [").Append(string.Join(", ", e.BodyNotContains.Select(Q))).Append("]\n");
                }
            }
        }

        private string Render(JmxElement testPlan)
        {
            var sb = new StringBuilder();
            sb.Append("# Imported from ").Append(OneLine(options.SourceName)).Append(" by constellation import-jmx.\n");
            if (_values.UsedProperties.Count > 0)
            {
                sb.Append("# JMeter properties used: ").Append(string.Join(", ", _values.UsedProperties.Select(p => $"{p.Key}={OneLine(p.Value)}"))).Append('\n');
            }

            foreach (var (title, list) in new[] { ("Notes on the conversion:", _notes), ("NOT converted (imported with --allow-partial):", _unmapped) })
            {
                if (list.Count > 0)
                {
                    sb.Append("#\n# ").Append(title).Append('\n');
                    foreach (var f in list)
                    {
                        sb.Append("#   - ").Append(OneLine(f.ToString())).Append('\n');
                    }
                }
            }

            var name = testPlan.Name is "Test Plan" or "" ? System.IO.Path.GetFileNameWithoutExtension(options.SourceName) : testPlan.Name;
            sb.Append("name: ").Append(Q(name)).Append('\n');
            var comment = testPlan.Prop("TestPlan.comments");
            if (!string.IsNullOrWhiteSpace(comment))
            {
                sb.Append("description: ").Append(Q(comment.Trim())).Append('\n');
            }

            sb.Append("targets:\n");
            foreach (var (url, target) in _targets)
            {
                sb.Append("  ").Append(Q(target)).Append(": { baseUrl: ").Append(Q(url)).Append(" }\n");
            }

            if (_targets.Count == 0)
            {
                sb.Append("  {}\n");
            }

            sb.Append("scenarios:\n");
            foreach (var s in _scenarios)
            {
                sb.Append(s);
            }

            if (_scenarios.Count == 0)
            {
                sb.Append("  []\n");
            }

            return sb.ToString();
        }
    }

    /// <summary>A YAML double-quoted scalar (JSON string escaping is valid YAML).</summary>
    internal static string Q(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ': sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: sb.Append(c); break;
            }
        }

        return sb.Append('"').ToString();
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    /// <summary>A duration the plan reader parses back exactly: 250ms, 12.5s, 10m.</summary>
    internal static string Dur(TimeSpan t)
    {
        if (t == TimeSpan.Zero)
        {
            return "0s";
        }

        if (t < TimeSpan.FromSeconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0.###}ms");
        }

        if (t.Ticks % TimeSpan.TicksPerMinute == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:0}m");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###}s");
    }

    private static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
