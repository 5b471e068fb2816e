using System.Globalization;
using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Microsoft.Extensions.Logging;

namespace Constellation.Runs.Distributed;

/// <summary>How a run is spread over agents.</summary>
public sealed record DistributionOptions
{
    /// <summary>One weight per agent (equal weights: an equal share each).</summary>
    public required IReadOnlyList<int> Weights { get; init; }

    /// <summary>Time from writing the assignment to the common start: enough for every agent to start. Default: 5s.</summary>
    public TimeSpan StartLead { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>An agent that reports no second for this long past when it was due is lost. Default: 10s.</summary>
    public TimeSpan LostAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An agent whose coordinator's heartbeat stands still this long stops on its own. Default: 10s.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>What a distributed run is: the run, its plan and targets, how it is split, where the agents meet and how they start.</summary>
public sealed record AgentRun(string RunId, Plan Plan, IReadOnlyDictionary<string, Uri> Targets, DistributionOptions Distribution, IExchange Exchange, IAgentLauncher Launcher)
{
    /// <summary>Where the plan's secret references are resolved (to hand to the agents through their environment).</summary>
    public ISecretSource Secrets { get; init; } = new SecretSource();
}

/// <summary>
/// The distributed executor: runs a plan on N agents. Writes the assignment (secrets stay in the agents'
/// environment), starts them, beats the lease, merges their seconds live as they arrive (exact histogram addition)
/// and hands each merged second to the run's listeners, passes their stops on to the agents, notices an agent that
/// fails or goes quiet, and at the end records each agent's part and the share of the load that is missing. It keeps
/// per agent only running totals: memory does not grow with the run's length.
/// </summary>
public sealed class AgentCoordinator(TimeProvider time, ILogger log, AgentRun run) : IRunExecutor
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(1);

    /// <summary>After a second Ctrl+C, how long the agents get to write their last seconds before the run ends without them.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(3);

    private HashSet<string> _requestKeys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _stops = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _stopLabels = new(StringComparer.Ordinal);
    private readonly Plan _plan = run.Plan;
    private readonly DistributionOptions _options = run.Distribution;
    private readonly IExchange _exchange = run.Exchange;
    private readonly IAgentLauncher _launcher = run.Launcher;
    private string? _stopRunReason;
    private bool _controlChanged;

    public string Mode => _launcher.Mode;

    public void StopScenario(string scenario, int second, string label)
    {
        lock (_lock)
        {
            if (_stops.TryAdd(scenario, second))
            {
                _stopLabels[scenario] = label;
                _controlChanged = true;
                log.MergedBreakingPoint(scenario, label, second);
            }
        }
    }

    public void StopRun(string reason)
    {
        lock (_lock)
        {
            if (_stopRunReason is null)
            {
                _stopRunReason = reason;
                _controlChanged = true;
            }
        }
    }

    public async Task<RunEnd> ExecuteAsync(IReadOnlyList<ResolvedScenario> scenarios, IRunListener listener, CancellationToken cancel, CancellationToken abort)
    {
        var weights = _options.Weights;
        var startAt = time.GetUtcNow() + _options.StartLead;
        var planText = _plan.SourceText ?? throw new InvalidOperationException("a distributed run needs the plan's text to hand to its agents");
        var split = AgentSecrets.Extract(planText, run.Targets, run.Secrets);
        await _exchange.PutAsync(
            AgentProtocol.AssignmentKey,
            new AgentAssignment
            {
                RunId = run.RunId,
                PlanText = split.PlanText,
                TargetUrls = split.TargetUrls,
                TargetUserInfo = split.TargetUserInfo,
                Weights = weights,
                StartAtUtc = startAt,
                Lease = _options.Lease,
                Data = _plan.Scenarios.Where(s => s.Data?.Rows is not null).ToDictionary(s => s.Name, s => s.Data!.Rows!, StringComparer.Ordinal),
            },
            cancel).ConfigureAwait(false);
        long heartbeat = 0;
        var control = new AgentControl { Heartbeat = heartbeat };
        await _exchange.PutAsync(AgentProtocol.ControlKey, control, cancel).ConfigureAwait(false);
        log.DistributedStart(weights.Count, _launcher.Mode, string.Join("/", weights.Select(w => Percent((double)w / weights.Sum()))), _exchange.Location, startAt);

        // No agent outlives the plan by much, whatever becomes of this process.
        var deadline = startAt + _plan.MaxDuration + (_plan.Scenarios.Count == 0 ? TimeSpan.Zero : _plan.Scenarios.Max(s => s.Request.Timeout)) + _options.LostAfter + TimeSpan.FromSeconds(30);
        await _launcher.StartAsync(run.RunId, weights.Count, _exchange.Location, split.Environment, deadline - time.GetUtcNow() + TimeSpan.FromMinutes(5), cancel).ConfigureAwait(false);

        var tracks = weights.Select((w, i) => new Track(i, w, new LoadShare(i, weights))).ToList();
        var merged = scenarios.ToDictionary(s => s.Spec.Name, s => new MergedScenario(s.Spec), StringComparer.Ordinal);
        _requestKeys = [.. scenarios.SelectMany(s => RequestLabels.Distinct(s.Spec).Select(l => RequestLabels.Key(s.Spec.Name, l)))];
        listener.OnStart(new RunStart(startAt, scenarios), new ExecutorControl(this));
        bool cancelSent = false;
        int next = 0;
        long lastBeat = time.GetTimestamp();
        long? abortedAt = null;

        while (true)
        {
            // A second Ctrl+C: the agents (which got it too, or get the cancel now) cut their requests off and write
            // their last seconds, in-flight requests counted as cancelled; they get a short grace to do so.
            if (abort.IsCancellationRequested && abortedAt is null)
            {
                abortedAt = time.GetTimestamp();
            }

            if (abortedAt is { } since && time.GetElapsedTime(since) > AbortGrace)
            {
                foreach (var t in tracks.Where(t => !t.Terminal))
                {
                    t.End(AgentState.Cancelled, "stopped by a second Ctrl+C before it reported its last seconds");
                }
            }

            bool changed = false;
            if ((cancel.IsCancellationRequested || abortedAt is not null) && !cancelSent)
            {
                cancelSent = true;
                control = control with { Cancel = true, Reason = "cancelled on the coordinator" };
                changed = true;
            }

            if (abortedAt is not null && !control.Abort)
            {
                control = control with { Abort = true };
                changed = true;
            }

            foreach (var t in tracks.Where(t => !t.Terminal))
            {
                // The state is taken before the seconds are read: an agent seen to have exited wrote all of them already.
                var state = _launcher.StateOf(t.Index);
                await ReadSecondsAsync(t).ConfigureAwait(false);
                if (state.State == AgentProcessState.Exited && await TryEndTrackAsync(t, state, control.Cancel).ConfigureAwait(false))
                {
                    continue;
                }

                var due = (int)Math.Floor((time.GetUtcNow() - startAt).TotalSeconds) - 1; // the run second every agent should have reported by now
                if (due - t.LastSecond > _options.LostAfter.TotalSeconds)
                {
                    var what = t.LastSecond < 0 ? $"has not reported a second {Core.Text.Durations.Format(_options.LostAfter)} after the common start ({state.State.ToString().ToLowerInvariant()})" : $"has reported nothing since second {t.LastSecond} for {Core.Text.Durations.Format(_options.LostAfter)}";
                    t.End(AgentState.Lost, what);
                    log.AgentLost(t.Index, what);
                }
            }

            next = Emit(tracks, merged, next, listener);
            lock (_lock)
            {
                if (_controlChanged)
                {
                    _controlChanged = false;
                    control = control with
                    {
                        Stops = new Dictionary<string, int>(_stops, StringComparer.Ordinal),
                        Cancel = control.Cancel || _stopRunReason is not null,
                        Reason = control.Reason ?? _stopRunReason,
                    };
                    changed = true;
                }
            }

            if (changed || time.GetElapsedTime(lastBeat) >= HeartbeatEvery)
            {
                // The heartbeat is the agents' lease: it moves every second while this coordinator lives.
                lastBeat = time.GetTimestamp();
                control = control with { Heartbeat = ++heartbeat };
                await PutControlAsync(control).ConfigureAwait(false);
            }

            if (tracks.All(t => t.Terminal) && !tracks.Any(t => t.Pending.Count > 0))
            {
                break;
            }

            if (time.GetUtcNow() > deadline)
            {
                foreach (var t in tracks.Where(t => !t.Terminal))
                {
                    t.End(AgentState.Lost, $"still running at {deadline:HH:mm:ss} UTC, well past the plan's end");
                }

                continue; // emit what is left, then stop
            }

            try
            {
                await Task.Delay(Tick, time, abortedAt is null ? abort : CancellationToken.None).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _launcher.StopAsync(CancellationToken.None).ConfigureAwait(false);
        var end = Finish(scenarios, tracks, merged, startAt, cancel.IsCancellationRequested, next);
        listener.OnEnd(end);
        return end;
    }

    private async Task PutControlAsync(AgentControl control)
    {
        try
        {
            await _exchange.PutAsync(AgentProtocol.ControlKey, control, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or Amazon.Runtime.AmazonServiceException or HttpRequestException or OperationCanceledException)
        {
            log.ExchangeWriteFailed(AgentProtocol.ControlKey, e.Message); // tried again next tick; the agents' lease covers a gap
        }
    }

    /// <summary>Ends the track of an agent whose process or pod exited, from what it wrote; false when the exchange cannot be read now (tried again next tick).</summary>
    private async Task<bool> TryEndTrackAsync(Track t, AgentProcessInfo state, bool coordinatorCancelled)
    {
        AgentStatus? status;
        AgentOutcome? written;
        try
        {
            status = await _exchange.GetAsync<AgentStatus>(AgentProtocol.StatusKey(t.Index), CancellationToken.None).ConfigureAwait(false);
            written = await _exchange.GetAsync<AgentOutcome>(AgentProtocol.ResultKey(t.Index), CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            log.ExchangeReadFailed(AgentProtocol.ResultKey(t.Index), e.Message);
            return false;
        }

        t.Host ??= status?.Host;
        if (written is { } outcome)
        {
            t.Outcome = outcome;
            if (outcome.Orphaned)
            {
                t.End(AgentState.Failed, status?.Error ?? "it stopped on its own (its coordinator was silent)");
            }
            else if (outcome.Cancelled && !coordinatorCancelled)
            {
                // Stopped by its own SIGTERM (a pod evicted, a node drained), not by this coordinator: its share after that is missing.
                t.End(AgentState.Failed, "it was stopped before the end (SIGTERM or Ctrl+C on the agent itself)");
            }
            else
            {
                t.End(outcome.Generator.Bottleneck ? AgentState.Saturated : AgentState.Completed, outcome.Generator.Bottleneck ? string.Join("; ", outcome.Generator.Warnings) : null);
            }
        }
        else
        {
            var why = status?.Error ?? state.Reason ?? $"exited with code {state.ExitCode}";
            t.End(why.Contains("too late", StringComparison.Ordinal) ? AgentState.Late : AgentState.Failed, why);
        }

        log.AgentEnded(t.Index, t.State.Name(), t.Error is null ? string.Empty : ": " + t.Error);
        return true;
    }

    private async Task ReadSecondsAsync(Track t)
    {
        IReadOnlyList<string> keys;
        try
        {
            keys = await _exchange.ListAsync(AgentProtocol.SecondsPrefix(t.Index), t.LastKey, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or Amazon.Runtime.AmazonServiceException or HttpRequestException or OperationCanceledException)
        {
            log.ExchangeReadFailed(AgentProtocol.SecondsPrefix(t.Index), e.Message); // read again next tick
            return;
        }

        foreach (var key in keys)
        {
            AgentSecond? second;
            try
            {
                second = await _exchange.GetAsync<AgentSecond>(key, CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                log.ExchangeReadFailed(key, e.Message); // read from here again next tick
                break;
            }

            if (second is null)
            {
                break;
            }

            t.Pending[second.RunSecond] = second;
            t.LastSecond = Math.Max(t.LastSecond, second.RunSecond);
            t.LastKey = key;
        }
    }

    /// <summary>Merges every run second all agents still running have reported, in order, and hands it to the listeners.</summary>
    private int Emit(List<Track> tracks, Dictionary<string, MergedScenario> merged, int next, IRunListener listener)
    {
        while (tracks.All(t => t.Terminal || t.Pending.ContainsKey(next)) && tracks.Any(t => t.Pending.ContainsKey(next)))
        {
            var parts = tracks.Where(t => t.Pending.ContainsKey(next)).Select(t => (Track: t, Second: t.Pending[next])).ToList();
            foreach (var (t, second) in parts)
            {
                t.Pending.Remove(next);
                t.Count(second);
            }

            var samples = new List<ScenarioSecond>();
            foreach (var group in parts.SelectMany(p => p.Second.Samples).GroupBy(s => (s.Scenario, s.Second)))
            {
                if (!merged.TryGetValue(group.Key.Scenario, out var scenario))
                {
                    continue;
                }

                var sample = RunMerger.MergeSecond(group.Key.Second, [.. group.Select(g => g.Sample)]);
                samples.Add(new ScenarioSecond(group.Key.Scenario, group.Key.Second, sample));
                scenario.Add(sample);
            }

            // The requests' own seconds, merged the same way (for the keys the plan's sequences have).
            var requests = new List<ScenarioSecond>();
            foreach (var group in parts.SelectMany(p => p.Second.Requests).GroupBy(s => (s.Scenario, s.Second)).Where(g => _requestKeys.Contains(g.Key.Scenario)))
            {
                requests.Add(new ScenarioSecond(group.Key.Scenario, group.Key.Second, RunMerger.MergeSecond(group.Key.Second, [.. group.Select(g => g.Sample)])));
            }

            // The generator's health in a second: the busiest agent's (a run is limited by its most limited agent).
            var generators = parts.Select(p => p.Second.Generator).OfType<GeneratorSecond>().ToList();
            var generator = generators.Count == 0 ? null : GeneratorHealthAssessor.Combine(next, generators, sumInFlight: true);
            Dictionary<string, string> labels;
            lock (_lock)
            {
                labels = new Dictionary<string, string>(_stopLabels, StringComparer.Ordinal);
            }

            var progress = new EngineProgress(TimeSpan.FromSeconds(next + 1), merged.Values.Select(m => m.Spec.StartAfter + m.Spec.Load.Duration).DefaultIfEmpty(TimeSpan.Zero).Max(), [.. merged.Values.Select(m => m.Progress(next, labels.GetValueOrDefault(m.Spec.Name)))], generator?.CpuPercent ?? 0);
            listener.OnSecond(new RunSecond(next, samples, generator, progress) { Requests = requests });
            next++;
        }

        return next;
    }

    private RunEnd Finish(IReadOnlyList<ResolvedScenario> scenarios, List<Track> tracks, Dictionary<string, MergedScenario> merged, DateTimeOffset startAt, bool cancelled, int mergedSeconds)
    {
        Dictionary<string, int> stops;
        string? abortedBy;
        lock (_lock)
        {
            stops = new Dictionary<string, int>(_stops, StringComparer.Ordinal);
            abortedBy = _stopRunReason;
        }

        var ends = new List<ScenarioEnd>();
        var missing = new Dictionary<string, double>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var resolved in scenarios)
        {
            var spec = resolved.Spec;
            var m = merged[spec.Name];
            var completedReasons = tracks.Select(t => t.Outcome?.Scenarios.FirstOrDefault(s => s.Name == spec.Name)?.EndReason).OfType<EndReason>().ToList();
            var reason = stops.ContainsKey(spec.Name) ? EndReason.Stopped
                : abortedBy is not null ? EndReason.Aborted
                : completedReasons.Count == 0 ? (cancelled ? EndReason.Cancelled : EndReason.Failed)
                : completedReasons.Where(r => r != EndReason.Completed).DefaultIfEmpty(EndReason.Completed).First();
            ends.Add(new ScenarioEnd(spec.Name, spec.StartAfter.TotalSeconds, m.Seconds, reason)
            {
                Failures = tracks.SelectMany(t => t.Outcome?.Scenarios.FirstOrDefault(s => s.Name == spec.Name)?.Failures ?? new Dictionary<string, long>())
                    .GroupBy(f => f.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(f => f.Value), StringComparer.Ordinal),
            });

            // The planned load of the seconds the scenario ran (up to its breaking point), and the part of it lost
            // with agents that ended early.
            int startSecond = (int)Math.Round(spec.StartAfter.TotalSeconds);
            int lastSecond = stops.TryGetValue(spec.Name, out var stop) ? stop : (cancelled || abortedBy is not null ? mergedSeconds - 1 - startSecond : (int)Math.Ceiling(spec.Load.Duration.TotalSeconds) - 1);
            double planned = 0, lost = 0;
            for (int s = 0; s <= lastSecond; s++)
            {
                planned += LoadShare.Whole.PlannedIn(spec.Load.Model, spec.Load.Curve, s);
                foreach (var t in tracks.Where(t => t.State is not (AgentState.Completed or AgentState.Saturated) && t.LastSecond < startSecond + s))
                {
                    lost += t.Share.PlannedIn(spec.Load.Model, spec.Load.Curve, s);
                }
            }

            if (lost > 0 && planned > 0)
            {
                missing[spec.Name] = Math.Round(lost / planned, 4);
            }
        }

        var summaries = new List<AgentSummary>();
        foreach (var t in tracks)
        {
            var latency = t.Latency.TotalCount == 0 ? null : t.Latency.Summarise();
            var generator = t.Outcome?.Generator;
            summaries.Add(new AgentSummary
            {
                Index = t.Index,
                Weight = t.Weight,
                Share = Math.Round(t.Share.Fraction, 4),
                State = t.State,
                Host = t.Outcome?.Host ?? t.Host,
                Error = t.Error,
                LastSecond = t.LastSecond,
                Requests = t.Requests,
                Errors = t.Errors,
                Rps = t.Seconds == 0 ? 0 : Math.Round(t.Requests / (double)t.Seconds, 2),
                P95Ms = latency?.P95Ms,
                P99Ms = latency?.P99Ms,
                MaxCpuPercent = generator?.MaxCpuPercent ?? t.MaxCpu,
                MaxPacerLagMs = generator?.MaxPacerLagMs ?? t.MaxLag,
                Bottleneck = generator?.Bottleneck ?? false,
            });
            if (t.State != AgentState.Completed)
            {
                var lostText = missing.Count == 0 ? string.Empty : "; the run did not send " + string.Join(", ", missing.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{Percent(kv.Value)} of {kv.Key}'s planned load")));
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"agent {t.Index} ({Percent(t.Share.Fraction)} of the load) {t.State.Name()}{(t.State == AgentState.Saturated ? string.Empty : t.LastSecond < 0 ? " before its first second" : $" after second {t.LastSecond}")}: {t.Error}{(t.State == AgentState.Saturated ? string.Empty : lostText)}"));
            }
        }

        return new RunEnd
        {
            LoadStartUtc = startAt,
            EndedUtc = time.GetUtcNow(),
            Cancelled = cancelled,
            AbortedBy = abortedBy,
            Scenarios = ends,
            Distribution = new Distribution { Mode = _launcher.Mode, Exchange = _exchange.Location, Agents = summaries, MissingShare = missing, Problems = problems },
            GeneratorBottleneck = tracks.Any(t => t.Outcome?.Generator.Bottleneck == true),
            GeneratorWarnings = [.. tracks.Where(t => t.Outcome is not null).SelectMany(t => t.Outcome!.Generator.Warnings.Select(w => $"agent {t.Index}: {w}"))],
        };
    }

    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0.#}%");

    /// <summary>One agent as the coordinator follows it: what it has sent but not merged yet, and running totals.</summary>
    private sealed class Track(int index, int weight, LoadShare share)
    {
        public int Index { get; } = index;
        public int Weight { get; } = weight;
        public LoadShare Share { get; } = share;
        public string? LastKey { get; set; }
        public SortedDictionary<int, AgentSecond> Pending { get; } = [];
        public int LastSecond { get; set; } = -1;
        public AgentState State { get; private set; } = AgentState.Running;
        public string? Error { get; private set; }
        public string? Host { get; set; }
        public AgentOutcome? Outcome { get; set; }
        public bool Terminal { get; private set; }

        public HistogramCounts Latency { get; } = new();
        public long Requests { get; private set; }
        public long Errors { get; private set; }
        public int Seconds { get; private set; }
        public double MaxCpu { get; private set; }
        public double MaxLag { get; private set; }

        public void End(AgentState state, string? error)
        {
            State = state;
            Error = error;
            Terminal = true;
        }

        /// <summary>Adds a second it reported to its running totals.</summary>
        public void Count(AgentSecond second)
        {
            Seconds++;
            foreach (var s in second.Samples)
            {
                Requests += s.Sample.Outcomes.Completed;
                Errors += s.Sample.Outcomes.Errors;
                if (s.Sample.LatencyHistogram is { } h)
                {
                    Latency.AddEncoded(h);
                }
            }

            MaxCpu = Math.Max(MaxCpu, second.Generator?.CpuPercent ?? 0);
            MaxLag = Math.Max(MaxLag, second.Generator?.PacerLagMaxMs ?? 0);
        }
    }

    /// <summary>One scenario on the merged view: how far it got, for progress.</summary>
    private sealed class MergedScenario(ScenarioSpec spec)
    {
        public ScenarioSpec Spec { get; } = spec;
        public SecondSample? Last { get; private set; }
        public long Requests { get; private set; }
        public long Errors { get; private set; }
        public int Seconds { get; private set; }

        public void Add(SecondSample sample)
        {
            Last = sample;
            Seconds = Math.Max(Seconds, sample.Second + 1);
            Requests += sample.Outcomes.Completed;
            Errors += sample.Outcomes.Errors;
        }

        public ScenarioProgress Progress(int runSecond, string? stopLabel)
        {
            var unit = Spec.Load.Unit;
            var elapsed = TimeSpan.FromSeconds(runSecond + 1) - Spec.StartAfter;
            bool done = elapsed >= Spec.Load.Duration || stopLabel is not null;
            string state = stopLabel is not null ? "broke" : Last is null ? "waiting" : done ? "done" : "running";
            string stage = stopLabel ?? (done ? "done" : Spec.Load.Curve.StageNameAt(elapsed));
            var last = done ? null : Last;
            return new ScenarioProgress(
                Spec.Name,
                state,
                stage,
                done || elapsed < TimeSpan.Zero ? 0 : Math.Round(Spec.Load.Curve.ValueAt(elapsed), 1),
                unit,
                last?.Started ?? 0,
                last?.Outcomes.Completed ?? 0,
                last?.Outcomes.Errors ?? 0,
                last?.Outcomes.Dropped ?? 0,
                last?.Latency.P95Ms ?? 0,
                Last?.InFlight ?? 0,
                Requests,
                Errors);
        }
    }
}
