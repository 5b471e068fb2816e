namespace Constellation.Core.Results;

/// <summary>The canonical result of a run (run.json); every report is rendered from it.</summary>
public sealed record RunRecord
{
    /// <summary>
    /// Bumped on any incompatible change of this record's shape. 2: run.json is built from the run's journal; the
    /// per-second histograms are in the journal's interval logs, no longer in every point; a long run's points
    /// each cover <see cref="ScenarioResult.SecondsPerPoint"/> seconds.
    /// </summary>
    public const int CurrentSchemaVersion = 2;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required string PlanName { get; init; }

    /// <summary>completed (also when ramp-to-fail stopped a scenario: see its endReason), cancelled or failed.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>The run's one verdict (<see cref="RunVerdict"/>): passed, failed, invalid, aborted, cancelled or error.</summary>
    public string Verdict => RunVerdict.Of(this);

    public required RunEnvironment Environment { get; init; }

    /// <summary>The plan's YAML as it was run.</summary>
    public string? PlanText { get; init; }

    public required IReadOnlyList<ScenarioResult> Scenarios { get; init; }
    public required GeneratorHealth Generator { get; init; }
    public string? Error { get; init; }

    /// <summary>Where the run was stored besides the local folder, and whether that worked.</summary>
    public IReadOnlyList<StoreStatus> Stores { get; init; } = [];

    /// <summary>Time series the observer sampled beside the load (pods, nodes, CPU, control-app latency), if any.</summary>
    public IReadOnlyList<ObservedSeries> Observations { get; init; } = [];

    /// <summary>Events on the same timeline (HPA rescale, node ready, …), if any.</summary>
    public IReadOnlyList<ObservedEvent> Events { get; init; } = [];

    /// <summary>The observer's window, samplers, gaps, probes and Kubernetes timeline, when the plan observes.</summary>
    public Observation? Observation { get; init; }

    /// <summary>The CI gate's verdict and every threshold's outcome, when the plan has thresholds.</summary>
    public GateResult? Gate { get; init; }

    /// <summary>Who started the run and how, when the service started it (e.g. "alice via api", "schedule via quartz").</summary>
    public string? StartedBy { get; init; }

    /// <summary>Who cancelled the run (the service's caller, a dashboard user, Ctrl+C or SIGTERM on the CLI), when it was cancelled.</summary>
    public string? CancelledBy { get; init; }

    /// <summary>Labels for finding this run again (e.g. release-1.4, baseline).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Scaling metrics derived from the observation and the load (see <see cref="ScalingAnalyzer"/>).</summary>
    public ScalingMetrics? Scaling { get; init; }

    /// <summary>The agents of a distributed run (--agents N) and each one's health; null for a run on one process.</summary>
    public Distribution? Distribution { get; init; }
}

/// <summary>One sampled series; series of one <see cref="Group"/> share a chart.</summary>
public sealed record ObservedSeries(string Group, string Name, string Unit, IReadOnlyList<SeriesPoint> Points);

/// <summary>A sample: seconds since the run started, and the value.</summary>
public sealed record SeriesPoint(double Seconds, double Value);

/// <summary>Something that happened at a moment of the run (Kind: the Kubernetes reason, e.g. SuccessfulRescale, or the observer's own).</summary>
public sealed record ObservedEvent(double Seconds, string Kind, string Text)
{
    /// <summary>The object it is about, e.g. "hpa/demo/spin" or "node/ip-10-0-1-5".</summary>
    public string? Object { get; init; }
}

/// <summary>The outcome of storing a run in one store: where, how many files, a link to the report, or the error.</summary>
public sealed record StoreStatus(string Store, bool Ok, string Location, int Files, string? ReportLink, string? Error)
{
    /// <summary>A link to the store's runs index, where the store keeps one.</summary>
    public string? IndexLink { get; init; }
}

public enum RunStatus
{
    Completed,
    Cancelled,
    Failed,

    /// <summary>The process running it was killed (SIGKILL, OOM kill, power loss, a service crash): what reached its journal.</summary>
    Aborted,
}

/// <summary>Where and when the run happened.</summary>
public sealed record RunEnvironment
{
    public required string ToolVersion { get; init; }
    public required string Machine { get; init; }
    public required string Os { get; init; }
    public required string Runtime { get; init; }
    public required int Cores { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public required DateTimeOffset EndedUtc { get; init; }
    public IReadOnlyDictionary<string, string> Targets { get; init; } = new Dictionary<string, string>();
}

/// <summary>One scenario's outcome: per-second series, totals and its breaking point.</summary>
public sealed record ScenarioResult
{
    public required string Name { get; init; }
    public required string Target { get; init; }
    public required string Model { get; init; }
    public required string Url { get; init; }

    /// <summary>Seconds from run start at which the scenario started.</summary>
    public required double StartOffsetSeconds { get; init; }
    public required double DurationSeconds { get; init; }

