namespace Constellation.Core.Plans;

/// <summary>A validated load plan: the targets, and the scenarios that load them.</summary>
public sealed record Plan
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required IReadOnlyDictionary<string, TargetSpec> Targets { get; init; }
    public required IReadOnlyList<ScenarioSpec> Scenarios { get; init; }

    /// <summary>What the observer watches beside the load; null: nothing.</summary>
    public ObserveSpec? Observe { get; init; }

    /// <summary>Thresholds on the whole run (all scenarios merged) and on the scaling metrics: the CI gate.</summary>
    public IReadOnlyList<Gate.Threshold> Thresholds { get; init; } = [];

    /// <summary>The run regressions are measured against: a run id, latest-passed or tag:NAME.</summary>
    public string? Baseline { get; init; }

    /// <summary>When the gate calls the run invalid; set explicitly, it also applies to a plan without thresholds.</summary>
    public ValiditySpec? Validity { get; init; }

    /// <summary>Every threshold with its scope: "run", or the scenario's name.</summary>
    public IEnumerable<(string Scope, Gate.Threshold Threshold)> AllThresholds =>
        Thresholds.Select(t => ("run", t)).Concat(Scenarios.SelectMany(s => s.Thresholds.Select(t => (s.Name, t))));

    /// <summary>The plan's own text, kept so a run record shows the plan exactly as it was run.</summary>
    public string? SourceText { get; init; }

    /// <summary>The longest time any scenario can run, start offset included.</summary>
    public TimeSpan MaxDuration => Scenarios.Count == 0 ? TimeSpan.Zero : Scenarios.Max(s => s.StartAfter + s.Load.Duration);
}

/// <summary>A system under test, addressed by name from scenarios.</summary>
public sealed record TargetSpec
{
    public required string Name { get; init; }

    /// <summary>Base URL; null when <see cref="Launch"/> starts the target locally on a free port.</summary>
    public Uri? BaseUrl { get; init; }

    public LaunchSpec? Launch { get; init; }

    /// <summary>
    /// Accept the target's TLS certificate without checking it (a self-signed or internal CA). For test
    /// environments only: the connection is encrypted but the server is not authenticated. Default: false.
    /// </summary>
    public bool InsecureSkipTlsVerify { get; init; }
}

/// <summary>Starts a SpinService process on loopback for the run (the embedded default does this).</summary>
public sealed record LaunchSpec
{
    /// <summary>spin or webapp.</summary>
    public required string Role { get; init; }

    /// <summary>Extra configuration passed as environment variables (e.g. Spin__DefaultMs=50).</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    /// <summary>How long to wait for /health/ready. Default: 30s.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>One load scenario: what request, against which target, shaped by which load.</summary>
public sealed record ScenarioSpec
{
    public required string Name { get; init; }
    public required string Target { get; init; }
    /// <summary>The request, or the first of <see cref="Sequence"/>.</summary>
    public required RequestSpec Request { get; init; }

    /// <summary>
    /// Every request a user sends per iteration, in order (plan key <c>requests</c>; closed model only), like the
    /// samplers of a JMeter thread group. Just <see cref="Request"/> for a scenario with one request.
    /// </summary>
    public IReadOnlyList<RequestSpec> Sequence
    {
        get => _sequence ?? [Request];
        init => _sequence = value;
    }

    private readonly IReadOnlyList<RequestSpec>? _sequence;

    public required LoadSpec Load { get; init; }

    /// <summary>Delay from run start before this scenario starts. Default: 0.</summary>
    public TimeSpan StartAfter { get; init; }

    /// <summary>Ramp-to-fail conditions: when one holds, the scenario stops and records its breaking point.</summary>
    public IReadOnlyList<Load.StopCondition> StopWhen { get; init; } = [];

    /// <summary>Pass/fail rules on this scenario's results: the CI gate.</summary>
    public IReadOnlyList<Gate.Threshold> Thresholds { get; init; } = [];

    /// <summary>Each user's cookie jar (plan key <c>cookies</c>); null: on for a sequence, off for one request.</summary>
    public CookieSpec? Cookies { get; init; }

    /// <summary>The jar in force: the plan's, else on (kept across iterations) for a sequence of requests.</summary>
    public CookieSpec EffectiveCookies => Cookies ?? new CookieSpec(Sequence.Count > 1);

