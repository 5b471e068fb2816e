using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Http;

namespace Constellation.Runs.Engine;

/// <summary>A scenario with its target resolved to a URL.</summary>
public sealed record ResolvedScenario(ScenarioSpec Spec, Uri Url)
{
    /// <summary>Every request's URL, in the order of <see cref="ScenarioSpec.Sequence"/>; just <see cref="Url"/> for one request.</summary>
    public IReadOnlyList<Uri> Urls { get; init; } = [Url];

    /// <summary>Accept the target's TLS certificate unchecked (its <c>insecureSkipTlsVerify</c>).</summary>
    public bool SkipTlsVerify { get; init; }

    /// <summary>The URL as recorded, from the plan as written (secret references, never their values); null: <see cref="Url"/> redacted.</summary>
    public string? DisplayUrl { get; init; }

    /// <summary>What run.json, the journal and the reports show for the scenario's URL: never a credential.</summary>
    public string RecordedUrl => DisplayUrl ?? PlanRedactor.RedactUrl(Url);

    /// <summary>Each request label of a sequence (<see cref="RequestLabels"/>) with the recorded URL of its first request: the per-request series.</summary>
    public IEnumerable<(string Label, string Url)> RequestSeries()
    {
        var labels = RequestLabels.Of(Spec);
        return labels.Distinct(StringComparer.Ordinal).Select(label => (label, PlanRedactor.RedactUrl(Urls[Enumerable.Range(0, labels.Count).First(i => labels[i] == label)])));
    }

    /// <summary>The scenario's requests against its target's base URL (a path prefix in the base is kept).</summary>
    public static ResolvedScenario On(ScenarioSpec spec, Uri target, bool skipTlsVerify = false) =>
        new(spec, Combine(target, spec.Request.Path)) { Urls = [.. spec.Sequence.Select(r => Combine(target, r.Path))], SkipTlsVerify = skipTlsVerify };

    public static Uri Combine(Uri baseUrl, string path) => new(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + path);
}

/// <summary>What the engine measured, every second kept: the convenience result for short runs, tests and <c>load</c>.</summary>
public sealed record EngineResult(
    IReadOnlyList<ScenarioResult> Scenarios,
    GeneratorHealth Generator,
    DateTimeOffset StartedUtc,
    DateTimeOffset EndedUtc,
    bool Cancelled)
{
    /// <summary>Why a live check (an abortOnFail threshold) stopped the run early, if one did.</summary>
    public string? AbortedBy { get; init; }
}

/// <summary>A once-a-second view of a running scenario, for progress displays.</summary>
public sealed record ScenarioProgress(
    string Name,
    string State,
    string Stage,
    double Offered,
    string Unit,
    long StartedLastSecond,
    long CompletedLastSecond,
    long ErrorsLastSecond,
    long DroppedLastSecond,
    double P95Ms,
    long InFlight,
    long TotalRequests,
    long TotalErrors);

/// <summary>A once-a-second view of the whole run.</summary>
public sealed record EngineProgress(TimeSpan Elapsed, TimeSpan PlannedDuration, IReadOnlyList<ScenarioProgress> Scenarios, double GeneratorCpuPercent);

/// <summary>
/// The local executor: runs scenarios side by side, samples each one every second into per-second histograms and
/// counts, hands every second to the run's listeners (which judge stop conditions and thresholds and may stop it),
/// and watches the generator's own health. It keeps nothing per second beyond the one it is sampling: memory is
/// flat however long the run.
/// </summary>
public sealed class LoadEngine(TimeProvider time) : IRunExecutor
{
    /// <summary>Lead time so that every pacer is waiting before the first arrival is due.</summary>
    private static readonly TimeSpan StartLead = TimeSpan.FromMilliseconds(100);

    private readonly Lock _lock = new();
    private readonly List<(string Scenario, int Second, string Label)> _pendingStops = [];
    private List<State>? _states;
    private string? _stopRunReason;
    private CancellationTokenSource? _stopRun;

    /// <summary>This engine's part in a run: alone (the defaults), or one agent of a distributed run.</summary>
    public EngineOptions Options { get; init; } = new();

    public string Mode => "local";

