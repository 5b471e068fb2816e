using System.Globalization;
using System.Text.RegularExpressions;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.LoadRunner.Engine;
using Constellation.LoadRunner.Local;

namespace Constellation.LoadRunner.Runs;

/// <summary>Where a run writes and what it is called.</summary>
public sealed record RunOptions
{
    /// <summary>Folder that gets one sub-folder per run. Default: artifacts/runs.</summary>
    public string OutputRoot { get; init; } = Path.Combine("artifacts", "runs");

    /// <summary>Fixed run id; default: UTC time stamp, plan name and a random suffix.</summary>
    public string? RunId { get; init; }

    /// <summary>Stores besides the local folder (S3); the local folder is always written first.</summary>
    public IReadOnlyList<Reports.Stores.IRunStore> Stores { get; init; } = [];
}

/// <summary>The record of a finished run and where it was written.</summary>
public sealed record RunOutcome(RunRecord Record, string Directory);

/// <summary>
/// One run end to end: launch local targets, drive the engine, write run.json, summary.md and index.html, stop the
/// children. The CLI, and later the service's jobs, all go through here.
/// </summary>
public sealed partial class RunPipeline(TimeProvider time, TextWriter log)
{
    public async Task<RunOutcome> RunAsync(Plan plan, RunOptions options, Action<EngineProgress>? progress, CancellationToken cancel, CancellationToken abort = default)
    {
        var startedUtc = time.GetUtcNow();
        var runId = options.RunId ?? NewRunId(plan.Name, startedUtc);
        var localStore = new Reports.Stores.LocalRunStore(options.OutputRoot, log);
        var dir = localStore.DirectoryFor(runId);
        Directory.CreateDirectory(dir);
        log.WriteLine($"run {runId}: plan '{plan.Name}', {plan.Scenarios.Count} scenario(s), up to {Core.Text.Durations.Format(plan.MaxDuration)}");

        RunRecord record;
        LocalTargets? local = null;
        try
        {
            local = await LocalTargets.StartAsync(plan, Path.Combine(dir, "logs"), log, cancel).ConfigureAwait(false);
            var urls = plan.Targets.Values.ToDictionary(t => t.Name, t => local.Urls.TryGetValue(t.Name, out var u) ? u : t.BaseUrl!, StringComparer.Ordinal);
            var scenarios = plan.Scenarios.Select(s => new ResolvedScenario(s, Combine(urls[s.Target], s.Request.Path))).ToList();
            var result = await new LoadEngine(time).RunAsync(scenarios, progress, cancel, abort).ConfigureAwait(false);
            record = new RunRecord
            {
                RunId = runId,
                PlanName = plan.Name,
                Status = result.Cancelled ? RunStatus.Cancelled : RunStatus.Completed,
                Environment = Environment(result.StartedUtc, result.EndedUtc, urls),
                PlanText = plan.SourceText,
                Scenarios = result.Scenarios,
                Generator = result.Generator,
            };
        }
        catch (Exception e) when (e is LaunchException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException)
        {
            record = new RunRecord
            {
                RunId = runId,
                PlanName = plan.Name,
                Status = e is OperationCanceledException ? RunStatus.Cancelled : RunStatus.Failed,
                Environment = Environment(startedUtc, time.GetUtcNow(), new Dictionary<string, Uri>()),
                PlanText = plan.SourceText,
                Scenarios = [],
                Generator = GeneratorHealthAssessor.Assess([]),
                Error = e.Message,
            };
        }
        finally
        {
            if (local is not null)
            {
                await local.DisposeAsync().ConfigureAwait(false);
            }
        }

        // Every store, the local folder first; the others copy what it wrote. A failing store never costs
        // the others their copy; every status goes into the local run.json.
        var statuses = new List<StoreStatus>();
        foreach (var store in options.Stores.Prepend(localStore))
        {
            var status = await store.StoreAsync(dir, record, CancellationToken.None).ConfigureAwait(false);
            if (!status.Ok)
            {
                log.WriteLine($"warning: could not store the run in {status.Location}: {status.Error}");
            }

            statuses.Add(status);
        }

        record = record with { Stores = statuses };
        await new Reports.Writers.RunJsonWriter().WriteAsync(record, dir, CancellationToken.None).ConfigureAwait(false);
        if (!statuses.Any(s => s.Ok))
        {
            record = record with { Status = RunStatus.Failed, Error = record.Error ?? "the run could not be stored anywhere" };
        }

        return new RunOutcome(record, dir);
    }

    /// <summary>Joins a base URL (which may carry a path prefix) and a request path.</summary>
    public static Uri Combine(Uri baseUrl, string path) => new(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + path);

    public static string NewRunId(string planName, DateTimeOffset utc)
    {
        var slug = SlugChars().Replace(planName.ToLowerInvariant(), "-").Trim('-');
        if (slug.Length > 40)
        {
            slug = slug[..40];
        }

        return string.Create(CultureInfo.InvariantCulture, $"{utc.UtcDateTime:yyyyMMdd-HHmmss}-{(slug.Length == 0 ? "run" : slug)}-{Random.Shared.Next(0x10000):x4}");
    }

    private static RunEnvironment Environment(DateTimeOffset started, DateTimeOffset ended, IReadOnlyDictionary<string, Uri> urls) => new()
    {
        ToolVersion = ToolInfo.Version,
        Machine = System.Environment.MachineName,
        Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        Cores = System.Environment.ProcessorCount,
        StartedUtc = started,
        EndedUtc = ended,
        Targets = urls.ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal),
    };

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex SlugChars();
}
