namespace Constellation.Core.Results;

/// <summary>
/// One verdict per run, derived here and nowhere else, shown wherever a team looks (the report's badge,
/// summary.md, junit.xml, the exit code, the API, <c>runs list</c>, the runs index, the service's jobs):
/// <list type="bullet">
/// <item><c>passed</c>: the run completed, and every threshold (if it has any) passed;</item>
/// <item><c>failed</c>: a threshold failed (the gate says no; exit 99);</item>
/// <item><c>invalid</c>: the result cannot be trusted — a saturated generator, observer gaps, a degraded distributed run (exit 3);</item>
/// <item><c>aborted</c>: the run was killed (its record rebuilt from its journal; exit 1);</item>
/// <item><c>cancelled</c>: Ctrl+C, SIGTERM or a cancel in the service (exit 130);</item>
/// <item><c>error</c>: the run failed: a target did not start, the run could not be stored anywhere (exit 1).</item>
/// </list>
/// The order is the exit codes' order: cancelled, aborted or error, invalid, failed, passed.
/// </summary>
public static class RunVerdict
{
    public const string Passed = "passed";
    public const string Failed = "failed";
    public const string Invalid = "invalid";
    public const string Aborted = "aborted";
    public const string Cancelled = "cancelled";
    public const string Error = "error";

    public static readonly IReadOnlyList<string> All = [Passed, Failed, Invalid, Aborted, Cancelled, Error];

    /// <summary>The verdict of a run with this status and this gate verdict (passed, failed, invalid, or none).</summary>
    public static string Of(RunStatus status, string? gateVerdict) => status switch
    {
        RunStatus.Cancelled => Cancelled,
        RunStatus.Aborted => Aborted,
        RunStatus.Failed => Error,
        _ => gateVerdict switch
        {
            GateResult.Invalid => Invalid,
            GateResult.Failed => Failed,
            _ => Passed,
        },
    };

    public static string Of(RunRecord run) => Of(run.Status, run.Gate?.Verdict);

    /// <summary>A word for people: what the verdict means.</summary>
    public static string Describe(string verdict) => verdict switch
    {
        Passed => "passed",
        Failed => "failed — a threshold failed",
        Invalid => "invalid — the result cannot be trusted",
        Aborted => "aborted — the run was killed",
        Cancelled => "cancelled — partial results",
        Error => "error — the run failed",
        _ => verdict,
    };
}