    /// <summary>
    /// Runs until every scenario has ended, keeping every second in memory, with the stop conditions judged and
    /// <paramref name="progress"/> called every second: for tests and ad-hoc <c>load</c>. A run with a record
    /// goes through <see cref="ExecuteAsync"/> and the journal instead.
    /// </summary>
    public async Task<EngineResult> RunAsync(
        IReadOnlyList<ResolvedScenario> scenarios,
        Action<EngineProgress>? progress,
        CancellationToken cancel,
        CancellationToken abort = default,
        EngineOptions? options = null)
    {
        var collector = new Listeners.RunCollector();
        var listeners = new List<IRunListener> { new Listeners.StopConditionsListener(time), collector };
        if (progress is not null)
        {
            listeners.Add(new Listeners.CallbackListener(progress));
        }

        var engine = options is null ? this : new LoadEngine(time) { Options = options };
        var end = await engine.ExecuteAsync(scenarios, new RunListeners(listeners, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance), cancel, abort).ConfigureAwait(false);
        return collector.Result(end);
    }

    /// <summary>
    /// Runs until every scenario has ended. <paramref name="cancel"/> stops issuing requests (in-flight ones
    /// finish or time out and are recorded); <paramref name="abort"/> also closes every connection at once.
    /// </summary>
    public async Task<RunEnd> ExecuteAsync(IReadOnlyList<ResolvedScenario> scenarios, IRunListener listener, CancellationToken cancel, CancellationToken abort)
    {
        var options = Options;
        using var watchdog = new TimeoutWatchdog(time);
        using var abortRegistration = abort.Register(watchdog.AbortAll);
        var states = new List<State>();
        foreach (var s in scenarios)
        {
            var recorder = new ScenarioRecorder();
            var executors = new List<RequestExecutor>();
            var sequence = s.Spec.Sequence;
            var labels = RequestLabels.Of(s.Spec);
            var own = labels.Distinct(StringComparer.Ordinal).ToDictionary(l => l, l => new RequestState(RequestLabels.Key(s.Spec.Name, l)), StringComparer.Ordinal);
            if (s.Urls.Count != sequence.Count)
            {
                throw new ArgumentException($"scenario '{s.Spec.Name}' has {sequence.Count} request(s) but {s.Urls.Count} URL(s); resolve it with ResolvedScenario.On", nameof(scenarios));
            }

            for (int i = 0; i < sequence.Count; i++)
            {
                var r = sequence[i];
                var endpoint = await HttpEndpoint.CreateAsync(s.Urls[i], r.Method, r.Headers, r.Body, r.Timeout, cancel, r.Expect, s.SkipTlsVerify).ConfigureAwait(false);
                executors.Add(new RequestExecutor(endpoint, recorder, watchdog, time, labels.Count == 0 ? null : own[labels[i]].Recorder, r.Extract));
            }

            states.Add(new State(s, ScenarioRunner.Create(s.Spec, executors, time, options.Share), options.Share) { Requests = [.. own.Values] });
        }

        using var stopRun = new CancellationTokenSource();
        (string, int, string)[] pending;
        lock (_lock)
        {
            _states = states;
            _stopRun = stopRun;
            pending = [.. _pendingStops];
            _pendingStops.Clear();
        }

        foreach (var (scenario, second, label) in pending)
        {
            StopScenario(scenario, second, label);
        }

        double freq = time.TimestampFrequency;
        var cpu = new SystemCpu();
        // Start measuring on a clean heap: the set-up's garbage (plan, connections, JIT) would otherwise be collected in
        // the first seconds of load by a 5–10 ms pause that holds up the pacer too (measured at 20k/s: the run's p99
        // arrival lag 0.83–0.97 → 0.73–0.82 ms, no multi-ms pause after second 0).
        // An agent whose common start is near skips it: the pause must not make it late for its share.
        if (options.StartAtUtc is not { } startAt || startAt - time.GetUtcNow() > TimeSpan.FromSeconds(1))
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        // Agents of a distributed run share one UTC start; a lone engine starts right away.
        var lead = options.StartAtUtc is { } at ? at - time.GetUtcNow() : StartLead;
        if (lead < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"the common start time {options.StartAtUtc:O} passed {Core.Text.Durations.Format(-lead)} ago: this agent started too late to take its share");
        }