    /// <summary>Test data for <c>${data.COLUMN}</c> (plan key <c>data</c>).</summary>
    public DataSpec? Data { get; init; }

    /// <summary>
    /// The watched deployment this scenario's load lands on (plan key <c>deployment</c>; one of
    /// observe.kubernetes.workloads), for the scale-reaction waterfall. Null: the deployment named like the target.
    /// </summary>
    public string? Deployment { get; init; }
}

/// <summary>The HTTP request a scenario sends.</summary>
public sealed record RequestSpec
{
    /// <summary>A label for the request within a sequence (e.g. the JMeter sampler's name); optional.</summary>
    public string? Name { get; init; }

    /// <summary>Default: GET.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>Path and query, relative to the target's base URL. Default: /.</summary>
    public string Path { get; init; } = "/";

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public string? Body { get; init; }

    /// <summary>Default: 10s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks on every answer (plan key <c>expect</c>); null: any 2xx/3xx answer is a success.</summary>
    public ResponseExpectation? Expect { get; init; }

    /// <summary>Values taken from the answer into <c>${vars.NAME}</c> for the iteration's later requests (plan key <c>extract</c>).</summary>
    public IReadOnlyList<ExtractSpec> Extract { get; init; } = [];
}

/// <summary>
/// Checks on an answer, like JMeter's Response Assertion: a 2xx/3xx answer that fails one counts as an error
/// (outcome "check failed"). 4xx/5xx answers, timeouts and connection errors are errors anyway.
/// </summary>
public sealed record ResponseExpectation
{
    /// <summary>The status must be one of these (each 100–399); empty: any 2xx/3xx.</summary>
    public IReadOnlyList<int> Status { get; init; } = [];

    /// <summary>The body (as UTF-8 bytes, scanned whole as it streams by, never buffered) must contain each of these.</summary>
    public IReadOnlyList<string> BodyContains { get; init; } = [];

    /// <summary>The body must contain none of these.</summary>
    public IReadOnlyList<string> BodyNotContains { get; init; } = [];
}

/// <summary>Open (arrival rate) or closed (virtual users) load model.</summary>
public enum LoadModel
{
    Open,
    Closed,
}

/// <summary>The load shape: a piecewise-linear curve of arrival rate (open) or users (closed).</summary>
public sealed record LoadSpec
{
    public required LoadModel Model { get; init; }

    /// <summary>The segments of the curve; rate in requests/s (open) or users (closed).</summary>
    public required IReadOnlyList<LoadSegment> Segments { get; init; }

    /// <summary>
    /// How the plan wrote the curve (a constant, stages or steps), for validation messages in the plan's own terms
    /// and for writing the plan back; null when the curve was built from segments (then it is written as stages).
    /// </summary>
    public LoadShape? Shape { get; init; }

    /// <summary>Open model: most requests in flight at once; an arrival beyond it is dropped. Default: 1000.</summary>
    public int MaxInFlight { get; init; } = 1000;

    /// <summary>Closed model: pause between a user's requests. Default: 0.</summary>
    public TimeSpan ThinkTime { get; init; }

    /// <summary>
    /// Closed model: think time is drawn uniformly from <see cref="ThinkTime"/> to this (JMeter's Uniform Random
    /// Timer); null: always <see cref="ThinkTime"/>.
    /// </summary>
    public TimeSpan? ThinkTimeMax { get; init; }

    /// <summary>
    /// Closed model: iterations each user runs before it stops (JMeter's loop count; an iteration sends the request,
    /// or every request of the sequence); a user that is done is not replaced, and the scenario ends early once
    /// every user the curve reaches is done. Null: no limit.
    /// </summary>
    public int? Iterations { get; init; }

    public TimeSpan Duration => Segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);

    /// <summary>What the curve counts: req/s (open) or users (closed).</summary>
    public string Unit => Model == LoadModel.Open ? "req/s" : "users";

    public Load.LoadCurve Curve => new(Segments);
}

/// <summary>A stretch of the load curve that goes linearly from <see cref="From"/> to <see cref="To"/>.</summary>
public sealed record LoadSegment(TimeSpan Duration, double From, double To, string? Name = null);

