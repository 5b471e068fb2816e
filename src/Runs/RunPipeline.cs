using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Text.RegularExpressions;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Constellation.Runs.Local;

namespace Constellation.Runs;

/// <summary>Where a run writes, what it is called, and who else listens to it.</summary>
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

    /// <summary>The host's own listeners (a progress view, live metrics, the service's state), after the run's own.</summary>
    public IReadOnlyList<IRunListener> Listeners { get; init; } = [];

    /// <summary>Who started the run and how: <c>alice via api</c>, <c>schedule via quartz</c>, <c>cli</c>.</summary>
    public string? StartedBy { get; init; }

    /// <summary>Asked at the end of a cancelled run: who cancelled it (recorded in its journal and run.json).</summary>
    public Func<string?>? CancelledBy { get; init; }

    /// <summary>Spread the load over several agents (--agents N); null: this process sends it all.</summary>
    public AgentRunOptions? Agents { get; init; }

    /// <summary>Where the plan's <c>${env:…}</c> and <c>${file:…}</c> references are resolved, at the run's start. Default: this process.</summary>
    public ISecretSource Secrets { get; init; } = new SecretSource();
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
/// One run end to end — the run boundary the CLI and the service both host: journal the run from its first moment,
/// launch local targets, observe, drive the executor (the local engine or N agents) with the run's listeners (stop
/// conditions, live gate, journal, the host's own), then build run.json from the journal, judge the gate, and store
/// the outputs. A run killed at any point leaves its journal, from which <c>report RUN-DIR</c> builds the record.
/// </summary>
public sealed partial class RunPipeline(TimeProvider time, ILogger log)
{
    public async Task<RunOutcome> RunAsync(Plan plan, RunOptions options, CancellationToken cancel, CancellationToken abort = default)
    {
        var startedUtc = time.GetUtcNow();
        var runId = options.RunId ?? NewRunId(plan.Name, startedUtc);
        var localStore = new Reports.Stores.LocalRunStore(options.OutputRoot, log);
        var dir = localStore.DirectoryFor(runId);
        Directory.CreateDirectory(dir);
        using var journal = Reports.Journal.RunJournalWriter.Create(dir, JournalStart(runId, plan, startedUtc, options), time);
        log.RunStarting(runId, plan.Name, plan.Scenarios.Count, Core.Text.Durations.Format(plan.MaxDuration));

        RunEnd? end = null;
        var status = RunStatus.Completed;
        string? error = null;
        LocalTargets? local = null;
        try
        {
            // The load is sent from a copy of the plan with its secrets resolved; everything recorded comes from the
            // plan as written (references, never values).
            var resolved = SecretReferences.Resolve(plan, options.Secrets);
            local = await LocalTargets.StartAsync(resolved, Path.Combine(dir, "logs"), log, cancel).ConfigureAwait(false);
            var urls = resolved.Targets.Values.ToDictionary(t => t.Name, t => local.Urls.TryGetValue(t.Name, out var u) ? u : t.BaseUrl!, StringComparer.Ordinal);
            var written = plan.Targets.Values.ToDictionary(t => t.Name, t => local.Urls.TryGetValue(t.Name, out var u) ? u : t.BaseUrl!, StringComparer.Ordinal);
            var scenarios = resolved.Scenarios.Select((s, i) => ResolvedScenario.On(s, urls[s.Target], plan.Targets[s.Target].InsecureSkipTlsVerify) with
            {
                DisplayUrl = PlanRedactor.RedactUrl(ResolvedScenario.Combine(written[s.Target], plan.Scenarios[i].Request.Path)),
            }).ToList();
            await using var observer = StartObserver(plan, urls, local);
            if (observer is not null && plan.Observe!.Baseline > TimeSpan.Zero)
            {
                log.Baseline(Core.Text.Durations.Format(plan.Observe.Baseline));

                // The baseline is journaled as it goes (counted from the observer's start): a run killed in it keeps it.
                var recorder = observer.Recorder;
                await WaitAsync(plan.Observe.Baseline, "baseline", cancel, () => Listeners.JournalListener.Observed(journal, recorder, recorder.OriginUtc, recorder.OriginUtc)).ConfigureAwait(false);
            }

            var listeners = new List<IRunListener> { new Listeners.StopConditionsListener(time) };
            var liveGate = new Listeners.LiveGateListener(plan);
            if (!liveGate.IsEmpty)
            {
                listeners.Add(liveGate);
            }

            listeners.Add(new Listeners.JournalListener(journal, written, observer?.Recorder));
            listeners.AddRange(options.Listeners);
            var all = new RunListeners(listeners, log);
            if (options.Agents is { } agents)
            {
                var exchange = agents.Exchange?.Invoke(dir, runId) ?? new Distributed.FolderExchange(Path.Combine(dir, ExchangeFolder));
                try
                {
                    await using var launcher = agents.Launcher(dir);
                    end = await new Distributed.AgentCoordinator(time, log, new Distributed.AgentRun(runId, plan, urls, agents.Distribution, exchange, launcher) { Secrets = options.Secrets }).ExecuteAsync(scenarios, all, cancel, abort).ConfigureAwait(false);
                }
                finally
                {
                    // The exchange lives as long as its run: nothing of it is kept (or served) afterwards.
                    await DeleteExchangeAsync(exchange).ConfigureAwait(false);
                    exchange.Dispose();
                }

                foreach (var problem in end.Distribution?.Problems ?? [])
                {
                    log.Degraded(problem);
                }
            }
            else
            {
                end = await new LoadEngine(time).ExecuteAsync(scenarios, all, cancel, abort).ConfigureAwait(false);
            }

            if (end.AbortedBy is { } why)
            {
                log.AbortedOnFail(why);
            }

            if (observer is not null && plan.Observe!.Cooldown > TimeSpan.Zero && !cancel.IsCancellationRequested)
            {
                log.Cooldown(Core.Text.Durations.Format(plan.Observe.Cooldown));
                var recorder = observer.Recorder;
                var loadStart = end.LoadStartUtc;
                await WaitAsync(plan.Observe.Cooldown, "cooldown", cancel, () => Listeners.JournalListener.Observed(journal, recorder, loadStart, origin: null)).ConfigureAwait(false);
            }

            if (observer is not null)
            {
                var observed = await observer.StopAsync(end.LoadStartUtc, CancellationToken.None).ConfigureAwait(false);
                journal.Append(new Reports.Journal.JournalObservation { Observation = observed.Observation, Series = observed.Series, Events = observed.Events });
                foreach (var gap in observed.Observation.Gaps)
                {
                    log.ObserverGap(gap.Sampler, gap.FromSeconds, gap.ToSeconds, gap.Reason);
                }
            }

            status = end.Cancelled ? RunStatus.Cancelled : RunStatus.Completed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever stopped the run, it ends here with its journal's end line and its record: a failure is
            // recorded as one, never left to look like a kill (an engine or listener bug lands here too).
            status = e is OperationCanceledException ? RunStatus.Cancelled : RunStatus.Failed;
            error = e is LaunchException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException
                or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or TimeoutException
                ? e.Message
                : $"an unexpected error: {e.Message}";
            if (error != e.Message)
            {
                log.RunFailedUnexpectedly(e);
            }
        }
        finally
        {
            if (local is not null)
            {
                await local.DisposeAsync().ConfigureAwait(false);
            }
        }

        journal.Append(new Reports.Journal.JournalEnd
        {
            Status = status,
            EndedUtc = end?.EndedUtc ?? time.GetUtcNow(),
            Error = error,
            AbortedBy = end?.AbortedBy,
            CancelledBy = status == RunStatus.Cancelled ? options.CancelledBy?.Invoke() : null,
            Scenarios = [.. (end?.Scenarios ?? []).Select(e => new Reports.Journal.JournalScenarioEnd(e.Name, e.StartOffsetSeconds, e.DurationSeconds, e.EndReason) { Failures = e.Failures })],
            Distribution = end?.Distribution,
            GeneratorBottleneck = end?.GeneratorBottleneck ?? false,
            GeneratorWarnings = end?.GeneratorWarnings ?? [],
        });

        // run.json is built from the journal, as `report RUN-DIR` builds it after a kill.
        var record = Reports.Journal.RunJournal.Read(dir);
        if (await GateAsync(record, plan, options, dir, end?.AbortedBy).ConfigureAwait(false) is { } gate)
        {
            journal.Append(new Reports.Journal.JournalGate { Gate = gate });
            record = record with { Gate = gate };
        }

        // Every store, the local folder first; the others copy what it wrote. A failing store never costs
        // the others their copy; every status goes into the local run.json. A second Ctrl+C (abort) stops the
        // remote stores, never the local outputs.
        var statuses = new List<StoreStatus>();
        foreach (var store in options.Stores.Prepend(localStore))
        {
            var stored = await store.StoreAsync(dir, record, store == localStore ? CancellationToken.None : abort).ConfigureAwait(false);
            if (!stored.Ok)
            {
                log.StoreFailed(stored.Location, stored.Error);
            }

            statuses.Add(stored);
        }

        journal.Append(new Reports.Journal.JournalStores { Stores = statuses });
        record = record with { Stores = statuses };
        await new Reports.Writers.RunJsonWriter().WriteAsync(record, dir, CancellationToken.None).ConfigureAwait(false);
        if (!statuses.Any(s => s.Ok))
        {
            record = record with { Status = RunStatus.Failed, Error = record.Error ?? "the run could not be stored anywhere" };
        }

        return new RunOutcome(record, dir);
    }