        var startedUtc = options.StartAtUtc ?? time.GetUtcNow() + lead;
        long t0 = time.GetTimestamp() + (long)(lead.TotalSeconds * freq);
        var planned = scenarios.Count == 0 ? TimeSpan.Zero : scenarios.Max(s => TimeSpan.FromSeconds(StartSecond(s.Spec)) + s.Spec.Load.Duration);
        listener.OnStart(new RunStart(startedUtc, scenarios), new ExecutorControl(this));

        foreach (var st in states)
        {
            st.StartTimestamp = t0 + (long)(st.StartSecond * freq);
            st.Task = Task.Run(
                async () =>
                {
                    await st.Runner.RunAsync(st.StartTimestamp, abort).ConfigureAwait(false);
                    st.EndTimestamp = time.GetTimestamp();
                },
                CancellationToken.None);
        }

        using var allDone = new CancellationTokenSource();
        _ = Task.WhenAll(states.Select(s => s.Task!)).ContinueWith(_ => allDone.Cancel(), TaskScheduler.Default);
        using var cancelRegistration = cancel.Register(() =>
        {
            foreach (var st in states)
            {
                st.Stop(EndReason.Cancelled);
            }
        });

        // The sampler ticks on its own thread: it blocks between seconds and must not hold a pool thread.
        var sampled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sampler = new Thread(() =>
        {
            try
            {
                // A short time slice: its once-a-second work (a few ms: histograms, the journal) must not hold the pacer,
                // which shares its core, for a whole default slice (measured: a pacer delayed 3 ms behind it at 60k/s).
                PreciseSleep.RequestShortSlice(TimeSpan.FromMicroseconds(100));
                SampleLoop(states, t0, planned, cpu, listener, allDone.Token);
                sampled.TrySetResult();
            }
            catch (Exception e)
            {
                sampled.TrySetException(e);
            }
        })
        { IsBackground = true, Name = "constellation-sampler" };
        sampler.Start();
        await sampled.Task.ConfigureAwait(false);

        await Task.WhenAll(states.Select(s => s.Task!)).ConfigureAwait(false);
        var end = new RunEnd
        {
            LoadStartUtc = startedUtc,
            EndedUtc = time.GetUtcNow(),
            Cancelled = cancel.IsCancellationRequested,
            AbortedBy = _stopRunReason,
            Scenarios = [.. states.Select(st => ToEnd(st, t0))],
        };
        lock (_lock)
        {
            _states = null;
            _stopRun = null;
        }