/// <summary>A load curve as a plan writes it.</summary>
public abstract record LoadShape
{
    /// <summary>Most steps a steps shape may have (each one is a segment).</summary>
    public const int MaxSteps = 10_000;

    /// <summary>The curve's segments; null when the shape has too many steps to build (the validator says so).</summary>
    public abstract IReadOnlyList<LoadSegment>? Segments();
}

/// <summary><c>rate: R</c> (or <c>users: N</c>) for <c>duration</c>.</summary>
public sealed record ConstantShape(double Value, TimeSpan Duration) : LoadShape
{
    public override IReadOnlyList<LoadSegment> Segments() => [new LoadSegment(Duration, Value, Value)];
}

/// <summary><c>startRate</c> then <c>stages</c>, each going linearly to its value over its duration (0s: a jump).</summary>
public sealed record StagesShape(double Start, IReadOnlyList<Stage> Stages) : LoadShape
{
    public override IReadOnlyList<LoadSegment> Segments()
    {
        var result = new List<LoadSegment>(Stages.Count);
        var previous = Start;
        foreach (var s in Stages)
        {
            result.Add(new LoadSegment(s.Duration, previous, s.Value, s.Name));
            previous = s.Value;
        }

        return result;
    }

    /// <summary>Stages that draw exactly these segments (a jump between them becomes a 0s stage).</summary>
    public static StagesShape From(IReadOnlyList<LoadSegment> segments)
    {
        var stages = new List<Stage>();
        double start = segments.Count == 0 ? 0 : segments[0].From;
        double at = start;
        foreach (var s in segments)
        {
            if (s.From != at)
            {
                stages.Add(new Stage(TimeSpan.Zero, s.From));
            }

            stages.Add(new Stage(s.Duration, s.To, s.Name));
            at = s.To;
        }

        return new StagesShape(start, stages);
    }
}

/// <summary>One stage: reach <see cref="Value"/> over <see cref="Duration"/>.</summary>
public sealed record Stage(TimeSpan Duration, double Value, string? Name = null);

/// <summary><c>steps: { from, step, every, to }</c>: JMeter's stepping thread group, a step held for <see cref="Every"/>.</summary>
public sealed record StepsShape(double From, double Step, TimeSpan Every, double To, string Unit) : LoadShape
{
    /// <summary>How many steps the shape makes (from, from + step, … up to to).</summary>
    public double Count => Step <= 0 || To < From ? 0 : Math.Floor(((To - From) / Step) + 1e-9) + 1;

    public override IReadOnlyList<LoadSegment>? Segments()
    {
        if (Count is <= 0 or > MaxSteps || !double.IsFinite(Count))
        {
            return null;
        }

        var result = new List<LoadSegment>((int)Count);
        for (int n = 0; n < Count; n++)
        {
            var v = From + (n * Step);
            result.Add(new LoadSegment(Every, v, v, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"step {n + 1} ({v:0.###}{Unit})")));
        }

        return result;
    }
}

/// <summary>
/// <c>cycles: { base, peak, baseFor, peakFor, count, ramp }</c>: the load steps up and down again, <see cref="Count"/>
/// times — <see cref="Base"/> for <see cref="BaseFor"/>, then per cycle <see cref="Peak"/> for <see cref="PeakFor"/>
/// and <see cref="Base"/> for <see cref="BaseFor"/> (long enough to scale back in). Each step up is one reaction of the
/// autoscalers to measure; repeated, they give a distribution, not one sample. <see cref="Ramp"/> (default 0s: a jump)
/// is the time each step takes.
/// </summary>
public sealed record CyclesShape(double Base, double Peak, TimeSpan BaseFor, TimeSpan PeakFor, int Count, TimeSpan Ramp, string Unit) : LoadShape
{
    /// <summary>Most cycles a plan may ask for.</summary>
    public const int MaxCycles = 1_000;

