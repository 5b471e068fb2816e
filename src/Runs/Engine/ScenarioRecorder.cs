using Constellation.Core.Results;
using Constellation.Runs.Http;
using HdrHistogram;

namespace Constellation.Runs.Engine;

/// <summary>
/// Lock-free per-scenario recording: two interval recorders (latency from intended start, service time
/// from send) and outcome counters, drained once a second. Memory is constant however long the run.
/// </summary>
public sealed class ScenarioRecorder
{
    private readonly Recorder _latency = Histograms.CreateRecorder();
    private readonly Recorder _service = Histograms.CreateRecorder();
    private readonly long[] _counts = new long[16 * 8]; // one cache line per outcome slot
    private long _bytes;
    private long _started;

    private const int DroppedSlot = 15;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);

    public void RecordStarted() => Interlocked.Increment(ref _started);

    /// <summary>Counts a named reason a check failed (an extractor that found nothing); at most 100 distinct reasons are kept.</summary>
    public void RecordFailure(string reason)
    {
        if (_failures.TryGetValue(reason, out _) || Volatile.Read(ref _failureKinds) < 100)
        {
            if (_failures.AddOrUpdate(reason, 1, (_, n) => n + 1) == 1)
            {
                Interlocked.Increment(ref _failureKinds); // a reason seen for the first time (ConcurrentDictionary.Count would lock every bucket)
            }
        }
    }

    private int _failureKinds;

    /// <summary>The named failures so far, by reason.</summary>
    public IReadOnlyDictionary<string, long> Failures => new SortedDictionary<string, long>(_failures, StringComparer.Ordinal);

    public void RecordDropped() => Interlocked.Increment(ref _counts[DroppedSlot * 8]);

    public void RecordCompleted(Outcome outcome, long latencyMicros, long serviceMicros, long bytes)
    {
        if (outcome == Outcome.Cancelled)
        {
            // Cut off by a hard stop: counted, but no latency (the request never ended).
            Interlocked.Increment(ref _counts[(int)outcome * 8]);
            return;
        }

        _latency.RecordValue(Math.Clamp(latencyMicros, Histograms.LowestMicros, Histograms.HighestMicros));
        _service.RecordValue(Math.Clamp(serviceMicros, Histograms.LowestMicros, Histograms.HighestMicros));
        Interlocked.Increment(ref _counts[(int)outcome * 8]);
        if (bytes > 0)
        {
            Interlocked.Add(ref _bytes, bytes);
        }
    }

    /// <summary>
    /// Moves everything recorded since the last call into the given histograms (overwriting them) and returns
    /// the counts. Only one thread may call this. Reusing the targets keeps the sampler from allocating two
    /// large histograms every second.
    /// </summary>
    public Interval TakeInterval(LongHistogram latencyInto, LongHistogram serviceTimeInto)
    {
        _latency.GetIntervalHistogramInto(latencyInto);
        _service.GetIntervalHistogramInto(serviceTimeInto);
        var counts = new OutcomeCounts
        {
            Status2xx = Interlocked.Exchange(ref _counts[(int)Outcome.Status2xx * 8], 0),
            Status3xx = Interlocked.Exchange(ref _counts[(int)Outcome.Status3xx * 8], 0),
            Status4xx = Interlocked.Exchange(ref _counts[(int)Outcome.Status4xx * 8], 0),
            Status5xx = Interlocked.Exchange(ref _counts[(int)Outcome.Status5xx * 8], 0),
            Timeout = Interlocked.Exchange(ref _counts[(int)Outcome.Timeout * 8], 0),
            ConnectionError = Interlocked.Exchange(ref _counts[(int)Outcome.ConnectionError * 8], 0),
            CheckFailed = Interlocked.Exchange(ref _counts[(int)Outcome.CheckFailed * 8], 0),
            Dropped = Interlocked.Exchange(ref _counts[DroppedSlot * 8], 0),
            Cancelled = Interlocked.Exchange(ref _counts[(int)Outcome.Cancelled * 8], 0),
        };
        return new Interval(latencyInto, serviceTimeInto, counts, Interlocked.Exchange(ref _bytes, 0), Interlocked.Exchange(ref _started, 0));
    }

    /// <summary>One interval's worth of recording.</summary>
    public sealed record Interval(LongHistogram Latency, LongHistogram ServiceTime, OutcomeCounts Counts, long Bytes, long Started);
}
