using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Runs.Http;

namespace Constellation.Runs.Engine;

/// <summary>Drives one scenario's load until its curve ends, a stop is requested, or the run is cancelled.</summary>
public abstract class ScenarioRunner
{
    private readonly CancellationTokenSource _stop = new();
    private long _inFlight;
    private long _pacerLagMaxTicks;
    private readonly HdrHistogram.Recorder _pacerLag = Core.Results.Histograms.CreateRecorder();
    private readonly double _ticksPerMicro;
    private bool _paced;

    protected ScenarioRunner(ScenarioSpec spec, IReadOnlyList<RequestExecutor> executors, TimeProvider time, LoadShare share)
    {
        Spec = spec;
        Share = share;
        Executors = executors;
        Executor = executors[0];
        Time = time;
        Curve = spec.Load.Curve;
        _ticksPerMicro = time.TimestampFrequency / 1_000_000.0;
    }

    public ScenarioSpec Spec { get; }

    /// <summary>This runner's part of the scenario's load (all of it, unless it is one agent of several).</summary>
    public LoadShare Share { get; }

    public LoadCurve Curve { get; }
    public ScenarioRecorder Recorder => Executor.Recorder;
    public long InFlight => Interlocked.Read(ref _inFlight);
    public bool StopRequested => _stop.IsCancellationRequested;

    /// <summary>The first request's executor (the only one, unless the scenario is a sequence).</summary>
    protected RequestExecutor Executor { get; }

    /// <summary>One executor per request of the sequence, sharing the scenario's recorder.</summary>
    protected IReadOnlyList<RequestExecutor> Executors { get; }
    protected TimeProvider Time { get; }
    protected CancellationToken StopToken => _stop.Token;

    /// <summary>Stops issuing new requests; in-flight ones finish or time out.</summary>
    public void RequestStop() => _stop.Cancel();

    /// <summary>The largest pacing lag since the last call, in milliseconds.</summary>
    public double TakePacerLagMaxMs() =>
        Interlocked.Exchange(ref _pacerLagMaxTicks, 0) * 1000.0 / Time.TimestampFrequency;

    /// <summary>
    /// Moves every arrival's pacing lag since the last call into <paramref name="into"/> (overwriting it); false when
    /// this runner paces no arrivals (the closed model). Only one thread may call this.
    /// </summary>
    public bool TakePacerLagInto(HdrHistogram.LongHistogram into)
    {
        if (!Volatile.Read(ref _paced))
        {
            return false;
        }

        _pacerLag.GetIntervalHistogramInto(into);
        return true;
    }

    /// <summary>Runs the scenario from <paramref name="startTimestamp"/>; completes when every request has ended.</summary>
    public abstract Task RunAsync(long startTimestamp, CancellationToken abort);

    protected internal void AddInFlight(long delta) => Interlocked.Add(ref _inFlight, delta);