    public override IReadOnlyList<LoadSegment>? Segments()
    {
        if (Count is <= 0 or > MaxCycles)
        {
            return null;
        }

        // Names without the values, so a threshold's `during stage "cycle 2 up"` survives a change of peak or base.
        var result = new List<LoadSegment> { new(BaseFor, Base, Base, "base") };
        for (int n = 1; n <= Count; n++)
        {
            if (Ramp > TimeSpan.Zero)
            {
                result.Add(new LoadSegment(Ramp, Base, Peak, $"cycle {n} ramp up"));
            }

            result.Add(new LoadSegment(PeakFor, Peak, Peak, $"cycle {n} up"));
            if (Ramp > TimeSpan.Zero)
            {
                result.Add(new LoadSegment(Ramp, Peak, Base, $"cycle {n} ramp down"));
            }

            result.Add(new LoadSegment(BaseFor, Base, Base, $"cycle {n} down"));
        }

        return result;
    }
}

/// <summary>What to watch beside the load (plan key <c>observe</c>); every sampler is optional.</summary>
public sealed record ObserveSpec
{
    /// <summary>Observe this long before the load starts: the control app's calm baseline. Default: 0.</summary>
    public TimeSpan Baseline { get; init; }

    /// <summary>Keep observing this long after the load (scale-in). Default: 0.</summary>
    public TimeSpan Cooldown { get; init; }

    public LocalSamplerSpec? Local { get; init; }
    public IReadOnlyList<ProbeSpec> Probes { get; init; } = [];
    public KubernetesSamplerSpec? Kubernetes { get; init; }
    public PrometheusSamplerSpec? Prometheus { get; init; }
}

/// <summary>CPU and memory of the launched targets, the generator and the machine, from /proc.</summary>
public sealed record LocalSamplerSpec
{
    /// <summary>Default: 1s.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>A low fixed-rate probe of a control app (a plan target), separate from the load.</summary>
public sealed record ProbeSpec
{
    public required string Target { get; init; }

    /// <summary>Default: /.</summary>
    public string Path { get; init; } = "/";

    /// <summary>Probes per second. Default: 2.</summary>
    public double Rate { get; init; } = 2;

    /// <summary>Default: 5s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Watches deployments, HPAs, pods, nodes and events; polls metrics.k8s.io.</summary>
public sealed record KubernetesSamplerSpec
{
    /// <summary>Kubeconfig file; default: $KUBECONFIG, then ~/.kube/config.</summary>
    public string? Kubeconfig { get; init; }

    public string? Context { get; init; }

    /// <summary>Use the pod's service account (the LoadRunner as an in-cluster Job).</summary>
    public bool InCluster { get; init; }

    public required IReadOnlyList<WorkloadSpec> Workloads { get; init; }

    /// <summary>Label selector for the nodes to watch; default: all.</summary>
    public string? NodeSelector { get; init; }

    /// <summary>Namespaces whose events are recorded; default: the workloads' namespaces, default and kube-system.</summary>
    public IReadOnlyList<string> EventNamespaces { get; init; } = [];

    /// <summary>How often metrics.k8s.io is polled for node and pod CPU and memory; 0 turns it off. Default: 15s.</summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Timeout of one API request (lists, metrics). Default: 30s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>A deployment to watch, with its HPA and the selector of its pods (default: the deployment's own).</summary>
public sealed record WorkloadSpec
{
    public required string Namespace { get; init; }
    public required string Deployment { get; init; }
    public string? Hpa { get; init; }
    public string? Selector { get; init; }
}

/// <summary>PromQL range queries over the run window, read from a Prometheus server after the run.</summary>
public sealed record PrometheusSamplerSpec
{
    /// <summary>The server; null only in a plan that does not validate.</summary>
    public required Uri? Url { get; init; }

    /// <summary>Default: 15s.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromSeconds(15);

    public required IReadOnlyList<PromQuerySpec> Queries { get; init; }
}

/// <summary>One PromQL query; each series it returns becomes a series of the chart named <see cref="Name"/>.</summary>
public sealed record PromQuerySpec(string Name, string Query, string Unit);

/// <summary>When a gated run's result cannot be trusted (exit 3): the plan key <c>validity</c>.</summary>
public sealed record ValiditySpec
{
    /// <summary>Observer gaps (all samplers together) beyond this make the run invalid. Default: 60s.</summary>
    public TimeSpan MaxObserverGap { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A saturated load generator makes the run invalid (true, the default) or only warns (false).</summary>
    public bool GeneratorSaturatedIsInvalid { get; init; } = true;
}
