using Microsoft.Extensions.Logging;
using System.Globalization;
using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Engine;

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
}

/// <summary>What the coordinator measured, as the engine would have, plus the agents' breakdown.</summary>
public sealed record DistributedResult(EngineResult Result, Distribution Distribution);

/// <summary>
/// Runs a plan on N agents: writes the assignment, starts them, merges their seconds live as they arrive (exact
/// histogram addition), judges breaking points and abortOnFail thresholds on the merged view and tells the
/// agents to stop, notices an agent that fails or goes quiet, and at the end merges their whole results into
/// one, recording the share of the load that is missing.
/// </summary>
public sealed class AgentCoordinator(TimeProvider time, ILogger log)
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);

    public async Task<DistributedResult> RunAsync(
        string runId,
        Plan plan,
        IReadOnlyList<ResolvedScenario> scenarios,
        IReadOnlyDictionary<string, Uri> urls,
        DistributionOptions options,
        IExchange exchange,
        IAgentLauncher launcher,
        Action<EngineProgress>? progress,
        LiveCheck? liveCheck,
        CancellationToken cancel,
        CancellationToken abort)
    {
        var weights = options.Weights;
        var startAt = time.GetUtcNow() + options.StartLead;
        var planText = plan.SourceText ?? throw new InvalidOperationException("a distributed run needs the plan's text to hand to its agents");
        await exchange.PutAsync(
            AgentProtocol.AssignmentKey,
            new AgentAssignment { RunId = runId, PlanText = planText, TargetUrls = urls.ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal), Weights = weights, StartAtUtc = startAt },
            cancel).ConfigureAwait(false);
        log.DistributedStart(weights.Count, launcher.Mode, string.Join("/", weights.Select(w => Percent((double)w / weights.Sum()))), exchange.Location, startAt);
        await launcher.StartAsync(runId, weights.Count, exchange.Location, cancel).ConfigureAwait(false);

        var tracks = weights.Select((w, i) => new Track(i, w, new LoadShare(i, weights))).ToList();
        var merged = scenarios.ToDictionary(s => s.Spec.Name, s => new MergedScenario(s.Spec), StringComparer.Ordinal);
        var control = new AgentControl();
        string? abortedBy = null;
        bool cancelSent = false;
        int next = 0;
        var deadline = startAt + plan.MaxDuration + (plan.Scenarios.Count == 0 ? TimeSpan.Zero : plan.Scenarios.Max(s => s.Request.Timeout)) + options.LostAfter + TimeSpan.FromSeconds(30);

        while (true)
        {
            if (abort.IsCancellationRequested)
            {
                foreach (var t in tracks.Where(t => !t.Terminal))
                {
                    t.End("failed", "stopped by a second Ctrl+C");
                }

                break;
            }

            if (cancel.IsCancellationRequested && !cancelSent)
            {
                cancelSent = true;
                control = control with { Cancel = true, Reason = "cancelled on the coordinator" };
                await exchange.PutAsync(AgentProtocol.ControlKey, control, CancellationToken.None).ConfigureAwait(false);
            }

            foreach (var t in tracks.Where(t => !t.Terminal))
            {
                // The state is taken before the seconds are read: an agent seen to have exited wrote all of them already.
                var state = launcher.StateOf(t.Index);
                await ReadSecondsAsync(exchange, t).ConfigureAwait(false);
                if (state.State == AgentProcessState.Exited)
                {
                    var status = await exchange.GetAsync<AgentStatus>(AgentProtocol.StatusKey(t.Index), CancellationToken.None).ConfigureAwait(false);
                    t.Host ??= status?.Host;
                    if (await exchange.GetAsync<AgentOutcome>(AgentProtocol.ResultKey(t.Index), CancellationToken.None).ConfigureAwait(false) is { } outcome)
                    {
                        t.Outcome = outcome;
                        if (outcome.Cancelled && !control.Cancel)
                        {
                            // Stopped by its own SIGTERM (a pod evicted, a node drained), not by this coordinator: its share after that is missing.
                            t.End("failed", "it was stopped before the end (SIGTERM or Ctrl+C on the agent itself)");
                        }
                        else
                        {
                            t.End(outcome.Generator.Bottleneck ? "saturated" : "completed", outcome.Generator.Bottleneck ? string.Join("; ", outcome.Generator.Warnings) : null);
                        }
                    }
                    else
                    {
                        var why = status?.Error ?? state.Reason ?? $"exited with code {state.ExitCode}";
                        t.End(why.Contains("too late", StringComparison.Ordinal) ? "late" : "failed", why);
                    }

                    log.AgentEnded(t.Index, t.State, t.Error is null ? string.Empty : ": " + t.Error);
                    continue;
                }

                var now = time.GetUtcNow();
                var due = (int)Math.Floor((now - startAt).TotalSeconds) - 1; // the run second every agent should have reported by now
                if (due - t.LastSecond > options.LostAfter.TotalSeconds)
                {
                    var what = t.LastSecond < 0 ? $"has not reported a second {Core.Text.Durations.Format(options.LostAfter)} after the common start ({state.State.ToString().ToLowerInvariant()})" : $"has reported nothing since second {t.LastSecond} for {Core.Text.Durations.Format(options.LostAfter)}";
                    t.End("lost", what);
                    log.AgentLost(t.Index, what);
                }
            }

            next = Emit(tracks, merged, next, ref control, ref abortedBy, progress, liveCheck, startAt, out bool controlChanged);
            if (controlChanged)
            {
                await exchange.PutAsync(AgentProtocol.ControlKey, control, CancellationToken.None).ConfigureAwait(false);
            }

            if (tracks.All(t => t.Terminal) && !tracks.Any(t => t.Pending.Count > 0))
            {
                break;
            }

            if (time.GetUtcNow() > deadline)
            {
                foreach (var t in tracks.Where(t => !t.Terminal))
                {
                    t.End("lost", $"still running at {deadline:HH:mm:ss} UTC, well past the plan's end");
                }

                continue; // emit what is left, then stop
            }

            try
            {
                await Task.Delay(Tick, time, abort).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await launcher.StopAsync(CancellationToken.None).ConfigureAwait(false);
        var endedUtc = time.GetUtcNow();
        return Finish(plan, scenarios, tracks, merged, options, exchange.Location, launcher.Mode, startAt, endedUtc, cancel.IsCancellationRequested, abortedBy, next);
    }

    private static async Task ReadSecondsAsync(IExchange exchange, Track t)
    {
        var keys = await exchange.ListAsync(AgentProtocol.SecondsPrefix(t.Index), t.LastKey, CancellationToken.None).ConfigureAwait(false);
        foreach (var key in keys)
        {
            if (await exchange.GetAsync<AgentSecond>(key, CancellationToken.None).ConfigureAwait(false) is not { } second)
            {
                break;
            }

            t.Pending[second.RunSecond] = second;
            t.Streamed.Add(second);
            t.LastSecond = Math.Max(t.LastSecond, second.RunSecond);
            t.LastKey = key;
        }
    }

    /// <summary>Merges every run second all agents still running have reported, in order, and judges it.</summary>
    private int Emit(List<Track> tracks, Dictionary<string, MergedScenario> merged, int next, ref AgentControl control, ref string? abortedBy, Action<EngineProgress>? progress, LiveCheck? liveCheck, DateTimeOffset startAt, out bool controlChanged)
    {
        controlChanged = false;
        while (tracks.All(t => t.Terminal || t.Pending.ContainsKey(next)) && tracks.Any(t => t.Pending.ContainsKey(next)))
        {
            var parts = tracks.Where(t => t.Pending.ContainsKey(next)).Select(t => t.Pending[next]).ToList();
            foreach (var t in tracks)
            {
                t.Pending.Remove(next);
            }

            var samples = new List<(string Scenario, int Second, SecondSample Sample)>();
            foreach (var group in parts.SelectMany(p => p.Samples).GroupBy(s => (s.Scenario, s.Second)))
            {
                if (!merged.TryGetValue(group.Key.Scenario, out var scenario))
                {
                    continue;
                }

                var sample = RunMerger.MergeSecond(group.Key.Second, [.. group.Select(g => g.Sample)]);
                samples.Add((group.Key.Scenario, group.Key.Second, sample));
                scenario.Last = sample;
                scenario.Requests += sample.Outcomes.Completed;
                scenario.Errors += sample.Outcomes.Errors;
                if (scenario.Monitor.BreakingPoint is null && !control.Cancel)
                {
                    var latency = sample.LatencyHistogram is { } h ? Histograms.Decode(h) : null;
                    if (scenario.Monitor.Observe(group.Key.Second, sample, latency, time.GetUtcNow()) is { } bp)
                    {
                        log.MergedBreakingPoint(scenario.Spec.Name, bp.Condition, bp.Observed, bp.OfferedAtFailure, bp.Unit);
                        control = control with { Stops = new Dictionary<string, int>(control.Stops, StringComparer.Ordinal) { [scenario.Spec.Name] = group.Key.Second } };
                        controlChanged = true;
                    }
                }
            }

            if (liveCheck is not null && abortedBy is null && liveCheck(next, samples) is { } reason)
            {
                abortedBy = reason;
                control = control with { Cancel = true, Reason = reason };
                controlChanged = true;
            }

            var cpu = parts.Select(p => p.Generator?.CpuPercent ?? 0).DefaultIfEmpty(0).Max();
            progress?.Invoke(new EngineProgress(TimeSpan.FromSeconds(next + 1), merged.Values.Select(m => m.Spec.StartAfter + m.Spec.Load.Duration).DefaultIfEmpty(TimeSpan.Zero).Max(), [.. merged.Values.Select(m => m.Progress(next))], cpu));
            next++;
        }

        return next;
    }

    private static DistributedResult Finish(Plan plan, IReadOnlyList<ResolvedScenario> scenarios, List<Track> tracks, Dictionary<string, MergedScenario> merged, DistributionOptions options, string exchange, string mode, DateTimeOffset startAt, DateTimeOffset endedUtc, bool cancelled, string? abortedBy, int mergedSeconds)
    {
        var results = new List<ScenarioResult>();
        var missing = new Dictionary<string, double>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var resolved in scenarios)
        {
            var spec = resolved.Spec;
            var m = merged[spec.Name];
            var parts = tracks.Select(t => t.PartOf(spec)).ToList();
            var result = RunMerger.MergeScenario(parts);
            var stopSecond = m.Monitor.StopSecond;
            var completedReasons = tracks.Where(t => t.Outcome is not null).Select(t => t.PartOf(spec).EndReason).ToList();
            result = result with
            {
                Url = PlanRedactor.RedactUrl(resolved.Url),
                StartOffsetSeconds = spec.StartAfter.TotalSeconds,
                BreakingPoint = m.Monitor.BreakingPoint,
                EndReason = m.Monitor.BreakingPoint is not null ? "stopped" : completedReasons.Count == 0 ? "failed" : completedReasons.FirstOrDefault(r => r != "completed") ?? "completed",
                Seconds = stopSecond is { } stop ? [.. result.Seconds.Select(s => s.Second > stop ? s with { Offered = 0 } : s)] : result.Seconds,
                LatencyLimits = [.. spec.StopWhen.Where(c => c.Metric is StopMetric.Percentile or StopMetric.Mean).Select(c => new LatencyLimit(c.Text, c.Threshold))],
            };
            results.Add(result);

            // The planned load of the seconds the scenario ran (up to its breaking point), and the part of it lost
            // with agents that ended early.
            int startSecond = (int)Math.Round(spec.StartAfter.TotalSeconds);
            int lastSecond = stopSecond ?? (cancelled || abortedBy is not null ? mergedSeconds - 1 - startSecond : (int)Math.Ceiling(spec.Load.Duration.TotalSeconds) - 1);
            double planned = 0, lost = 0;
            for (int s = 0; s <= lastSecond; s++)
            {
                var whole = LoadShare.Whole.PlannedIn(spec.Load.Model, spec.Load.Curve, s);
                planned += whole;
                foreach (var t in tracks.Where(t => t.State is not ("completed" or "saturated") && t.LastSecond < startSecond + s))
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
            var parts = scenarios.Select(s => t.PartOf(s.Spec)).ToList();
            var latency = Histograms.Merge(parts.Select(p => p.Totals.LatencyHistogram).OfType<string>().Select(Histograms.Decode));
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
                Requests = parts.Sum(p => p.Totals.Requests),
                Errors = parts.Sum(p => p.Totals.Outcomes.Errors),
                Rps = Math.Round(parts.Sum(p => p.Totals.Rps), 2),
                P95Ms = latency.TotalCount == 0 ? null : Histograms.Summarise(latency).P95Ms,
                P99Ms = latency.TotalCount == 0 ? null : Histograms.Summarise(latency).P99Ms,
                MaxCpuPercent = generator?.MaxCpuPercent ?? t.Streamed.Select(s => s.Generator?.CpuPercent ?? 0).DefaultIfEmpty(0).Max(),
                MaxPacerLagMs = generator?.MaxPacerLagMs ?? t.Streamed.Select(s => s.Generator?.PacerLagMaxMs ?? 0).DefaultIfEmpty(0).Max(),
                Bottleneck = generator?.Bottleneck ?? false,
            });
            if (t.State != "completed")
            {
                var lostText = missing.Count == 0 ? string.Empty : "; the run did not send " + string.Join(", ", missing.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{Percent(kv.Value)} of {kv.Key}'s planned load")));
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"agent {t.Index} ({Percent(t.Share.Fraction)} of the load) {t.State}{(t.State == "saturated" ? string.Empty : t.LastSecond < 0 ? " before its first second" : $" after second {t.LastSecond}")}: {t.Error}{(t.State == "saturated" ? string.Empty : lostText)}"));
            }
        }

        // The generator's health: per second, the busiest agent; a run is limited by its most limited agent.
        var seconds = tracks.SelectMany(t => t.Outcome?.Generator.Seconds ?? [.. t.Streamed.Select(s => s.Generator).OfType<GeneratorSecond>()])
            .GroupBy(g => g.Second)
            .OrderBy(g => g.Key)
            .Select(g => new GeneratorSecond(g.Key, g.Max(x => x.CpuPercent), g.Max(x => x.MachineCpuPercent), g.Max(x => x.PacerLagMaxMs), g.Sum(x => x.InFlight)))
            .ToList();
        var health = GeneratorHealthAssessor.Assess(seconds);
        health = health with
        {
            Bottleneck = health.Bottleneck || tracks.Any(t => t.Outcome?.Generator.Bottleneck == true),
            Warnings = [.. tracks.Where(t => t.Outcome is not null).SelectMany(t => t.Outcome!.Generator.Warnings.Select(w => $"agent {t.Index}: {w}"))],
        };

        var distribution = new Distribution { Mode = mode, Exchange = exchange, Agents = summaries, MissingShare = missing, Problems = problems };
        return new DistributedResult(new EngineResult(results, health, startAt, endedUtc, cancelled) { AbortedBy = abortedBy }, distribution);
    }

    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0.#}%");

    private sealed class Track(int index, int weight, LoadShare share)
    {
        public int Index { get; } = index;
        public int Weight { get; } = weight;
        public LoadShare Share { get; } = share;
        public string? LastKey { get; set; }
        public SortedDictionary<int, AgentSecond> Pending { get; } = [];
        public List<AgentSecond> Streamed { get; } = [];
        public int LastSecond { get; set; } = -1;
        public string State { get; private set; } = "running";
        public string? Error { get; private set; }
        public string? Host { get; set; }
        public AgentOutcome? Outcome { get; set; }
        public bool Terminal { get; private set; }

        public void End(string state, string? error)
        {
            State = state;
            Error = error;
            Terminal = true;
        }

        /// <summary>This agent's part of a scenario: its own result, or what it streamed before it was lost.</summary>
        public ScenarioResult PartOf(ScenarioSpec spec)
        {
            if (Outcome?.Scenarios.FirstOrDefault(s => s.Name == spec.Name) is { } own)
            {
                return own;
            }

            var seconds = Streamed.SelectMany(s => s.Samples).Where(s => s.Scenario == spec.Name).Select(s => s.Sample).OrderBy(s => s.Second).ToList();
            return new ScenarioResult
            {
                Name = spec.Name,
                Target = spec.Target,
                Model = spec.Load.Model.ToString().ToLowerInvariant(),
                Url = string.Empty,
                StartOffsetSeconds = spec.StartAfter.TotalSeconds,
                DurationSeconds = seconds.Count,
                EndReason = State,
                Seconds = seconds,
                Totals = ScenarioTotalsCalculator.FromSamples(seconds, seconds.Count),
            };
        }
    }

    private sealed class MergedScenario(ScenarioSpec spec)
    {
        public ScenarioSpec Spec { get; } = spec;
        public StopConditionMonitor Monitor { get; } = new(spec.StopWhen, spec.Load.Curve, spec.Load.Unit);
        public SecondSample? Last { get; set; }
        public long Requests { get; set; }
        public long Errors { get; set; }

        public ScenarioProgress Progress(int runSecond)
        {
            var unit = Spec.Load.Unit;
            var elapsed = TimeSpan.FromSeconds(runSecond + 1) - Spec.StartAfter;
            bool done = elapsed >= Spec.Load.Duration || Monitor.BreakingPoint is not null;
            string state = Monitor.BreakingPoint is not null ? "broke" : Last is null ? "waiting" : done ? "done" : "running";
            string stage = Monitor.BreakingPoint is { } bp ? string.Create(CultureInfo.InvariantCulture, $"broke at {bp.OfferedAtFailure:0.#} {unit}") : done ? "done" : Spec.Load.Curve.StageNameAt(elapsed);
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
