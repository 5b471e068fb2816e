using Hangfire.Client;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;

namespace Constellation.Service;

/// <summary>How a run job ended: the run's verdict, in words, and where its report is.</summary>
public sealed record RunJobOutcome(string RunId, string Verdict, string Summary, string? Report);

/// <summary>A run whose verdict is not passed, as a failed job's reason (never thrown: the job did its work).</summary>
public sealed class RunVerdictException(string message) : Exception(message);

/// <summary>
/// The run jobs in Hangfire's own terms. A run job's final state is its run's verdict: passed is Succeeded (its result
/// names the report), failed, invalid, aborted and error are Failed with the verdict as the reason, a cancelled run —
/// or a job that must not run again (a requeued run: a run is written once) — is Deleted with why. The dashboard's
/// user is recorded: who pressed Trigger now (the run's startedBy) and who deleted a running job (its cancelledBy).
/// </summary>
public sealed class RunJobFilter(IServiceProvider services) : JobFilterAttribute, IElectStateFilter, IClientFilter, IApplyStateFilter
{
    /// <summary>The job parameter that carries the dashboard user who created the job.</summary>
    public const string TriggeredBy = "TriggeredBy";

    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is not SucceededState { Result: RunJobOutcome outcome })
        {
            return;
        }

        var reason = outcome.Report is null ? outcome.Summary : $"{outcome.Summary} — report: {outcome.Report}";
        context.CandidateState = outcome.Verdict switch
        {
            Core.Results.RunVerdict.Passed => context.CandidateState,
            Core.Results.RunVerdict.Cancelled or RunService.NotRun => new DeletedState { Reason = reason },
            _ => new FailedState(new RunVerdictException(reason)) { Reason = $"verdict {outcome.Verdict}" },
        };
    }

    public void OnCreating(CreatingContext context)
    {
        if (User() is { } user)
        {
            context.SetJobParameter(TriggeredBy, user);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        // A processing run job deleted in the dashboard: its run is cancelled by that user (recorded in run.json).
        if (context.NewState is DeletedState && (context.OldStateName == ProcessingState.StateName || context.OldStateName == EnqueuedState.StateName)
            && context.BackgroundJob.Job?.Method.Name == nameof(RunService.ExecuteAsync)
            && context.BackgroundJob.Job.Args.FirstOrDefault() is string runId && User() is { } user)
        {
            (services.GetService(typeof(RunService)) as RunService)?.NoteCancelledBy(runId, $"{user} via dashboard");
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }

    /// <summary>The signed-in user of the dashboard request this runs in, if any.</summary>
    private string? User() =>
        (services.GetService(typeof(IHttpContextAccessor)) as IHttpContextAccessor)?.HttpContext?.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : null;

    /// <summary>The dashboard user who triggered the job being performed, if it was one.</summary>
    public static string? TriggeredByOf(PerformContext? context)
    {
        try
        {
            return context?.GetJobParameter<string>(TriggeredBy);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
