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

    /// <summary>The scenario's requests against its target's base URL (a path prefix in the base is kept).</summary>
    public static ResolvedScenario On(ScenarioSpec spec, Uri target, bool skipTlsVerify = false) =>
        new(spec, Combine(target, spec.Request.Path)) { Urls = [.. spec.Sequence.Select(r => Combine(target, r.Path))], SkipTlsVerify = skipTlsVerify };

    public static Uri Combine(Uri baseUrl, string path) => new(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + path);
}

/// <summary>What the engine measured.</summary>
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

/// <summary>
/// Looked at once a second with the second just recorded — run second, and each scenario's (name, own second,
/// sample) — and returns a reason to stop the whole run, or null.
/// </summary>
public delegate string? LiveCheck(int runSecond, IReadOnlyList<(string Scenario, int Second, SecondSample Sample)> samples);

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
/// Runs scenarios side by side, samples each one every second into per-second histograms and counts,
/// evaluates ramp-to-fail conditions on a sliding window, and watches the generator's own health.
/// </summary>
public sealed class LoadEngine(TimeProvider time)
{
    /// <summary>Lead time so that every pacer is waiting before the first arrival is due.</summary>
    private static readonly TimeSpan StartLead = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Runs until every scenario has ended. <paramref name="cancel"/> stops issuing requests (in-flight ones
    /// finish or time out and are recorded); <paramref name="abort"/> also closes every connection at once.
    /// </summary>
    public async Task<EngineResult> RunAsync(
        IReadOnlyList<ResolvedScenario> scenarios,
        Action<EngineProgress>? progress,
        CancellationToken cancel,
        CancellationToken abort = default,
        LiveCheck? liveCheck = null,
        EngineOptions? options = null)
    {
        options ??= new EngineOptions();
        using var watchdog = new TimeoutWatchdog(time);
        using var abortRegistration = abort.Register(watchdog.AbortAll);
        var states = new List<State>();
        foreach (var s in scenarios)
        {
            var recorder = new ScenarioRecorder();
            var executors = new List<RequestExecutor>();
            var sequence = s.Spec.Sequence;
            if (s.Urls.Count != sequence.Count)
            {
                throw new ArgumentException($"scenario '{s.Spec.Name}' has {sequence.Count} request(s) but {s.Urls.Count} URL(s); resolve it with ResolvedScenario.On", nameof(scenarios));
            }

            for (int i = 0; i < sequence.Count; i++)
            {
                var r = sequence[i];
                var endpoint = await HttpEndpoint.CreateAsync(s.Urls[i], r.Method, r.Headers, r.Body, r.Timeout, cancel, r.Expect, s.SkipTlsVerify).ConfigureAwait(false);
                executors.Add(new RequestExecutor(endpoint, recorder, watchdog, time));
            }

            states.Add(new State(s, ScenarioRunner.Create(s.Spec, executors, time, options.Share), options.Share));
        }

        options.Control?.Attach(name =>
        {
            foreach (var st in states.Where(st => st.Spec.Name == name))
            {
                st.Runner.RequestStop();
            }
        });

        double freq = time.TimestampFrequency;
        var cpu = new SystemCpu();
        var generator = new List<GeneratorSecond>();
        // Agents of a distributed run share one UTC start; a lone engine starts right away.
        var lead = options.StartAtUtc is { } at ? at - time.GetUtcNow() : StartLead;
        if (lead < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"the common start time {options.StartAtUtc:O} passed {Core.Text.Durations.Format(-lead)} ago: this agent started too late to take its share");
        }

        var startedUtc = options.StartAtUtc ?? time.GetUtcNow() + lead;
        long t0 = time.GetTimestamp() + (long)(lead.TotalSeconds * freq);
        var planned = scenarios.Count == 0 ? TimeSpan.Zero : scenarios.Max(s => TimeSpan.FromSeconds(StartSecond(s.Spec)) + s.Spec.Load.Duration);

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
                st.Runner.RequestStop();
            }
        });

        // The sampler ticks on its own thread: it blocks between seconds and must not hold a pool thread.
        string? abortedBy = null;
        var sampled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sampler = new Thread(() =>
        {
            try
            {
                abortedBy = SampleLoop(states, t0, planned, cpu, generator, progress, liveCheck, options.OnGeneratorSecond, allDone.Token);
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
        var endedUtc = time.GetUtcNow();
        var results = states.Select(st => ToResult(st, t0)).ToList();
        return new EngineResult(results, GeneratorHealthAssessor.Assess(generator), startedUtc, endedUtc, cancel.IsCancellationRequested) { AbortedBy = abortedBy };
    }

    private string? SampleLoop(List<State> states, long t0, TimeSpan planned, SystemCpu cpu, List<GeneratorSecond> generator, Action<EngineProgress>? progress, LiveCheck? liveCheck, Action<GeneratorSecond>? onGenerator, CancellationToken allDone)
    {
        double freq = time.TimestampFrequency;
        long lastTick = t0;
        string? abortedBy = null;
        var justSampled = new List<(string, int, SecondSample)>();
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
            foreach (var st in states)
            {
                lagMax = Math.Max(lagMax, st.Runner.TakePacerLagMaxMs());
                inFlight += st.Runner.InFlight;
                if (tick <= st.StartSecond || st.Finished)
                {
                    continue;
                }

                // Read completion before sampling: a runner completes only after its last request was
                // recorded, so a sample taken after seeing it complete holds everything.
                bool completed = st.Task!.IsCompleted;
                Sample(st, tick - 1 - st.StartSecond, now);
                st.Finished = completed;
                justSampled.Add((st.Spec.Name, tick - 1 - st.StartSecond, st.Samples[^1]));
            }

            var generatorSecond = new GeneratorSecond(tick - 1, processCpu, double.IsNaN(machineCpu) ? null : machineCpu, Math.Round(lagMax, 3), inFlight);
            onGenerator?.Invoke(generatorSecond);

            // Every second, even one with no scenario running (yet): an agent's coordinator counts on the beat.
            if (liveCheck is not null && abortedBy is null && liveCheck(tick - 1, justSampled) is { } reason)
            {
                // A threshold marked abortOnFail is lost: stop every scenario as Ctrl+C would, keep what was measured.
                abortedBy = reason;
                foreach (var st in states)
                {
                    st.Runner.RequestStop();
                }
            }

            justSampled.Clear();

            generator.Add(generatorSecond);
            progress?.Invoke(new EngineProgress(TimeSpan.FromSeconds((now - t0) / freq), planned, states.Select(Progress).ToList(), processCpu));
            if (finalTick || states.All(s => s.Finished))
            {
                return abortedBy;
            }
        }
    }

    private static int StartSecond(ScenarioSpec spec) => (int)Math.Round(spec.StartAfter.TotalSeconds);

    private void Sample(State st, int second, long now)
    {
        var interval = st.Runner.Recorder.TakeInterval(st.LatencyBuffer, st.ServiceTimeBuffer);
        double offered = st.Share.PlannedIn(st.Spec.Load.Model, st.Runner.Curve, second);
        if (st.Monitor.StopSecond is { } stoppedAt && second > stoppedAt)
        {
            offered = 0; // the scenario was stopped: nothing more was planned to be sent
        }

        var sample = new SecondSample
        {
            Second = second,
            Offered = offered,
            Started = interval.Started,
            Outcomes = interval.Counts,
            BytesReceived = interval.Bytes,
            InFlight = st.Runner.InFlight,
            Latency = Histograms.Summarise(interval.Latency),
            ServiceTime = Histograms.Summarise(interval.ServiceTime),
            LatencyHistogram = interval.Latency.TotalCount == 0 ? null : Histograms.Encode(interval.Latency),
            ServiceTimeHistogram = interval.ServiceTime.TotalCount == 0 ? null : Histograms.Encode(interval.ServiceTime),
        };
        st.Samples.Add(sample);
        st.TotalRequests += interval.Counts.Completed;
        st.TotalErrors += interval.Counts.Errors;
        st.Last = sample;
        st.LastP95 = sample.Latency.P95Ms;

        if (!st.Runner.StopRequested && st.Monitor.Observe(second, sample, interval.Latency, time.GetUtcNow()) is not null)
        {
            st.Runner.RequestStop();
        }
    }

    private ScenarioProgress Progress(State st)
    {
        // A finished scenario shows its end, not its last second frozen.
        var last = st.Finished ? null : st.Last;
        var elapsed = st.Last is null ? TimeSpan.Zero : TimeSpan.FromSeconds(st.Last.Second + 1);
        var unit = st.Spec.Load.Unit;
        string state = st.Finished ? (st.Monitor.BreakingPoint is not null ? "broke" : "done")
            : st.Last is null ? "waiting"
            : st.Runner.StopRequested ? "draining" : "running";
        string stage = st.Monitor.BreakingPoint is { } bp
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"broke at {bp.OfferedAtFailure:0.#} {unit}")
            : st.Finished ? "done" : st.Runner.Curve.StageNameAt(elapsed);
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
            last is null ? 0 : st.LastP95,
            st.Runner.InFlight,
            st.TotalRequests,
            st.TotalErrors);
    }

    private ScenarioResult ToResult(State st, long t0)
    {
        double freq = time.TimestampFrequency;
        long end = st.EndTimestamp ?? time.GetTimestamp();
        double duration = Math.Max(0, (end - st.StartTimestamp) / freq);
        string endReason = st.Monitor.BreakingPoint is not null ? "stopped" : st.Runner.StopRequested ? "cancelled" : "completed";
        return new ScenarioResult
        {
            Name = st.Spec.Name,
            Target = st.Spec.Target,
            Model = st.Spec.Load.Model.ToString().ToLowerInvariant(),
            Url = PlanRedactor.RedactUrl(st.Resolved.Url),
            StartOffsetSeconds = (st.StartTimestamp - t0) / freq,
            DurationSeconds = Math.Round(duration, 3),
            EndReason = endReason,
            Seconds = st.Samples,
            Totals = ScenarioTotalsCalculator.FromSamples(st.Samples, duration),
            BreakingPoint = st.Monitor.BreakingPoint,
            LatencyLimits = [.. st.Spec.StopWhen.Where(c => c.Metric is StopMetric.Percentile or StopMetric.Mean).Select(c => new LatencyLimit(c.Text, c.Threshold))],
        };
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
        public List<SecondSample> Samples { get; } = [];

        public StopConditionMonitor Monitor { get; } = new(resolved.Spec.StopWhen, resolved.Spec.Load.Curve, resolved.Spec.Load.Unit);

        /// <summary>Where each second's histograms are drained, reused every second.</summary>
        public HdrHistogram.LongHistogram LatencyBuffer { get; } = Histograms.Create();

        public HdrHistogram.LongHistogram ServiceTimeBuffer { get; } = Histograms.Create();

        public SecondSample? Last { get; set; }
        public double LastP95 { get; set; }
        public long TotalRequests { get; set; }
        public long TotalErrors { get; set; }
    }
}