    /// <summary>How its load ended: completed, stopped (a stop condition held), cancelled, aborted or failed.</summary>
    public required EndReason EndReason { get; init; }

    /// <summary>The scenario's points: one per second, or for a long run one per <see cref="SecondsPerPoint"/> seconds.</summary>
    public required IReadOnlyList<SecondSample> Seconds { get; init; }

    /// <summary>
    /// Seconds each point of <see cref="Seconds"/> covers (1 up to an hour of load). A point's counts and offered
    /// load are sums over its seconds, its latency the exact merge of theirs; rates are the sums divided by this.
    /// </summary>
    public int SecondsPerPoint { get; init; } = 1;

    public required ScenarioTotals Totals { get; init; }
    public BreakingPoint? BreakingPoint { get; init; }

    /// <summary>The Universal Scalability Law fitted to a ramp's seconds; absent for a scenario whose load does not ramp.</summary>
    public CapacityModel? Capacity { get; init; }

    /// <summary>Latency limits the plan sets for this scenario (stop conditions on a percentile or the mean), drawn on its latency chart.</summary>
    public IReadOnlyList<LatencyLimit> LatencyLimits { get; init; } = [];

    /// <summary>
    /// Each request of a sequence by its label (its name, else "METHOD path"): its own seconds and totals, as
    /// JMeter's Aggregate Report has a row per label. Empty for a scenario of one request.
    /// </summary>
    public IReadOnlyList<ScenarioResult> Requests { get; init; } = [];

    /// <summary>Failed checks by their named reason: "extract token (json $.token): no match" — which part of a journey broke.</summary>
    public IReadOnlyDictionary<string, long> Failures { get; init; } = new Dictionary<string, long>();

    /// <summary>What the scale-reaction waterfall needs of the plan (from the journal; run.json has the waterfall itself).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ReactionScope? Reaction { get; init; }
}

/// <summary>How a scenario's load ended (run.json: its lowercase name).</summary>
public enum EndReason
{
    /// <summary>Its curve ran to the end.</summary>
    Completed,

    /// <summary>A stop condition held (a ramp-to-fail found its breaking point).</summary>
    Stopped,

    /// <summary>The run was cancelled (Ctrl+C, SIGTERM, the API or the dashboard).</summary>
    Cancelled,

    /// <summary>The run was killed, or an abortOnFail threshold stopped it.</summary>
    Aborted,

    /// <summary>No part of it reported an end (every agent that had its share failed).</summary>
    Failed,
}

/// <summary>Lowercase names of the run's states, as run.json, summary.md and the report write them.</summary>
public static class StateNames
{
    public static string Name(this EndReason reason) => reason.ToString().ToLowerInvariant();

    public static string Name(this AgentState state) => state.ToString().ToLowerInvariant();
}

/// <summary>A latency limit from the plan, e.g. "p95 &gt; 1s over 5s" as 1000 ms.</summary>
public sealed record LatencyLimit(string Label, double Ms);

/// <summary>What a scenario did in one second (completions by completion time).</summary>
public sealed record SecondSample
{
    /// <summary>Whole second since the scenario started (0-based).</summary>
    public required int Second { get; init; }

    /// <summary>Planned load in this second: arrivals (open) or users (closed).</summary>
    public required double Offered { get; init; }

    /// <summary>Requests actually sent.</summary>
    public required long Started { get; init; }

    public required OutcomeCounts Outcomes { get; init; }
    public required long BytesReceived { get; init; }
    public long InFlight { get; init; }

    /// <summary>Latency from intended start (open model) or send (closed model).</summary>
    public required LatencySummary Latency { get; init; }

    /// <summary>Latency from actual send: the server's service time as this client saw it.</summary>
    public required LatencySummary ServiceTime { get; init; }

    /// <summary>Base64 HdrHistogram (µs) of <see cref="Latency"/>: exact merging across seconds and agents.</summary>
    public string? LatencyHistogram { get; init; }

    public string? ServiceTimeHistogram { get; init; }
}

/// <summary>Request counts by outcome class.</summary>
public sealed record OutcomeCounts
{
    public long Status2xx { get; init; }
    public long Status3xx { get; init; }
    public long Status4xx { get; init; }
    public long Status5xx { get; init; }
    public long Timeout { get; init; }
    public long ConnectionError { get; init; }

    /// <summary>2xx/3xx answers that failed the request's <c>expect</c> checks (status list, body text).</summary>
    public long CheckFailed { get; init; }

    public long Dropped { get; init; }

    /// <summary>
    /// Requests aborted in flight by a hard stop (a second Ctrl+C/SIGTERM): not completed, not errors, no latency —
    /// the server never had its chance to answer.
    /// </summary>
    public long Cancelled { get; init; }

    /// <summary>Requests that got any answer or failed (dropped ones never started; cancelled ones never ended).</summary>
    public long Completed => Status2xx + Status3xx + Status4xx + Status5xx + Timeout + ConnectionError + CheckFailed;

