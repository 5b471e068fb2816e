using System.Collections.Concurrent;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs;
using Hangfire;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>What a caller may change about a plan: never a URL or a plan body.</summary>
public sealed record RunOverrides
{
    /// <summary>Cap every scenario at this many seconds.</summary>
    public int? DurationSeconds { get; init; }

    /// <summary>Multiply every rate (open) or user count (closed), e.g. 0.5 or 2.</summary>
    public double? RateMultiplier { get; init; }

    public string? Tag { get; init; }
}

/// <summary>Where a run the service knows stands (the API's <c>status</c>: its lowercase name).</summary>
public enum RunPhase
{
    Queued,
    Running,

    /// <summary>Its pipeline ended and wrote its record; the record's verdict says how it went.</summary>
    Completed,

    /// <summary>Cancelled (before it started, or while it ran: then its record is written too).</summary>
    Cancelled,

    /// <summary>It could not run, or its pipeline failed; <see cref="RunState.Error"/> says why.</summary>
    Failed,

    /// <summary>Killed while running: its record was rebuilt from its journal.</summary>
    Aborted,
}

/// <summary>A run the service knows: queued, running or finished, who started it, who cancelled it.</summary>
public sealed class RunState
{
    public required string Id { get; init; }
    public required string Plan { get; init; }
    public required string StartedBy { get; init; }
    public required string Via { get; init; }

    /// <summary>Who and how, as recorded in run.json: "alice via api", "schedule via quartz".</summary>
    public string Origin => $"{StartedBy} via {Via}";
    public required RunOverrides Overrides { get; init; }
    public RunPhase Status { get; set; } = RunPhase.Queued;

    /// <summary>Still to end: queued or running.</summary>
    public bool Active => Status is RunPhase.Queued or RunPhase.Running;
    public string? CancelledBy { get; set; }

    /// <summary>Its Hangfire job.</summary>
    public string? JobId { get; set; }

    public RunRecord? Record { get; set; }
    public string? Error { get; set; }
    public CancellationTokenSource Cancel { get; } = new();

    /// <summary>How far the run is, updated every second by <see cref="RunStateListener"/>.</summary>
    public RunProgress? Progress { get; set; }
}

/// <summary>The service's state of a run as one of its listeners: the API shows the run's progress while it goes.</summary>
public sealed class RunStateListener(RunState run) : Constellation.Runs.IRunListener
{
    private long _requests;
    private long _errors;

    public void OnSecond(Constellation.Runs.RunSecond second)
    {
        long last = second.Scenarios.Sum(s => s.Sample.Outcomes.Completed);
        _requests += last;
        _errors += second.Scenarios.Sum(s => s.Sample.Outcomes.Errors);
        run.Progress = new RunProgress(second.Second + 1, _requests, _errors, last);
    }
}

/// <summary>
/// The one execution path: the API, the dashboard and the schedule all call <see cref="Start"/>, which enqueues the
/// same Hangfire job, which runs the same pipeline as the CLI. One run at a time: the service drives one cluster.
/// </summary>
public sealed class RunService(IOptions<ServiceOptions> options, IBackgroundJobClient jobs, TimeProvider time, ILogger<RunService> logger)
{
    private readonly ConcurrentDictionary<string, RunState> _runs = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public IEnumerable<RunState> Active => _runs.Values.Where(r => r.Active);

    public RunState? Find(string id) => _runs.GetValueOrDefault(id);

    /// <summary>
    /// The plans the service may run, by name, with their validation result. A broken plan is listed with its errors;
    /// nothing in a plan file, nor a missing plans folder, makes this fail (the schedule and the API go on).
    /// </summary>
    public IReadOnlyList<(string Name, PlanLoadResult Loaded)> Plans()
    {
        string[] files;
        try
        {
            files = Directory.Exists(options.Value.PlansFolder) ? Directory.GetFiles(options.Value.PlansFolder, "*.yaml") : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("cannot list the plans folder {Folder}: {Reason}", options.Value.PlansFolder, e.Message);
            return [];
        }

        return [.. files.Order(StringComparer.Ordinal).Select(f => (Path.GetFileNameWithoutExtension(f), PlanLoader.LoadFile(f, withData: false)))];
    }

    /// <summary>The secrets a plan refers to that this service's environment cannot give.</summary>
    public static IReadOnlyList<SecretReference> MissingSecrets(Plan plan) => SecretReferences.Missing(plan, new SecretSource());