/// <summary>How the engine takes part in a run: alone (the defaults), or as one agent of a distributed run.</summary>
public sealed record EngineOptions
{
    /// <summary>This engine's part of the load. Default: all of it.</summary>
    public LoadShare Share { get; init; } = LoadShare.Whole;

    /// <summary>The common start of a distributed run's agents; default: right away.</summary>
    public DateTimeOffset? StartAtUtc { get; init; }

    /// <summary>Lets a coordinator stop a scenario from outside (its breaking point was found on the merged view).</summary>
    public EngineControl? Control { get; init; }

    /// <summary>Called once a second, just before the live check, with the generator's own health in that second.</summary>
    public Action<GeneratorSecond>? OnGeneratorSecond { get; init; }
}

/// <summary>Stops scenarios of a running engine from outside; a stop asked before the engine started is kept for it.</summary>
public sealed class EngineControl
{
    private readonly Lock _lock = new();
    private readonly List<string> _pending = [];
    private Action<string>? _stop;

    /// <summary>Stops issuing the scenario's requests, as its own stop condition would.</summary>
    public void StopScenario(string name)
    {
        Action<string>? stop;
        lock (_lock)
        {
            stop = _stop;
            if (stop is null)
            {
                _pending.Add(name);
                return;
            }
        }

        stop(name);
    }

    internal void Attach(Action<string> stop)
    {
        string[] pending;
        lock (_lock)
        {
            _stop = stop;
            pending = [.. _pending];
            _pending.Clear();
        }

        foreach (var name in pending)
        {
            stop(name);
        }
    }
}