    /// <summary>A distributed run's exchange under its run folder (when it is a folder).</summary>
    public const string ExchangeFolder = "agents";

    private static async Task DeleteExchangeAsync(Distributed.IExchange exchange)
    {
        try
        {
            await exchange.DeleteAllAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or OperationCanceledException or TimeoutException)
        {
            // Best effort (its secrets are references, never values): a failure to clean up never replaces how the run went.
        }
    }

    private static Reports.Journal.JournalStart JournalStart(string runId, Plan plan, DateTimeOffset startedUtc, RunOptions options) => new()
    {
        RunId = runId,
        PlanName = plan.Name,
        PlanText = plan.SourceText is { } text ? PlanRedactor.Redact(text) : null,
        StartedUtc = startedUtc,
        ToolVersion = ToolInfo.Version,
        Machine = System.Environment.MachineName,
        Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        Cores = System.Environment.ProcessorCount,
        Tags = options.Tags,
        StartedBy = options.StartedBy,
    };

    /// <summary>Judges the run against the plan's thresholds (with the baseline run, for regressions), on every second of its journal, and logs the verdict.</summary>
    private async Task<GateResult?> GateAsync(RunRecord record, Plan plan, RunOptions options, string dir, string? abortedBy)
    {
        if (!plan.AllThresholds.Any() && plan.Validity is null && record.Distribution is not { Degraded: true })
        {
            return null;
        }

        RunRecord? baseline = null;
        Core.Gate.SecondsOf? baselineSeconds = null;
        string? unreadable = null;
        if (plan.Baseline is { } wanted && plan.AllThresholds.Any(t => t.Threshold.Regression))
        {
            // With an S3 store the bucket's runs count too: a fresh CI workspace finds last night's baseline.
            var remote = options.Stores.OfType<Reports.History.IRemoteRuns>().FirstOrDefault();
            Reports.History.Baselines.Found found;
            try
            {
                found = await Reports.History.Baselines.ResolveAsync(options.OutputRoot, wanted, plan.Name, record.RunId, CancellationToken.None, remote).ConfigureAwait(false);
            }
            catch (Exception e) // with no token here, a cancellation is a timeout too
            {
                // A bucket that cannot be read, or a damaged or foreign baseline record: the regressions cannot be
                // judged, and a gate that could not judge them must not pass — the run is invalid, and still written.
                unreadable = $"the baseline ({wanted}) could not be read, so its regression thresholds were not judged: {e.Message}";
                found = new Reports.History.Baselines.Found(null, unreadable);
            }

            baseline = found.Record;
            if (baseline is null)
            {
                log.BaselineMissing(found.Message);
            }
            else
            {
                log.BaselineFound($"{baseline.RunId} ({wanted})");
                if (found.Directory is { } baselineDir && Reports.Journal.RunJournal.Exists(baselineDir))
                {
                    baselineSeconds = scope => Reports.Journal.RunJournal.Seconds(baselineDir, scope);
                }
            }
        }

        Core.Trends.HistoryOf? history = null;
        if (plan.AllThresholds.Any(t => t.Threshold.Change))
        {
            // The plan's stored runs, the bucket's too: a fresh CI workspace judges tonight against every night before.
            try
            {
                var stored = await Reports.History.RunCatalog.LoadAsync(options.OutputRoot, options.Stores.OfType<Reports.History.IRemoteRuns>().FirstOrDefault(), CancellationToken.None).ConfigureAwait(false);
                history = Reports.History.RunTrends.HistoryFor(stored, Reports.History.RunSummary.From(record));
            }
            catch (Exception e)
            {
                var why = $"the plan's stored runs could not be read, so its change thresholds were not judged: {e.Message}";
                unreadable = unreadable is null ? why : $"{unreadable}; {why}";
            }
        }

        var gate = Core.Gate.GateEvaluator.Evaluate(record, plan, baseline, abortedBy, scope => Reports.Journal.RunJournal.Seconds(dir, scope), baselineSeconds, history);
        if (gate is null)
        {
            return null;
        }

        if (unreadable is not null)
        {
            gate = gate with { Verdict = GateResult.Invalid, InvalidReasons = [.. gate.InvalidReasons, unreadable] };
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
        return gate;
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
    /// <summary>Waits (the baseline, the cooldown), saying every 30 s how long is left and calling <paramref name="everySecond"/> each second.</summary>
    private async Task WaitAsync(TimeSpan duration, string what, CancellationToken cancel, Action? everySecond = null)
    {
        var end = time.GetTimestamp() + (long)(duration.TotalSeconds * time.TimestampFrequency);
        var said = time.GetTimestamp();
        try
        {
            while (time.GetTimestamp() < end)
            {
                var left = TimeSpan.FromSeconds((end - time.GetTimestamp()) / (double)time.TimestampFrequency);
                var step = left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);
                await Task.Delay(step, time, cancel).ConfigureAwait(false);
                everySecond?.Invoke();
                left -= step;
                if (left > TimeSpan.FromSeconds(1) && time.GetElapsedTime(said) >= TimeSpan.FromSeconds(30))
                {
                    said = time.GetTimestamp();
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

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex SlugChars();
}