    /// <summary>Queues a run; null with a reason when it cannot start (unknown plan, invalid overrides, busy).</summary>
    public (RunState? Run, int Status, string? Problem) Start(string planName, RunOverrides overrides, string who, string via)
    {
        var file = Path.Combine(options.Value.PlansFolder, planName + ".yaml");
        if (planName.Any(c => c is '/' or '\\') || planName.StartsWith('.') || !File.Exists(file))
        {
            return (null, StatusCodes.Status404NotFound, $"no plan '{planName}' in the plans folder (GET /api/plans lists them)");
        }

        var loaded = PlanLoader.LoadFile(file);
        if (!loaded.IsValid)
        {
            return (null, StatusCodes.Status422UnprocessableEntity, $"plan '{planName}' is invalid: {string.Join("; ", loaded.Errors)}");
        }

        if (Validate(overrides) is { } bad)
        {
            return (null, StatusCodes.Status400BadRequest, bad);
        }

        if (Apply(loaded.Plan!, overrides) is { IsValid: false } overridden)
        {
            return (null, StatusCodes.Status422UnprocessableEntity, $"plan '{planName}' with these overrides is invalid: {string.Join("; ", overridden.Errors)}");
        }

        if (MissingSecrets(loaded.Plan!) is { Count: > 0 } missing)
        {
            return (null, StatusCodes.Status422UnprocessableEntity, $"plan '{planName}' refers to secrets this service cannot read: {string.Join("; ", missing.Select(r => $"{r.Path}: {r.Text}"))}");
        }

        lock (_gate)
        {
            if (Active.FirstOrDefault() is { } busy)
            {
                return (null, StatusCodes.Status409Conflict, $"run {busy.Id} ({busy.Plan}) is {busy.Status}: one run at a time, the service drives one cluster");
            }

            // A run id is never reused: a new one until neither this service nor the runs folder knows it.
            string id;
            do
            {
                id = RunPipeline.NewRunId(loaded.Plan!.Name, time.GetUtcNow());
            }
            while (_runs.ContainsKey(id) || Directory.Exists(Path.Combine(options.Value.RunsFolder, id)));

            var state = new RunState { Id = id, Plan = planName, StartedBy = who, Via = via, Overrides = overrides };
            _runs[id] = state;
            state.JobId = jobs.Enqueue<RunService>(s => s.ExecuteAsync(id, CancellationToken.None));
            logger.LogInformation("run {RunId} of {Plan} queued by {Who} via {Via}", id, planName, who, via);
            return (state, StatusCodes.Status202Accepted, null);
        }
    }

    /// <summary>A run job's outcome when it did not run (a requeued run, an unknown run id): a run is written once.</summary>
    public const string NotRun = "not run";

