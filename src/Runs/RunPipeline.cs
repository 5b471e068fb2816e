using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Text.RegularExpressions;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Constellation.Runs.Local;

namespace Constellation.Runs;

/// <summary>Where a run writes and what it is called.</summary>
public sealed record RunOptions
{
    /// <summary>Folder that gets one sub-folder per run. Default: artifacts/runs.</summary>
    public string OutputRoot { get; init; } = Path.Combine("artifacts", "runs");

    /// <summary>Fixed run id; default: UTC time stamp, plan name and a random suffix.</summary>
    public string? RunId { get; init; }

    /// <summary>Stores besides the local folder (S3); the local folder is always written first.</summary>
    public IReadOnlyList<Reports.Stores.IRunStore> Stores { get; init; } = [];

    /// <summary>Labels for the run (--tag), e.g. release-1.4.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Called once a second with the second just recorded (the service checkpoints the partial run with it).</summary>
    public Action<int, IReadOnlyList<(string Scenario, int Second, SecondSample Sample)>>? OnSecond { get; init; }

    /// <summary>Who started the run and how (the service records it); null from the CLI.</summary>
    public string? StartedBy { get; init; }

    /// <summary>Spread the load over several agents (--agents N); null: this process sends it all.</summary>
    public AgentRunOptions? Agents { get; init; }
}

/// <summary>A distributed run: how the load is split, how the agents start, and where they meet.</summary>
public sealed record AgentRunOptions
{
    public required Distributed.DistributionOptions Distribution { get; init; }

    /// <summary>The launcher for a run, given the run's folder (local agents log into it).</summary>
    public required Func<string, Distributed.IAgentLauncher> Launcher { get; init; }

    /// <summary>The exchange for a run, given its folder and id; default: the folder's agents/ sub-folder.</summary>
    public Func<string, string, Distributed.IExchange>? Exchange { get; init; }
}

/// <summary>The record of a finished run and where it was written.</summary>
public sealed record RunOutcome(RunRecord Record, string Directory);