        listener.OnEnd(end);
        return end;
    }

    /// <summary>Stops a scenario (its stop condition held in <paramref name="second"/>); one asked before the start is kept for it.</summary>
    public void StopScenario(string scenario, int second, string label)
    {
        List<State>? states;
        lock (_lock)
        {
            states = _states;
            if (states is null)
            {
                _pendingStops.Add((scenario, second, label));
                return;
            }
        }

        foreach (var st in states.Where(st => st.Spec.Name == scenario))
        {
            st.StopSecond ??= second;
            st.StopLabel ??= label;
            st.Stop(EndReason.Stopped, evenIfDone: true); // it broke in its last second: still its breaking point
        }
    }

    /// <summary>Stops every scenario as Ctrl+C would (an abortOnFail threshold was lost), keeping what was measured.</summary>
    public void StopRun(string reason)
    {
        List<State>? states;
        lock (_lock)
        {
            _stopRunReason ??= reason;
            states = _states;
        }

        foreach (var st in states ?? [])
        {
            st.Stop(EndReason.Aborted);
        }
    }

    private void SampleLoop(List<State> states, long t0, TimeSpan planned, SystemCpu cpu, IRunListener listener, CancellationToken allDone)
    {
        double freq = time.TimestampFrequency;
        long lastTick = t0;
        var gcPaused = GC.GetTotalPauseDuration();
        var lagInterval = Histograms.Create();
        var lagSecond = Histograms.Create();
        for (int tick = 1; ; tick++)
        {
            long due = t0 + (long)(tick * freq);
            bool finalTick = !PreciseSleep.WaitUntil(time, due, allDone);
            long now = time.GetTimestamp();
            var wall = TimeSpan.FromSeconds((now - lastTick) / freq);
            lastTick = now;
            var (processCpu, machineCpu) = cpu.Sample(wall);
            double lagMax = 0;
            long inFlight = 0;
            var samples = new List<ScenarioSecond>(states.Count);
            var requests = new List<ScenarioSecond>();
            bool paced = false;
            lagSecond.Reset();
            foreach (var st in states)
            {
                lagMax = Math.Max(lagMax, st.Runner.TakePacerLagMaxMs());
                if (st.Runner.TakePacerLagInto(lagInterval))
                {
                    paced = true;
                    lagSecond.Add(lagInterval);
                }

                inFlight += st.Runner.InFlight;
                if (tick <= st.StartSecond || st.Finished)
                {
                    continue;
                }

                // Read completion before sampling: a runner completes only after its last request was
                // recorded, so a sample taken after seeing it complete holds everything.
                bool completed = st.Task!.IsCompleted;
                var sample = Sample(st, tick - 1 - st.StartSecond);
                st.Finished = completed;
                samples.Add(new ScenarioSecond(st.Spec.Name, sample.Second, sample));
                foreach (var r in st.Requests)
                {
                    var interval = r.Recorder.TakeInterval(r.LatencyBuffer, r.ServiceTimeBuffer);
                    requests.Add(new ScenarioSecond(r.Key, sample.Second, SampleOf(interval, sample.Second, offered: 0, st.Runner.InFlight)));
                }
            }

            var paused = GC.GetTotalPauseDuration();

            // Every second, even one with no scenario running (yet): an agent's coordinator counts on the beat.
            var generatorSecond = new GeneratorSecond(tick - 1, processCpu, double.IsNaN(machineCpu) ? null : machineCpu, Math.Round(lagMax, 3), inFlight)
            {
                // Every arrival's lag, not only the second's worst: the p99 says whether the pacer keeps time.
                PacerLagP99Ms = paced && lagSecond.TotalCount > 0 ? Math.Round(lagSecond.GetValueAtPercentile(99) / 1000.0, 3) : null,
                GcPauseMs = Math.Round((paused - gcPaused).TotalMilliseconds, 3),
                PacerLagHistogram = paced && lagSecond.TotalCount > 0 ? Histograms.Encode(lagSecond) : null,
            };
            gcPaused = paused;
            var progress = new EngineProgress(TimeSpan.FromSeconds((now - t0) / freq), planned, states.Select(Progress).ToList(), processCpu);
            listener.OnSecond(new RunSecond(tick - 1, samples, generatorSecond, progress) { Requests = requests });
            if (finalTick || states.All(s => s.Finished))
            {
                return;
            }
        }
    }

    private static int StartSecond(ScenarioSpec spec) => (int)Math.Round(spec.StartAfter.TotalSeconds);

    private SecondSample Sample(State st, int second)
    {
        var interval = st.Runner.Recorder.TakeInterval(st.LatencyBuffer, st.ServiceTimeBuffer);
        double offered = st.Share.PlannedIn(st.Spec.Load.Model, st.Runner.Curve, second);
        if (st.StopSecond is { } stoppedAt && second > stoppedAt)
        {
            offered = 0; // the scenario was stopped: nothing more was planned to be sent
        }

        var sample = SampleOf(interval, second, offered, st.Runner.InFlight);
        st.TotalRequests += interval.Counts.Completed;
        st.TotalErrors += interval.Counts.Errors;
        st.Last = sample;
        return sample;
    }

    private static SecondSample SampleOf(ScenarioRecorder.Interval interval, int second, double offered, long inFlight) => new()
    {
        Second = second,
        Offered = offered,
        Started = interval.Started,
        Outcomes = interval.Counts,
        BytesReceived = interval.Bytes,
        InFlight = inFlight,
        Latency = Histograms.Summarise(interval.Latency),
        ServiceTime = Histograms.Summarise(interval.ServiceTime),
        LatencyHistogram = interval.Latency.TotalCount == 0 ? null : Histograms.Encode(interval.Latency),
        ServiceTimeHistogram = interval.ServiceTime.TotalCount == 0 ? null : Histograms.Encode(interval.ServiceTime),
    };

    private ScenarioProgress Progress(State st)
    {
        // A finished scenario shows its end, not its last second frozen.
        var last = st.Finished ? null : st.Last;
        var elapsed = st.Last is null ? TimeSpan.Zero : TimeSpan.FromSeconds(st.Last.Second + 1);
        var unit = st.Spec.Load.Unit;
        string state = st.Finished ? (st.StopLabel is not null ? "broke" : "done")
            : st.Last is null ? "waiting"
            : st.Runner.StopRequested ? "draining" : "running";
        string stage = st.StopLabel ?? (st.Finished ? "done" : st.Runner.Curve.StageNameAt(elapsed));
        return new ScenarioProgress(
            st.Spec.Name,
            state,
            stage,
            st.Finished || st.Runner.StopRequested ? 0 : Math.Round(st.Runner.Curve.ValueAt(elapsed), 1),
            unit,
            last?.Started ?? 0,
            last?.Outcomes.Completed ?? 0,
            last?.Outcomes.Errors ?? 0,
            last?.Outcomes.Dropped ?? 0,
            last?.Latency.P95Ms ?? 0,
            st.Runner.InFlight,
            st.TotalRequests,
            st.TotalErrors);
    }

    private ScenarioEnd ToEnd(State st, long t0)
    {
        double freq = time.TimestampFrequency;
        long end = st.EndTimestamp ?? time.GetTimestamp();
        double duration = Math.Max(0, (end - st.StartTimestamp) / freq);
        return new ScenarioEnd(st.Spec.Name, (st.StartTimestamp - t0) / freq, Math.Round(duration, 3), st.StopReason ?? EndReason.Completed) { Failures = st.Runner.Recorder.Failures };
    }

    private sealed class State(ResolvedScenario resolved, ScenarioRunner runner, LoadShare share)
    {
        public ResolvedScenario Resolved { get; } = resolved;
        public ScenarioSpec Spec => Resolved.Spec;
        public ScenarioRunner Runner { get; } = runner;
        public LoadShare Share { get; } = share;
        public int StartSecond { get; } = StartSecond(resolved.Spec);
        public long StartTimestamp { get; set; }
        public long? EndTimestamp { get; set; }
        public Task? Task { get; set; }
        public bool Finished { get; set; }

        /// <summary>Why it stopped before its end (stopped, cancelled, aborted); null while it runs to completion.</summary>
        public EndReason? StopReason { get; private set; }

        /// <summary>The second its stop condition held, and what progress shows for it.</summary>
        public int? StopSecond { get; set; }

        public string? StopLabel { get; set; }

        /// <summary>Where each second's histograms are drained, reused every second.</summary>
        public HdrHistogram.LongHistogram LatencyBuffer { get; } = Histograms.Create();

        public HdrHistogram.LongHistogram ServiceTimeBuffer { get; } = Histograms.Create();

        public SecondSample? Last { get; set; }

        /// <summary>Each request's own recording, in a scenario of several requests.</summary>
        public IReadOnlyList<RequestState> Requests { get; init; } = [];

        public long TotalRequests { get; set; }
        public long TotalErrors { get; set; }

        public void Stop(EndReason reason, bool evenIfDone = false)
        {
            if ((Runner.StopRequested || Finished) && !evenIfDone)
            {
                return;
            }

            StopReason ??= reason;
            Runner.RequestStop();
        }
    }
}

/// <summary>One request label's own recording, and where its seconds are drained.</summary>
internal sealed class RequestState(string key)
{
    public string Key { get; } = key;
    public ScenarioRecorder Recorder { get; } = new();
    public HdrHistogram.LongHistogram LatencyBuffer { get; } = Histograms.Create();
    public HdrHistogram.LongHistogram ServiceTimeBuffer { get; } = Histograms.Create();
}

/// <summary>How the engine takes part in a run: alone (the defaults), or as one agent of a distributed run.</summary>
public sealed record EngineOptions
{
    /// <summary>This engine's part of the load. Default: all of it.</summary>
    public LoadShare Share { get; init; } = LoadShare.Whole;

    /// <summary>The common start of a distributed run's agents; default: right away.</summary>
    public DateTimeOffset? StartAtUtc { get; init; }
}
