using System.Text.Json;
using System.Text.Json.Serialization;
using Constellation.Core.Results;

namespace Constellation.Reports.Journal;

/// <summary>
/// One line of a run's journal (<c>journal/run.jsonl</c>): the run's start, the load's start, every second's counts,
/// stops, what the observer saw, the end, the gate's verdict and where the run was stored — in the order they
/// happened. The latency histograms of every second are beside it, one HdrHistogram interval log per scenario.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(JournalStart), "start")]
[JsonDerivedType(typeof(JournalLoad), "load")]
[JsonDerivedType(typeof(JournalSecond), "second")]
[JsonDerivedType(typeof(JournalStop), "stop")]
[JsonDerivedType(typeof(JournalObserved), "observed")]
[JsonDerivedType(typeof(JournalObservation), "observation")]
[JsonDerivedType(typeof(JournalEnd), "end")]
[JsonDerivedType(typeof(JournalGate), "gate")]
[JsonDerivedType(typeof(JournalStores), "stores")]
[JsonDerivedType(typeof(JournalTags), "tags")]
public abstract record JournalEntry
{
    /// <summary>How journal lines are written: one compact JSON object per line, camelCase, enums as strings.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>The run began (before its targets were started): what it is and where it runs.</summary>
public sealed record JournalStart : JournalEntry
{
    /// <summary>The journal's own format version.</summary>
    public int Version { get; init; } = 1;
    public required string RunId { get; init; }
    public required string PlanName { get; init; }

    /// <summary>The plan's YAML as run, secrets redacted.</summary>
    public string? PlanText { get; init; }

    public required DateTimeOffset StartedUtc { get; init; }
    public required string ToolVersion { get; init; }
    public required string Machine { get; init; }
    public required string Os { get; init; }
    public required string Runtime { get; init; }
    public required int Cores { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? StartedBy { get; init; }
}

/// <summary>The load began at second 0 (<see cref="LoadStartUtc"/>): its scenarios, and where their histograms go.</summary>
public sealed record JournalLoad : JournalEntry
{
    public required DateTimeOffset LoadStartUtc { get; init; }

    /// <summary>Each target's base URL (credentials masked).</summary>
    public IReadOnlyDictionary<string, string> Targets { get; init; } = new Dictionary<string, string>();

    public required IReadOnlyList<JournalScenario> Scenarios { get; init; }

    /// <summary>Each request of a scenario of several requests, with its own series (<see cref="JournalScenario.Parent"/> set).</summary>
    public IReadOnlyList<JournalScenario> Requests { get; init; } = [];

    /// <summary>Every series the journal holds: the scenarios', then their requests'.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<JournalScenario> AllSeries => Scenarios.Concat(Requests);
}

/// <summary>A scenario as the journal knows it; <see cref="File"/> names its interval logs (FILE.latency.hlog, FILE.service.hlog).</summary>
public sealed record JournalScenario
{
    public required string Name { get; init; }
    public required string Target { get; init; }
    public required string Model { get; init; }
    public required string Url { get; init; }
    public required double StartOffsetSeconds { get; init; }

    /// <summary>The planned length of its load in seconds (the record's resolution is chosen from it).</summary>
    public required double PlannedSeconds { get; init; }

    public required string File { get; init; }
    public IReadOnlyList<LatencyLimit> LatencyLimits { get; init; } = [];

    /// <summary>The deployment, p95 limit and load steps of the scale-reaction waterfall.</summary>
    public ReactionScope? Reaction { get; init; }

    /// <summary>For a request's series: the scenario it belongs to, and its label there (<see cref="Name"/> is its key).</summary>
    public string? Parent { get; init; }

    public string? Label { get; init; }
}

/// <summary>A second of the run: each running scenario's counts (their histograms are the next line of its interval logs).</summary>
public sealed record JournalSecond : JournalEntry
{
    public required int Second { get; init; }
    public required IReadOnlyList<JournalSample> Scenarios { get; init; }
    public GeneratorSecond? Generator { get; init; }

    /// <summary>The requests' own seconds (already counted in their scenarios': never summed with them).</summary>
    public IReadOnlyList<JournalSample> Requests { get; init; } = [];
}

/// <summary>One scenario's second: everything of <see cref="SecondSample"/> but the histograms.</summary>
public sealed record JournalSample
{
    public required string Scenario { get; init; }
    public required int Second { get; init; }
    public required double Offered { get; init; }
    public required long Started { get; init; }
    public required OutcomeCounts Outcomes { get; init; }
    public required long BytesReceived { get; init; }
    public long InFlight { get; init; }
    public required LatencySummary Latency { get; init; }
    public required LatencySummary ServiceTime { get; init; }

