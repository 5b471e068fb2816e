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

/// <summary>One agent of a distributed run: its share, its end, and what it measured on its own.</summary>
public sealed record AgentSummary
{
    public required int Index { get; init; }
    public required int Weight { get; init; }

    /// <summary>Its fraction of the load (weight / sum of weights).</summary>
    public required double Share { get; init; }

    /// <summary>completed, failed (ended without its result), lost (stopped reporting), late (missed the common start) or saturated.</summary>
    public required string State { get; init; }

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
