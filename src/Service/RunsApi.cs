using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>A request to start a run: a plan from the plans folder by name and the documented overrides only.</summary>
public sealed record StartRunRequest(string Plan, int? DurationSeconds = null, double? RateMultiplier = null, string? Tag = null);

/// <summary>A plan the service can run.</summary>
/// <summary>A plan as the API lists it: valid or not (with every problem), its scenarios, and the secrets it refers to that this service cannot read.</summary>
public sealed record PlanInfo(string Name, string? Description, bool Valid, IReadOnlyList<string> Errors, IReadOnlyList<string> Scenarios)
{
    public IReadOnlyList<string> MissingSecrets { get; init; } = [];
}

/// <summary>A run as the API shows it.</summary>
public sealed record RunInfo(
    string Id,
    string Plan,
    string Status,
    string? Verdict,
    DateTimeOffset? StartedUtc,
    string? StartedBy,
    string? CancelledBy,
    IReadOnlyList<string> Tags,
    IReadOnlyList<ScenarioNumbers> Scenarios,
    IReadOnlyDictionary<string, string> Links)
{
    /// <summary>How far a running run is (its listener's view, updated every second); null once it ended.</summary>
    public RunProgress? Progress { get; init; }
}

/// <summary>A running run's progress: seconds of load so far, requests and errors so far, completed per second in the last second.</summary>
public sealed record RunProgress(int Seconds, long Requests, long Errors, long LastSecondRequests);

/// <summary>A scenario's key numbers.</summary>
public sealed record ScenarioNumbers(string Name, long Requests, double Rps, double ErrorRate, double P95Ms, double P99Ms, double? BrokeAt);

/// <summary>A page of runs.</summary>
public sealed record RunPage(int Page, int PageSize, int Total, IReadOnlyList<RunInfo> Runs);

/// <summary>The REST API: list plans, start a run, list runs, get one, its report and run.json, cancel.</summary>
public static class RunsApi
{
    public static WebApplication MapRunsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(Policies.View).WithTags("runs");
        api.MapGet("/plans", ListPlans);
        api.MapPost("/runs", StartRun).RequireAuthorization(Policies.Operate).AddEndpointFilter<CsrfHeaderFilter>();
        api.MapGet("/runs", ListRuns);
        api.MapGet("/runs/{id}", GetRun);
        api.MapGet("/runs/{id}/report", (string id, IOptions<ServiceOptions> o) => RunFile(id, "index.html", "text/html; charset=utf-8", o));
        api.MapGet("/runs/{id}/run.json", (string id, IOptions<ServiceOptions> o) => RunFile(id, "run.json", "application/json", o));
        api.MapDelete("/runs/{id}", CancelRun).RequireAuthorization(Policies.Operate).AddEndpointFilter<CsrfHeaderFilter>();
        return app;
    }

    private static Ok<List<PlanInfo>> ListPlans(RunService runs) => TypedResults.Ok(runs.Plans().Select(p => new PlanInfo(
        p.Name,
        p.Loaded.Plan?.Description,
        p.Loaded.IsValid,
        [.. p.Loaded.Errors.Select(e => e.ToString())],
        [.. p.Loaded.Plan?.Scenarios.Select(s => s.Name) ?? []])
    {
        MissingSecrets = p.Loaded.Plan is { } plan ? [.. RunService.MissingSecrets(plan).Select(r => $"{r.Path}: {r.Text}")] : [],
    }).ToList());

    private static Results<Accepted<RunInfo>, ProblemHttpResult> StartRun(StartRunRequest request, RunService runs, ClaimsPrincipal user)
    {
        var (run, status, problem) = runs.Start(request.Plan ?? string.Empty, new RunOverrides { DurationSeconds = request.DurationSeconds, RateMultiplier = request.RateMultiplier, Tag = request.Tag }, user.Identity?.Name ?? "unknown", "api");
        return run is null
            ? TypedResults.Problem(problem, statusCode: status, title: status == StatusCodes.Status409Conflict ? "a run is already going" : "cannot start the run")
            : TypedResults.Accepted($"/api/runs/{run.Id}", Info(run, null));
    }

    private static async Task<Ok<RunPage>> ListRuns(RunService runs, IOptions<ServiceOptions> o, string? plan, string? verdict, string? tag, int? page, int? pageSize, CancellationToken ct)
    {
        int size = Math.Clamp(pageSize ?? 20, 1, 200), number = Math.Max(1, page ?? 1);
        var stored = await Reports.History.RunHistory.LoadAsync(o.Value.RunsFolder, ct);
        var all = runs.Active.Where(a => stored.All(s => s.RunId != a.Id)).Select(a => Info(a, null))
            .Concat(stored.Select(s => Info(runs.Find(s.RunId), s)))
            .Where(r => (plan is null || r.Plan == plan) && (verdict is null || r.Verdict == verdict) && (tag is null || r.Tags.Contains(tag)))
            .ToList();
        return TypedResults.Ok(new RunPage(number, size, all.Count, [.. all.Skip((number - 1) * size).Take(size)]));
    }

    private static async Task<Results<Ok<RunInfo>, NotFound>> GetRun(string id, RunService runs, IOptions<ServiceOptions> o, CancellationToken ct)
    {
        var state = runs.Find(id);
        var dir = Path.Combine(o.Value.RunsFolder, id);
        var summary = Safe(id) && Directory.Exists(dir) ? await Reports.History.RunSummary.TryReadAsync(dir, ct) : null;
        return state is null && summary is null ? TypedResults.NotFound() : TypedResults.Ok(Info(state, summary));
    }

    private static Results<Accepted, ProblemHttpResult> CancelRun(string id, RunService runs, ClaimsPrincipal user)
    {
        var (status, problem) = runs.Cancel(id, user.Identity?.Name ?? "unknown");
        return problem is null ? TypedResults.Accepted($"/api/runs/{id}") : TypedResults.Problem(problem, statusCode: status);
    }

    private static IResult RunFile(string id, string name, string type, IOptions<ServiceOptions> o)
    {
        var path = Path.Combine(o.Value.RunsFolder, id, name);
        return Safe(id) && File.Exists(path) ? TypedResults.PhysicalFile(Path.GetFullPath(path), type) : TypedResults.NotFound();
    }

    private static bool Safe(string id) => Core.Results.RunNames.IsRunId(id) && !id.StartsWith('.');

    private static RunInfo Info(RunState? state, Reports.History.RunSummary? s)
    {
        var id = s?.RunId ?? state!.Id;
        var status = (state?.Status.ToString() ?? s!.Status.ToString()).ToLowerInvariant();
        var record = state?.Record;
        return new RunInfo(
            id,
            state?.Plan ?? s!.PlanName,
            status,
            record?.Verdict ?? s?.Outcome,
            s?.StartedUtc ?? record?.Environment.StartedUtc,
            state?.Origin ?? s?.StartedBy,
            state?.CancelledBy ?? s?.CancelledBy,
            s?.Tags ?? record?.Tags ?? (state?.Overrides.Tag is { } tag ? [tag] : []),
            [.. (s?.Scenarios ?? []).Select(x => new ScenarioNumbers(x.Name, x.Requests, x.Rps, x.ErrorRate, x.P95Ms, x.P99Ms, x.BrokeAt))],
            new Dictionary<string, string>
            {
                ["self"] = $"/api/runs/{id}",
                ["report"] = $"/runs/{id}/index.html",
                ["runJson"] = $"/api/runs/{id}/run.json",
            })
        {
            Progress = state is { Status: RunPhase.Running } ? state.Progress : null,
        };
    }
}