    /// <summary>A series' second as a journal line (its histograms go to the series' interval logs).</summary>
    public static JournalSample Of(string scenario, SecondSample s) => new()
    {
        Scenario = scenario,
        Second = s.Second,
        Offered = s.Offered,
        Started = s.Started,
        Outcomes = s.Outcomes,
        BytesReceived = s.BytesReceived,
        InFlight = s.InFlight,
        Latency = s.Latency,
        ServiceTime = s.ServiceTime,
    };

    /// <summary>The line back as the second it was (without histograms: those come from the interval logs).</summary>
    public SecondSample ToSecond() => new()
    {
        Second = Second,
        Offered = Offered,
        Started = Started,
        Outcomes = Outcomes,
        BytesReceived = BytesReceived,
        InFlight = InFlight,
        Latency = Latency,
        ServiceTime = ServiceTime,
    };
}

/// <summary>A scenario stopped at its breaking point, or the whole run was stopped (<see cref="Scenario"/> null).</summary>
public sealed record JournalStop : JournalEntry
{
    public required int Second { get; init; }
    public string? Scenario { get; init; }
    public required string Reason { get; init; }
    public BreakingPoint? BreakingPoint { get; init; }
}

/// <summary>
/// What the observer saw since its last line: a killed run keeps it. Its seconds are on the run's timeline (second 0
/// is the load's start), or, for a line written before the load started (the calm baseline), counted from
/// <see cref="OriginUtc"/>.
/// </summary>
public sealed record JournalObserved : JournalEntry
{
    /// <summary>Second 0 of this line's seconds when it is not the load's start (a line of the baseline); null otherwise.</summary>
    public DateTimeOffset? OriginUtc { get; init; }

    public IReadOnlyList<ObservedSeries> Series { get; init; } = [];
    public IReadOnlyList<ObservedEvent> Events { get; init; } = [];
    public IReadOnlyList<ObservationGap> Gaps { get; init; } = [];

    /// <summary>The control-app probes' new samples.</summary>
    public IReadOnlyList<ProbeResult> Probes { get; init; } = [];
}

/// <summary>The observer's whole account at its end: it replaces the <see cref="JournalObserved"/> lines.</summary>
public sealed record JournalObservation : JournalEntry
{
    public required Observation Observation { get; init; }
    public IReadOnlyList<ObservedSeries> Series { get; init; } = [];
    public IReadOnlyList<ObservedEvent> Events { get; init; } = [];
}

/// <summary>The run ended: how, and how each scenario ended.</summary>
public sealed record JournalEnd : JournalEntry
{
    public required RunStatus Status { get; init; }
    public required DateTimeOffset EndedUtc { get; init; }
    public string? Error { get; init; }
    public string? AbortedBy { get; init; }

    /// <summary>Who cancelled the run, when it was cancelled.</summary>
    public string? CancelledBy { get; init; }

    public IReadOnlyList<JournalScenarioEnd> Scenarios { get; init; } = [];
    public Distribution? Distribution { get; init; }
    public bool GeneratorBottleneck { get; init; }
    public IReadOnlyList<string> GeneratorWarnings { get; init; } = [];
}

/// <summary>How one scenario ended.</summary>
public sealed record JournalScenarioEnd(string Name, double StartOffsetSeconds, double DurationSeconds, EndReason EndReason)
{
    /// <summary>Failed checks by their named reason.</summary>
    public IReadOnlyDictionary<string, long> Failures { get; init; } = new Dictionary<string, long>();
}

/// <summary>The gate's verdict, judged once at the end (a rebuilt record keeps it, baseline and all).</summary>
public sealed record JournalGate : JournalEntry
{
    public required GateResult Gate { get; init; }
}

/// <summary>The run's tags were changed after it ended (runs tag, runs promote): these are its tags now.</summary>
public sealed record JournalTags : JournalEntry
{
    public required IReadOnlyList<string> Tags { get; init; }
}

/// <summary>Where the run was stored and how that went.</summary>
public sealed record JournalStores : JournalEntry
{
    public required IReadOnlyList<StoreStatus> Stores { get; init; }
}