/// <summary>
/// One run end to end: launch local targets, drive the engine, write run.json, summary.md and index.html, stop the
/// children. The CLI, and later the service's jobs, all go through here.
/// </summary>
public sealed partial class RunPipeline(TimeProvider time, ILogger log)
{
    public async Task<RunOutcome> RunAsync(Plan plan, RunOptions options, Action<EngineProgress>? progress, CancellationToken cancel, CancellationToken abort = default)
    {
        var startedUtc = time.GetUtcNow();
        var runId = options.RunId ?? NewRunId(plan.Name, startedUtc);
        var localStore = new Reports.Stores.LocalRunStore(options.OutputRoot, log);
        var dir = localStore.DirectoryFor(runId);
        Directory.CreateDirectory(dir);
        log.RunStarting(runId, plan.Name, plan.Scenarios.Count, Core.Text.Durations.Format(plan.MaxDuration));

        RunRecord record;
        LocalTargets? local = null;
        string? abortedBy = null;
        try
        {
            local = await LocalTargets.StartAsync(plan, Path.Combine(dir, "logs"), log, cancel).ConfigureAwait(false);
            var urls = plan.Targets.Values.ToDictionary(t => t.Name, t => local.Urls.TryGetValue(t.Name, out var u) ? u : t.BaseUrl!, StringComparer.Ordinal);
            var scenarios = plan.Scenarios.Select(s => ResolvedScenario.On(s, urls[s.Target], plan.Targets[s.Target].InsecureSkipTlsVerify)).ToList();
            await using var observer = StartObserver(plan, urls, local);
            if (observer is not null && plan.Observe!.Baseline > TimeSpan.Zero)
            {
                log.Baseline(Core.Text.Durations.Format(plan.Observe.Baseline));
                await WaitAsync(plan.Observe.Baseline, "baseline", cancel).ConfigureAwait(false);
            }

            var liveGate = new Core.Gate.LiveGate(plan);
            LiveCheck? live = (options.OnSecond, liveGate.IsEmpty) switch
            {
                (null, true) => null,
                (null, false) => liveGate.Observe,
                ({ } each, var noGate) => (second, samples) =>
                {
                    each(second, samples);
                    return noGate ? null : liveGate.Observe(second, samples);
                },
            };
            EngineResult result;
            Distribution? distribution = null;
            if (options.Agents is { } agents)
            {
                using var exchange = agents.Exchange?.Invoke(dir, runId) ?? new Distributed.FolderExchange(Path.Combine(dir, "agents"));
                await using var launcher = agents.Launcher(dir);
                var distributed = await new Distributed.AgentCoordinator(time, log).RunAsync(runId, plan, scenarios, urls, agents.Distribution, exchange, launcher, progress, live, cancel, abort).ConfigureAwait(false);
                await exchange.DeleteAsync(Distributed.AgentProtocol.AssignmentKey, CancellationToken.None).ConfigureAwait(false); // it holds the plan's real headers
                (result, distribution) = (distributed.Result, distributed.Distribution);
                foreach (var problem in distribution.Problems)
                {
                    log.Degraded(problem);
                }
            }
            else
            {
                result = await new LoadEngine(time).RunAsync(scenarios, progress, cancel, abort, live).ConfigureAwait(false);
            }

            if (result.AbortedBy is { } why)
            {
                log.AbortedOnFail(why);
            }

            if (observer is not null && plan.Observe!.Cooldown > TimeSpan.Zero && !cancel.IsCancellationRequested)
            {
                log.Cooldown(Core.Text.Durations.Format(plan.Observe.Cooldown));
                await WaitAsync(plan.Observe.Cooldown, "cooldown", cancel).ConfigureAwait(false);
            }

            record = new RunRecord
            {
                RunId = runId,
                PlanName = plan.Name,
                Status = result.Cancelled ? RunStatus.Cancelled : RunStatus.Completed,
                Environment = Environment(result.StartedUtc, result.EndedUtc, urls),
                PlanText = plan.SourceText is { } text ? PlanRedactor.Redact(text) : null,
                Scenarios = result.AbortedBy is null ? result.Scenarios : [.. result.Scenarios.Select(x => x.EndReason == "cancelled" ? x with { EndReason = "aborted" } : x)],
                Generator = result.Generator,
                Tags = options.Tags,
                StartedBy = options.StartedBy,
                Distribution = distribution,
            };
            abortedBy = result.AbortedBy;
            if (observer is not null)
            {
                var observed = await observer.StopAsync(result.StartedUtc, CancellationToken.None).ConfigureAwait(false);
                record = record with { Observation = observed.Observation, Observations = observed.Series, Events = observed.Events };
                record = record with { Scaling = ScalingAnalyzer.Derive(record) };
                foreach (var gap in observed.Observation.Gaps)
                {
                    log.ObserverGap(gap.Sampler, gap.FromSeconds, gap.ToSeconds, gap.Reason);
                }
            }
        }
        catch (Exception e) when (e is LaunchException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException)
        {
            record = new RunRecord
            {
                RunId = runId,
                PlanName = plan.Name,
                Status = e is OperationCanceledException ? RunStatus.Cancelled : RunStatus.Failed,
                Environment = Environment(startedUtc, time.GetUtcNow(), new Dictionary<string, Uri>()),
                PlanText = plan.SourceText is { } text ? PlanRedactor.Redact(text) : null,
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

        record = await GateAsync(record, plan, options, abortedBy).ConfigureAwait(false);

        // Every store, the local folder first; the others copy what it wrote. A failing store never costs
        // the others their copy; every status goes into the local run.json.
        var statuses = new List<StoreStatus>();
        foreach (var store in options.Stores.Prepend(localStore))
        {
            var status = await store.StoreAsync(dir, record, CancellationToken.None).ConfigureAwait(false);
            if (!status.Ok)
            {
                log.StoreFailed(status.Location, status.Error);
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

    /// <summary>Judges the run against the plan's thresholds (with the baseline run, for regressions) and logs the verdict.</summary>
    private async Task<RunRecord> GateAsync(RunRecord record, Plan plan, RunOptions options, string? abortedBy)
    {
        if (!plan.AllThresholds.Any() && plan.Validity is null && record.Distribution is not { Degraded: true })
        {
            return record;
        }

        RunRecord? baseline = null;
        if (plan.Baseline is { } wanted && plan.AllThresholds.Any(t => t.Threshold.Regression))
        {
            var found = await Reports.History.Baselines.ResolveAsync(options.OutputRoot, wanted, plan.Name, record.RunId, CancellationToken.None).ConfigureAwait(false);
            baseline = found.Record;
            if (baseline is null)
            {
                log.BaselineMissing(found.Message);
            }
            else
            {
                log.BaselineFound($"{baseline.RunId} ({wanted})");
            }
        }

        var gate = Core.Gate.GateEvaluator.Evaluate(record, plan, baseline, abortedBy);
        if (gate is null)
        {
            return record;
        }

        foreach (var t in gate.Thresholds)
        {
            log.Threshold(t.Skipped ? "skipped" : t.Passed ? "passed" : "FAILED", t.Scope, t.Threshold, t.Observed, t.Detail is null ? string.Empty : $" ({t.Detail})");
        }

        foreach (var reason in gate.InvalidReasons)
        {
            log.RunInvalid(reason);
        }

        log.Gate(gate.Verdict);
        return record with { Gate = gate };
    }

    private Observer.RunObserver? StartObserver(Plan plan, IReadOnlyDictionary<string, Uri> urls, LocalTargets local)
    {
        if (plan.Observe is not { } spec)
        {
            return null;
        }

        var processes = new Dictionary<string, int>(local.Processes, StringComparer.Ordinal) { ["generator"] = System.Environment.ProcessId };
        var observer = Observer.RunObserver.FromSpec(spec, new Observer.ObserverContext { TargetUrls = urls, Processes = processes, SkipTlsVerify = plan.Targets.Values.Where(t => t.InsecureSkipTlsVerify).Select(t => t.Name).ToHashSet(StringComparer.Ordinal) }, time, log);
        observer.Start();
        return observer;
    }

    /// <summary>Waits out the baseline or cooldown, with a line every 30 s on long ones; Ctrl+C ends it early.</summary>
    private async Task WaitAsync(TimeSpan duration, string what, CancellationToken cancel)
    {
        var end = time.GetTimestamp() + (long)(duration.TotalSeconds * time.TimestampFrequency);
        try
        {
            while (time.GetTimestamp() < end)
            {
                var left = TimeSpan.FromSeconds((end - time.GetTimestamp()) / (double)time.TimestampFrequency);
                var step = left < TimeSpan.FromSeconds(30) ? left : TimeSpan.FromSeconds(30);
                await Task.Delay(step, time, cancel).ConfigureAwait(false);
                left -= step;
                if (left > TimeSpan.FromSeconds(1))
                {
                    log.WaitLeft(what, Core.Text.Durations.Format(TimeSpan.FromSeconds(Math.Round(left.TotalSeconds))));
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }

    /// <summary>Joins a base URL (which may carry a path prefix) and a request path.</summary>
    public static string NewRunId(string planName, DateTimeOffset utc)
    {
        var slug = SlugChars().Replace(planName.ToLowerInvariant(), "-").Trim('-');
        if (slug.Length > 40)
        {
            slug = slug[..40];
        }

        return string.Create(CultureInfo.InvariantCulture, $"{utc.UtcDateTime:yyyyMMdd-HHmmss}-{(slug.Length == 0 ? "run" : slug)}-{Random.Shared.Next(0x10000):x4}");
    }

    /// <summary>Where and when a run happened: this machine, this tool, the targets' URLs.</summary>
    public static RunEnvironment Environment(DateTimeOffset started, DateTimeOffset ended, IReadOnlyDictionary<string, Uri> urls) => new()
    {
        ToolVersion = ToolInfo.Version,
        Machine = System.Environment.MachineName,
        Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        Cores = System.Environment.ProcessorCount,
        StartedUtc = started,
        EndedUtc = ended,
        Targets = urls.ToDictionary(kv => kv.Key, kv => PlanRedactor.RedactUrl(kv.Value), StringComparer.Ordinal),
    };

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex SlugChars();
}