    /// <summary>
    /// Waits until no request is in flight. After a hard stop the requests are cut off at once and each still records
    /// itself (as cancelled) on its way out: that is waited for too, at most two seconds, so none goes uncounted.
    /// </summary>
    protected async Task DrainAsync(CancellationToken abort)
    {
        long? abortedAt = null;
        while (InFlight > 0)
        {
            if (abort.IsCancellationRequested)
            {
                abortedAt ??= Time.GetTimestamp();
                if (Time.GetElapsedTime(abortedAt.Value) > TimeSpan.FromSeconds(2))
                {
                    return;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), Time, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records one arrival's lag (how late it was sent; 0 when it went out early with a batch) in the per-arrival
    /// histogram, and keeps the second's worst.
    /// </summary>
    protected void ReportLag(long lagTicks)
    {
        _paced = true;
        _pacerLag.RecordValue(Math.Clamp((long)(lagTicks / _ticksPerMicro), Core.Results.Histograms.LowestMicros, Core.Results.Histograms.HighestMicros));
        long current = Volatile.Read(ref _pacerLagMaxTicks);
        while (lagTicks > current)
        {
            long seen = Interlocked.CompareExchange(ref _pacerLagMaxTicks, lagTicks, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Waits on this runner's clock; see <see cref="PreciseSleep.WaitUntil"/>.</summary>
    protected bool WaitUntil(long timestamp, CancellationToken token) => PreciseSleep.WaitUntil(Time, timestamp, token);

    /// <summary>Creates the runner for a scenario's load model.</summary>
    public static ScenarioRunner Create(ScenarioSpec spec, IReadOnlyList<RequestExecutor> executors, TimeProvider time, LoadShare? share = null) => spec.Load.Model switch
    {
        LoadModel.Open => new OpenModelRunner(spec, executors, time, share ?? LoadShare.Whole),
        _ => new ClosedModelRunner(spec, executors, time, share ?? LoadShare.Whole),
    };
}

/// <summary>
/// Open model: requests start at the times the rate curve dictates, whatever the server does. Latency is
/// measured from that intended time (no coordinated omission); past the in-flight cap an arrival is dropped.
/// </summary>
public sealed class OpenModelRunner : ScenarioRunner
{
    private readonly Stack<Http1Connection> _idle = new();
    private readonly Lock _idleLock = new();
    private CancellationToken _abort;

    private readonly DataFeed? _data;

    /// <summary>An arrival is a journey (k6's iteration): every request of the sequence, with a session of its own.</summary>
    private readonly bool _journey;

    public OpenModelRunner(ScenarioSpec spec, IReadOnlyList<RequestExecutor> executors, TimeProvider time, LoadShare share)
        : base(spec, executors, time, share)
    {
        _data = spec.Data is { } data ? new DataFeed(data, share) : null;
        _cookies = spec.EffectiveCookies.Enabled;
        _journey = executors.Count > 1 || _cookies || _data is not null || spec.Sequence.Any(r => r.Extract.Count > 0);
        _plain = !_journey && !executors[0].Endpoint.UseTls && !executors[0].Endpoint.Dynamic;
    }

    /// <summary>What the single-threaded loop allocated per request after its first second; null when it did not run.</summary>
    internal double? LoopBytesPerRequest { get; private set; }

    /// <summary>The connections the single-threaded loop opened (0 when it did not run).</summary>
    internal long LoopConnectionsOpened { get; private set; }

    /// <summary>One plain-HTTP request per arrival, the same bytes each time: the single-threaded loop's case.</summary>
    private readonly bool _plain;

    private readonly bool _cookies;

    public override async Task RunAsync(long startTimestamp, CancellationToken abort)
    {
        _abort = abort;
        // The pacer owns a thread: it blocks between arrivals and must never wait behind thread-pool work.
        var paced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pacer = new Thread(() =>
        {
            try
            {
                // The shortest slice the kernel grants (0.1 ms): the pacer runs soon after its timer instead of waiting
                // out another thread's slice (1.4 ms here) on a shared core (measured: a worst second's p99 lag of ~1.2 → ~0.6 ms at 10k/s).
                PreciseSleep.RequestShortSlice(TimeSpan.FromMicroseconds(100));
                if (_plain && OpenLoop.Supported && ReferenceEquals(Time, TimeProvider.System))
                {
                    // One request per arrival over plain HTTP: one thread paces, sends and reads (no task per arrival).
                    using var loop = new OpenLoop(this, Executor);
                    loop.Run(startTimestamp, Curve.Schedule(), (long)(ReleaseAhead.TotalSeconds * Time.TimestampFrequency), StopToken, abort);
                    LoopBytesPerRequest = loop.SteadyBytesPerRequest;
                    LoopConnectionsOpened = loop.ConnectionsOpened;
                }
                else
                {
                    Pace(startTimestamp);
                }

                paced.TrySetResult();
            }
            catch (Exception e)
            {
                paced.TrySetException(e);
            }
        })
        { IsBackground = true, Name = $"pacer:{Spec.Name}", Priority = ThreadPriority.AboveNormal };
        pacer.Start();
        await paced.Task.ConfigureAwait(false);

        // Drain: in-flight requests finish or hit their timeout (the watchdog enforces it).
        await DrainAsync(abort).ConfigureAwait(false);

        lock (_idleLock)
        {
            while (_idle.TryPop(out var c))
            {
                Executor.Close(c);
            }
        }
    }

    /// <summary>The environment variable that sets <see cref="ReleaseAhead"/> for a process (a duration, 0 to 10ms).</summary>
    public const string ReleaseAheadVariable = "CONSTELLATION_PACER_BATCH";

    /// <summary>
    /// How far ahead of its time an arrival may be released with others that are due: one wake-up sends every
    /// arrival due up to this horizon, so at high rates the pacer wakes once per batch, not once per arrival. An
    /// arrival sent early is measured from when it was sent (never shorter than its service time); one sent late,
    /// from when it was due. Default 500 µs: a wake-up costs ~20 µs on the 2-core VM measured (bench/open-model.sh), more
    /// than a request's own work; at 10k/s 500 µs batches hold five arrivals where 200 µs ones hold two (one sitting: 1.27×
    /// wrk's CPU per request instead of 1.72×; by hand at 60k/s on one core: p99 lag 0.20 ms instead of 1.27 ms).
    /// <see cref="ReleaseAheadVariable"/> changes it.
    /// </summary>
    public static TimeSpan ReleaseAhead { get; } = ParseReleaseAhead(Environment.GetEnvironmentVariable(ReleaseAheadVariable)).Value ?? TimeSpan.FromMicroseconds(500);

    /// <summary>The value of <see cref="ReleaseAheadVariable"/>: null when unset, else the duration or why it is not one.</summary>
    public static (TimeSpan? Value, string? Error) ParseReleaseAhead(string? text) =>
        string.IsNullOrEmpty(text) ? (null, null)
        : text.Trim() == "0" ? (TimeSpan.Zero, null) // no batching: a wake-up per arrival
        : Core.Text.Durations.TryParse(text, out var value) && value >= TimeSpan.Zero && value <= TimeSpan.FromMilliseconds(10) ? (value, null)
        : (null, $"{ReleaseAheadVariable} must be a duration from 0 to 10ms (e.g. 200us, 1ms), got '{text}'");

    /// <summary>The next arrival of the schedule this runner owns (another agent's are skipped): when it is due, on this runner's clock.</summary>
    internal bool TryNextDue(Core.Load.LoadCurve.ArrivalSchedule schedule, long startTimestamp, out long due)
    {
        while (schedule.TryNext(out var seconds))
        {
            if (Share.OwnsArrival(schedule.Issued - 1))
            {
                due = startTimestamp + (long)(seconds * Time.TimestampFrequency);
                return true;
            }
        }

        due = 0;
        return false;
    }

    /// <summary>
    /// Releases an arrival due at <paramref name="due"/>, at <paramref name="now"/>: its lag is recorded, and it is counted in
    /// flight — or, with maxInFlight requests outstanding, dropped (false).
    /// </summary>
    internal bool TryAdmit(long due, long now)
    {
        ReportLag(now - due);
        if (InFlight >= Spec.Load.MaxInFlight)
        {
            Dropped();
            return false;
        }

        AddInFlight(1);
        return true;
    }

    private void Pace(long startTimestamp)
    {
        var schedule = Curve.Schedule();
        long ahead = (long)(ReleaseAhead.TotalSeconds * Time.TimestampFrequency);
        var token = StopToken;
        while (!token.IsCancellationRequested && !_abort.IsCancellationRequested && TryNextDue(schedule, startTimestamp, out long due))
        {
            long now = Time.GetTimestamp();
            if (due - now > ahead)
            {
                // Sleep (no spin) until the arrival is due; every arrival due within the horizon by then goes out with it.
                if (!WaitUntil(due, token))
                {
                    break;
                }

                now = Time.GetTimestamp();
            }

            if (TryAdmit(due, now))
            {
                _ = Fire(due);
            }
        }
    }

    /// <summary>An arrival not sent (in flight at maxInFlight, or no data row left): each of its requests counts as dropped.</summary>
    private void Dropped()
    {
        for (int i = 0; i < Executors.Count; i++)
        {
            Recorder.RecordDropped();
        }
    }

    private async Task Fire(long intendedTimestamp)
    {
        // A journey is a new user for this arrival: its own jar and data row.
        Session? session = null;
        if (_journey)
        {
            session = new Session(_cookies ? new CookieJar(Time) : null) { Columns = _data?.Columns };
            if (_data is not null)
            {
                if (!_data.TryNext(out var row))
                {
                    Dropped(); // the data is used up and the plan says stop
                    AddInFlight(-1);
                    return;
                }

                session.Row = row;
            }
        }

        Http1Connection? connection;
        lock (_idleLock)
        {
            _idle.TryPop(out connection);
        }

        try
        {
            if (session is not null)
            {
                // The first request is measured from the arrival's intended time, each later one from when the one before it answered.
                for (int i = 0; i < Executors.Count; i++)
                {
                    connection = await Executors[i].ExecuteAsync(connection, i == 0 ? intendedTimestamp : Time.GetTimestamp(), _abort, session).ConfigureAwait(false);
                }
            }
            else
            {
                connection = await Executor.ExecuteAsync(connection, intendedTimestamp, _abort).ConfigureAwait(false);
            }

            if (connection is not null)
            {
                lock (_idleLock)
                {
                    _idle.Push(connection);
                }
            }
        }
        finally
        {
            AddInFlight(-1);
        }
    }
}

/// <summary>
/// Closed model: a number of virtual users, each sending a request, waiting for its answer and thinking,
/// in a loop — JMeter thread-group semantics. The user count follows the curve; with an iteration limit each
/// user stops after that many requests (JMeter's loop count) and the scenario ends once all of them are done.
/// </summary>
public sealed class ClosedModelRunner : ScenarioRunner
{
    private static readonly TimeSpan ControlPeriod = TimeSpan.FromMilliseconds(50);

    // Iteration limit: requests left per user slot (a slot keeps its budget across scale-down and up), and how
    // many slots have used theirs up.
    private readonly int[]? _remaining;
    private int _exhausted;

    private readonly DataFeed? _data;

    public ClosedModelRunner(ScenarioSpec spec, IReadOnlyList<RequestExecutor> executors, TimeProvider time, LoadShare share)
        : base(spec, executors, time, share)
    {
        _data = spec.Data is { } data ? new DataFeed(data, share) : null;
        if (spec.Load.Iterations is { } iterations)
        {
            _remaining = new int[Math.Max(0, share.UsersOf(Curve.Peak))];
            Array.Fill(_remaining, iterations);
        }
    }

    /// <summary>Users keep a session: cookies, data or extracted values.</summary>
    private bool NeedsSession => Spec.EffectiveCookies.Enabled || _data is not null || Spec.Sequence.Any(r => r.Extract.Count > 0);

    public override async Task RunAsync(long startTimestamp, CancellationToken abort)
    {
        var users = new List<(Task Task, CancellationTokenSource Stop)>();
        double freq = Time.TimestampFrequency;
        long end = startTimestamp + (long)(Curve.Duration.TotalSeconds * freq);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(StopToken, abort);
        try
        {
            while (!linked.IsCancellationRequested)
            {
                long now = Time.GetTimestamp();
                if (now >= end || (_remaining is not null && Volatile.Read(ref _exhausted) >= _remaining.Length) || (_data is { Exhausted: true } && users.Count > 0 && InFlight == 0))
                {
                    break; // the duration is over, every user sent its iterations, or the data is used up and its users stopped
                }

                var elapsed = TimeSpan.FromSeconds((now - startTimestamp) / freq);
                int desired = Share.UsersOf(Curve.ValueAt(elapsed));
                while (users.Count < desired)
                {
                    var stop = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
                    int slot = users.Count;
                    users.Add((Task.Run(() => UserLoop(slot, stop.Token, abort), CancellationToken.None), stop));
                }

                while (users.Count > desired)
                {
                    users[^1].Stop.Cancel();
                    users.RemoveAt(users.Count - 1);
                }

                var wait = TimeSpan.FromTicks(Math.Min(ControlPeriod.Ticks, (long)((end - now) / freq * TimeSpan.TicksPerSecond) + 1));
                try
                {
                    await Task.Delay(wait, Time, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            foreach (var u in users)
            {
                u.Stop.Cancel();
            }
        }

        await WaitForUsersAsync().ConfigureAwait(false);

        async Task WaitForUsersAsync()
        {
            // Users whose stop was signalled earlier (scale-down) are still tracked by their tasks' completion via in-flight.
            await Task.WhenAll(users.Select(u => u.Task)).ConfigureAwait(false);
            await DrainAsync(abort).ConfigureAwait(false);

            foreach (var u in users)
            {
                u.Stop.Dispose();
            }
        }
    }

    private async Task UserLoop(int slot, CancellationToken stop, CancellationToken abort)
    {
        Http1Connection? connection = null;
        var think = Spec.Load.ThinkTime;
        var thinkMax = Spec.Load.ThinkTimeMax ?? think;
        var executors = Executors;
        var cookies = Spec.EffectiveCookies;
        var session = NeedsSession ? new Session(cookies.Enabled ? new CookieJar(Time) : null) { Columns = _data?.Columns } : null;
        bool firstIteration = true;
        AddInFlight(1);
        try
        {
            // One iteration sends every request of the sequence in order (one, unless the scenario is a sequence),
            // thinking after each; the iteration limit counts iterations, as JMeter's loop count does.
            while (!stop.IsCancellationRequested)
            {
                int left = int.MaxValue;
                if (_remaining is not null && (slot >= _remaining.Length || (left = Interlocked.Decrement(ref _remaining[slot])) < 0))
                {
                    break; // this user has sent all its iterations
                }

                if (session is not null)
                {
                    session.NewIteration(cookies.ClearEachIteration);
                    if (_data is not null && (firstIteration || Spec.Data!.Bind == Core.Plans.DataBinding.Iteration))
                    {
                        if (!_data.TryNext(out var row))
                        {
                            break; // the data is used up and the plan says stop (JMeter's "stop thread on EOF")
                        }

                        session.Row = row;
                    }
                }

                firstIteration = false;

                for (int i = 0; i < executors.Count && !(i > 0 && stop.IsCancellationRequested); i++)
                {
                    long now = Time.GetTimestamp();
                    connection = await executors[i].ExecuteAsync(connection, now, abort, session).ConfigureAwait(false);
                    bool last = left == 0 && i == executors.Count - 1;
                    var pause = thinkMax > think ? think + ((thinkMax - think) * Random.Shared.NextDouble()) : think;
                    if (!last && pause > TimeSpan.Zero)
                    {
                        try
                        {
                            await Task.Delay(pause, Time, stop).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }
                    }
                }

                if (left == 0)
                {
                    Interlocked.Increment(ref _exhausted);
                    break;
                }
            }
        }
        finally
        {
            AddInFlight(-1);
            if (connection is not null)
            {
                Executor.Close(connection);
            }
        }
    }
}