    /// <summary>
    /// The dashboard's button: each plan is a "recurring job" that never fires by itself (Quartz holds the schedules,
    /// shown in <paramref name="schedule"/>); its Trigger now starts the plan, as the signed-in user.
    /// </summary>
    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("start plan {0} — {1}")]
    public string StartFromDashboard(string planName, string schedule, Hangfire.Server.PerformContext? context)
    {
        var who = RunJobFilter.TriggeredByOf(context) ?? "dashboard";
        var (run, _, problem) = Start(planName, new RunOverrides(), who, "dashboard");
        return run is null
            ? throw new InvalidOperationException(problem) // shown on the job in the dashboard
            : $"queued run {run.Id} — report when it ends: /runs/{run.Id}/index.html";
    }

    /// <summary>The dashboard deleted the run's job while it ran: who cancelled it.</summary>
    public void NoteCancelledBy(string id, string who)
    {
        if (Find(id) is { Active: true } run)
        {
            run.CancelledBy ??= who;
        }
    }

    /// <summary>Cancels a queued or running run: the load stops, the partial report is kept.</summary>
    public (int Status, string? Problem) Cancel(string id, string who)
    {
        if (Find(id) is not { } run)
        {
            return (StatusCodes.Status404NotFound, $"no run '{id}' is known to this service");
        }

        if (!run.Active)
        {
            return (StatusCodes.Status409Conflict, $"run {id} is already {run.Status.ToString().ToLowerInvariant()}");
        }

        run.CancelledBy = who;
        run.Cancel.Cancel();
        logger.LogInformation("run {RunId} cancelled by {Who}", id, who);
        return (StatusCodes.Status202Accepted, null);
    }

    /// <summary>The Hangfire job: runs the plan through the CLI's pipeline.</summary>
    /// <remarks>
    /// Hangfire cancels <paramref name="jobCancelled"/> when the job is deleted in the dashboard or the server
    /// shuts down: either stops the load like DELETE /api/runs/{id} and keeps the partial run.
    /// </remarks>
    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("run {0}")]
    public async Task<RunJobOutcome> ExecuteAsync(string id, CancellationToken jobCancelled)
    {
        // A run is written once: a job that comes again (Requeue in the dashboard, a restart) does not run it again.
        if (Find(id) is not { } run)
        {
            logger.LogWarning("run {RunId} is not known to this service (it restarted since): not run again", id);
            return new RunJobOutcome(id, NotRun, $"run {id} is not known to this service (it restarted since it was queued); a run is written once: start its plan again for a new run", null);
        }

        if (run.Status != RunPhase.Queued)
        {
            return new RunJobOutcome(id, NotRun, $"run {id} already ran ({run.Status.ToString().ToLowerInvariant()}); a run is written once: use Trigger now on plan {run.Plan}, or POST /api/runs, for a new run", $"/runs/{id}/index.html");
        }

        if (run.Cancel.IsCancellationRequested)
        {
            run.Status = RunPhase.Cancelled;
            return new RunJobOutcome(id, Core.Results.RunVerdict.Cancelled, $"cancelled by {run.CancelledBy} before it started", null);
        }

        run.Status = RunPhase.Running;
        using var fromDashboard = jobCancelled.Register(() =>
        {
            run.CancelledBy ??= "dashboard or shutdown";
            run.Cancel.Cancel();
        });
        try
        {
            // The file is read again: it may have changed since the run was queued, and is judged again.
            var loaded = PlanLoader.LoadFile(Path.Combine(options.Value.PlansFolder, run.Plan + ".yaml"));
            var applied = loaded.IsValid ? Apply(loaded.Plan!, run.Overrides) : loaded;
            if (!applied.IsValid)
            {
                run.Status = RunPhase.Failed;
                run.Error = $"plan '{run.Plan}' became invalid after the run was queued: {string.Join("; ", applied.Errors)}";
                logger.LogError("run {RunId}: {Error}", id, run.Error);
                return new RunJobOutcome(id, Core.Results.RunVerdict.Error, run.Error, null);
            }

            var plan = applied.Plan!;
            using var scope = logger.BeginScope("run {RunId}", id);
            var outcome = await new RunPipeline(time, logger).RunAsync(
                plan,
                new RunOptions
                {
                    OutputRoot = options.Value.RunsFolder,
                    RunId = id,
                    Tags = run.Overrides.Tag is { } t ? [t] : [],
                    StartedBy = run.Origin,
                    Listeners = [new RunStateListener(run)],
                    CancelledBy = () => run.CancelledBy,
                },
                run.Cancel.Token).ConfigureAwait(false);
            run.Record = outcome.Record;
            run.Status = outcome.Record.Status switch
            {
                RunStatus.Completed => RunPhase.Completed,
                RunStatus.Cancelled => RunPhase.Cancelled,
                RunStatus.Aborted => RunPhase.Aborted,
                _ => RunPhase.Failed,
            };
            await Reports.History.RunsIndexWriter.WriteAsync(options.Value.RunsFolder, CancellationToken.None).ConfigureAwait(false);
            var record = outcome.Record;
            var why = record.Verdict switch
            {
                Core.Results.RunVerdict.Failed => "; failed: " + string.Join("; ", record.Gate?.Thresholds.Where(t => !t.Passed && !t.Skipped).Select(t => $"[{t.Scope}] {t.Threshold}: {t.Observed}") ?? []),
                Core.Results.RunVerdict.Invalid => "; " + string.Join("; ", record.Gate?.InvalidReasons ?? []),
                Core.Results.RunVerdict.Cancelled => $" by {record.CancelledBy}",
                Core.Results.RunVerdict.Error or Core.Results.RunVerdict.Aborted => $": {record.Error}",
                _ => string.Empty,
            };
            return new RunJobOutcome(id, record.Verdict, $"run {id}: verdict {record.Verdict}{why}", $"/runs/{id}/index.html");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever went wrong, the run is failed with its reason, never left "running" (Hangfire does not retry it).
            run.Status = RunPhase.Failed;
            run.Error = e.Message;
            logger.LogError(e, "run {RunId} failed", id);
            return new RunJobOutcome(id, Core.Results.RunVerdict.Error, $"run {id}: verdict error: {e.Message}", null);
        }
    }

    private string? Validate(RunOverrides o)
    {
        if (o.DurationSeconds is { } d && (d < 1 || TimeSpan.FromSeconds(d) > options.Value.MaxDuration))
        {
            return $"durationSeconds must be from 1 to {options.Value.MaxDuration.TotalSeconds:0}, got {d}";
        }

        if (o.RateMultiplier is { } m && (m <= 0 || m > 10 || !double.IsFinite(m)))
        {
            return $"rateMultiplier must be > 0 and at most 10, got {m}";
        }

        if (o.Tag is { } tag && !Core.Results.RunNames.IsTag(tag))
        {
            return $"tag must be {Core.Results.RunNames.TagRule}";
        }

        return null;
    }

    /// <summary>The plan with the overrides applied, judged again: null and every problem when it cannot run so.</summary>
    internal static PlanLoadResult Apply(Plan plan, RunOverrides o) =>
        PlanLoader.Check(PlanOverrides.Apply(plan, o.DurationSeconds is { } d ? TimeSpan.FromSeconds(d) : null, o.RateMultiplier));
}