    public long Errors => Status4xx + Status5xx + Timeout + ConnectionError + CheckFailed;

    public long Ok => Status2xx + Status3xx;

    public static OutcomeCounts operator +(OutcomeCounts a, OutcomeCounts b) => new()
    {
        Status2xx = a.Status2xx + b.Status2xx,
        Status3xx = a.Status3xx + b.Status3xx,
        Status4xx = a.Status4xx + b.Status4xx,
        Status5xx = a.Status5xx + b.Status5xx,
        Timeout = a.Timeout + b.Timeout,
        ConnectionError = a.ConnectionError + b.ConnectionError,
        CheckFailed = a.CheckFailed + b.CheckFailed,
        Dropped = a.Dropped + b.Dropped,
        Cancelled = a.Cancelled + b.Cancelled,
    };
}

/// <summary>A scenario's totals over its whole run.</summary>
public sealed record ScenarioTotals
{
    public required long Requests { get; init; }
    public required OutcomeCounts Outcomes { get; init; }
    public required long BytesReceived { get; init; }

    /// <summary>Completed requests per second over the scenario's duration.</summary>
    public required double Rps { get; init; }

    public required double ErrorRate { get; init; }
    public required LatencySummary Latency { get; init; }
    public required LatencySummary ServiceTime { get; init; }
    public string? LatencyHistogram { get; init; }
    public string? ServiceTimeHistogram { get; init; }
}

/// <summary>Where a ramp-to-fail scenario broke.</summary>
public sealed record BreakingPoint
{
    public required string Condition { get; init; }
    public required string Observed { get; init; }
    public required DateTimeOffset AtUtc { get; init; }
    public required double ElapsedSeconds { get; init; }

    /// <summary>req/s (open model) or users (closed model).</summary>
    public required string Unit { get; init; }

    /// <summary>The planned load when the condition held.</summary>
    public required double OfferedAtFailure { get; init; }

    /// <summary>The planned load at the start of the failing window: the last load that was still healthy.</summary>
    public required double LastHealthyOffered { get; init; }

    public required string LastHealthyStage { get; init; }

    /// <summary>The most successful (2xx/3xx) responses served in any one second before the break.</summary>
    public required long PeakOkPerSecond { get; init; }
}

/// <summary>How healthy the load generator itself was: a saturated generator makes the result suspect.</summary>
public sealed record GeneratorHealth
{
    public required IReadOnlyList<GeneratorSecond> Seconds { get; init; }
    public required double MaxCpuPercent { get; init; }
    public required double MaxPacerLagMs { get; init; }

    /// <summary>
    /// The 99th percentile of how late the open model's arrivals were sent, over every arrival after the first second
    /// (ms; the worst second's p99 where the seconds carry no histograms); absent without open-model arrivals.
    /// </summary>
    public double? PacerLagP99Ms { get; init; }

    /// <summary>True when the generator, not the target, was likely the limit.</summary>
    public required bool Bottleneck { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>"max pacer lag 12.3 ms", with the p99 of every arrival's lag when the open model paced arrivals.</summary>
    public string DescribePacerLag() => PacerLagP99Ms is { } p99
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"max pacer lag {MaxPacerLagMs:0.#} ms (p99 of arrivals {p99:0.###} ms)")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"max pacer lag {MaxPacerLagMs:0.#} ms");

    /// <summary>What the generator spent per scenario: its CPU per 1,000 requests (absent in a distributed run: see each agent).</summary>
    public IReadOnlyList<GeneratorCost> Cost { get; init; } = [];
}

/// <summary>
/// A scenario's share of the generator's CPU: each second's process CPU split by the requests each scenario started
/// in it. <see cref="CpuMsPer1kRequests"/> rising while the target's latency does not says the generator is the limit.
/// </summary>
public sealed record GeneratorCost(string Scenario, long Requests, double CpuSeconds, double CpuMsPer1kRequests);

/// <summary>The generator's own CPU and pacing lag in one second.</summary>
public sealed record GeneratorSecond(int Second, double CpuPercent, double? MachineCpuPercent, double PacerLagMaxMs, long InFlight)
{
    /// <summary>The 99th percentile of how late the open model's arrivals were sent in this second (ms); absent without arrivals.</summary>
    public double? PacerLagP99Ms { get; init; }

    /// <summary>How long the generator's garbage collector paused all its threads in this second (ms): it delays the pacer too.</summary>
    public double? GcPauseMs { get; init; }

    /// <summary>
    /// The second's arrival lags as a base64 HdrHistogram (µs), so the run's p99 is exact and agents merge exactly. Kept in
    /// the journal and the agents' exchange; run.json keeps only <see cref="PacerLagP99Ms"/>.
    /// </summary>
    public string? PacerLagHistogram { get; init; }
}
