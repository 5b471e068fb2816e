namespace Constellation.Core.Results;

/// <summary>How a distributed run was spread over its agents, what each one did, and what load is missing.</summary>
public sealed record Distribution
{
    /// <summary>local (agent processes on this machine) or kubernetes (an Indexed Job).</summary>
    public required string Mode { get; init; }

    /// <summary>Where the agents wrote their seconds: a folder, or s3://bucket/prefix.</summary>
    public required string Exchange { get; init; }

    public required IReadOnlyList<AgentSummary> Agents { get; init; }

    /// <summary>Per scenario, the share of its planned load that was not sent because an agent failed, was lost or late (0–1).</summary>
    public IReadOnlyDictionary<string, double> MissingShare { get; init; } = new Dictionary<string, double>();

    /// <summary>What went wrong with the agents, one line each; empty when every agent took its whole share.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>Some agent did not deliver its share: the run's load is not the plan's, so the gate calls it invalid.</summary>
    public bool Degraded => Problems.Count > 0;
}

/// <summary>Where an agent of a distributed run stands, or how it ended.</summary>
public enum AgentState
{
    /// <summary>Still sending (only while the run goes).</summary>
    Running,

    /// <summary>Sent its share and its result.</summary>
    Completed,

    /// <summary>Sent its share, but its own generator was the limit.</summary>
    Saturated,

    /// <summary>Ended without its result.</summary>
    Failed,

    /// <summary>Stopped reporting.</summary>
    Lost,

    /// <summary>Missed the common start.</summary>
    Late,

    /// <summary>Cut off by a hard stop (a second Ctrl+C) before it reported its last seconds.</summary>
    Cancelled,

    /// <summary>Its coordinator was killed; it stopped on its own and its seconds were recovered from the exchange.</summary>
    Orphaned,
}

/// <summary>One agent of a distributed run: its share, its end, and what it measured on its own.</summary>
public sealed record AgentSummary
{
    public required int Index { get; init; }
    public required int Weight { get; init; }

    /// <summary>Its fraction of the load (weight / sum of weights).</summary>
    public required double Share { get; init; }

    /// <summary>How it ended (run.json: its lowercase name).</summary>
    public required AgentState State { get; init; }

    public string? Host { get; init; }
    public string? Error { get; init; }

    /// <summary>Run seconds it reported (the common clock, 0-based); -1 when none.</summary>
    public int LastSecond { get; init; } = -1;

    public long Requests { get; init; }
    public long Errors { get; init; }
    public double Rps { get; init; }
    public double? P95Ms { get; init; }
    public double? P99Ms { get; init; }

    /// <summary>Its own generator health: CPU share of all cores and the worst pacer lag.</summary>
    public double MaxCpuPercent { get; init; }
    public double MaxPacerLagMs { get; init; }
    public bool Bottleneck { get; init; }
}
