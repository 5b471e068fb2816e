namespace Constellation.Core.Plans;

/// <summary>A validated load plan: the targets, and the scenarios that load them.</summary>
public sealed record Plan
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required IReadOnlyDictionary<string, TargetSpec> Targets { get; init; }
    public required IReadOnlyList<ScenarioSpec> Scenarios { get; init; }

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
    public required RequestSpec Request { get; init; }
    public required LoadSpec Load { get; init; }

    /// <summary>Delay from run start before this scenario starts. Default: 0.</summary>
    public TimeSpan StartAfter { get; init; }

    /// <summary>Ramp-to-fail conditions: when one holds, the scenario stops and records its breaking point.</summary>
    public IReadOnlyList<Load.StopCondition> StopWhen { get; init; } = [];
}

/// <summary>The HTTP request a scenario sends.</summary>
public sealed record RequestSpec
{
    /// <summary>Default: GET.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>Path and query, relative to the target's base URL. Default: /.</summary>
    public string Path { get; init; } = "/";

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public string? Body { get; init; }

    /// <summary>Default: 10s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
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

    /// <summary>Open model: most requests in flight at once; an arrival beyond it is dropped. Default: 1000.</summary>
    public int MaxInFlight { get; init; } = 1000;

    /// <summary>Closed model: pause between a user's requests. Default: 0.</summary>
    public TimeSpan ThinkTime { get; init; }

    public TimeSpan Duration => Segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);

    public Load.LoadCurve Curve => new(Segments);
}

/// <summary>A stretch of the load curve that goes linearly from <see cref="From"/> to <see cref="To"/>.</summary>
public sealed record LoadSegment(TimeSpan Duration, double From, double To, string? Name = null);
