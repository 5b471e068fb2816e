namespace Constellation.Core.Results;

/// <summary>The CI gate's verdict on a run: every threshold's outcome, and whether the run can be trusted at all.</summary>
public sealed record GateResult
{
    public const string Passed = "passed";
    public const string Failed = "failed";
    public const string Invalid = "invalid";

    /// <summary>passed, failed (a threshold failed) or invalid (the result cannot be trusted: see <see cref="InvalidReasons"/>).</summary>
    public required string Verdict { get; init; }

    public IReadOnlyList<ThresholdResult> Thresholds { get; init; } = [];

    /// <summary>Why the run cannot be trusted: a saturated generator, observer gaps beyond the plan's tolerance.</summary>
    public IReadOnlyList<string> InvalidReasons { get; init; } = [];

    /// <summary>The run regressions were measured against, when the plan names a baseline and one was found.</summary>
    public string? BaselineRunId { get; init; }

    /// <summary>The threshold (abortOnFail) that stopped the run early, if one did.</summary>
    public string? AbortedBy { get; init; }
}

/// <summary>
/// One threshold's outcome. <see cref="Scope"/> is the scenario's name, or "run" for the whole run (scaling
/// thresholds, run-level latency over all scenarios).
/// </summary>
public sealed record ThresholdResult
{
    public required string Scope { get; init; }
    public required string Threshold { get; init; }
    public required bool Passed { get; init; }

    /// <summary>Not evaluated (no baseline for a regression): neither passes nor fails the run.</summary>
    public bool Skipped { get; init; }

    /// <summary>The observed value as people write it (for windows: the worst window), e.g. "612ms".</summary>
    public required string Observed { get; init; }

    /// <summary>The observed value in the threshold's unit (ms, fraction, /s, count, s), if there was one.</summary>
    public double? Value { get; init; }

    /// <summary>Where or why: the failing window, the baseline's value, "no requests in stage steady"…</summary>
    public string? Detail { get; init; }

    public bool AbortOnFail { get; init; }
}
