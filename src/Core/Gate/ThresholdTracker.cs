using HdrHistogram;
using Constellation.Core.Results;

namespace Constellation.Core.Gate;

/// <summary>One second of a scope (a scenario, or the run with every scenario merged): counts and the latency histogram as sparse buckets.</summary>
public sealed record SecondData(int Second, OutcomeCounts Outcomes, IReadOnlyList<(long ValueUs, long Count)> Latency)
{
    /// <summary>
    /// The seconds of one scenario (scenario-relative) or one of its requests (by its <see cref="Plans.RequestLabels.Key"/>),
    /// or of the whole run (run-relative, scenarios merged).
    /// </summary>
    public static IReadOnlyList<SecondData> Of(RunRecord run, string? scenario)
    {
        var scenarios = scenario is null ? run.Scenarios
            : run.Scenarios.Where(s => s.Name == scenario)
                .Concat(run.Scenarios.SelectMany(s => s.Requests.Where(r => Plans.RequestLabels.Key(s.Name, r.Name) == scenario)))
                .ToList();
        var bySecond = new SortedDictionary<int, (OutcomeCounts Outcomes, List<(long, long)> Latency)>();
        foreach (var s in scenarios)
        {
            int offset = scenario is null ? (int)Math.Round(s.StartOffsetSeconds) : 0;
            foreach (var x in s.Seconds)
            {
                var key = offset + x.Second;
                var (o, l) = bySecond.TryGetValue(key, out var e) ? e : (new OutcomeCounts(), new List<(long, long)>());
                l.AddRange(Sparse(x.LatencyHistogram));
                bySecond[key] = (o + x.Outcomes, l);
            }
        }

        return bySecond.Select(kv => new SecondData(kv.Key, kv.Value.Outcomes, kv.Value.Latency)).ToList();
    }

    /// <summary>A second as the engine just recorded it, for the live gate.</summary>
    public static SecondData From(int second, SecondSample sample) => new(second, sample.Outcomes, Sparse(sample.LatencyHistogram));

    /// <summary>The non-empty buckets of an encoded histogram: (highest equivalent value in µs, count).</summary>
    public static IReadOnlyList<(long ValueUs, long Count)> Sparse(string? encoded)
    {
        if (encoded is null)
        {
            return [];
        }

        var h = Histograms.Decode(encoded);
        var result = new List<(long, long)>();
        foreach (var v in h.RecordedValues())
        {
            result.Add((h.HighestEquivalentValue(v.ValueIteratedTo), v.CountAddedInThisIterationStep));
        }

        return result;
    }
}

/// <summary>
/// Follows one threshold over a scope's seconds in order — all at once after the run, or one at a time while it
/// runs (abortOnFail) — and says whether it holds. Windows slide by adding the newest second and taking out the
/// oldest, so an hour-long run is evaluated in one pass.
/// </summary>
public sealed class ThresholdTracker
{
    private readonly Threshold _threshold;
    private readonly Func<int, bool> _inScope;
    private readonly Queue<SecondData> _window = new();
    private readonly Bucketed _sum = new();
    private double? _worst;
    private (int From, int To)? _worstAt;
    private (int From, int To)? _failedAt;
    private bool _sawFullWindow;

    /// <param name="threshold">The threshold to follow.</param>
    /// <param name="inScope">Which seconds count (after a warm-up, inside a stage); all when null.</param>
    public ThresholdTracker(Threshold threshold, Func<int, bool>? inScope = null)
    {
        _threshold = threshold;
        _inScope = inScope ?? (_ => true);
    }

    /// <summary>True once a sliding window has broken the threshold: it cannot pass any more.</summary>
    public bool Lost => _failedAt is not null;

    public void Add(SecondData second)
    {
        if (!_inScope(second.Second))
        {
            return;
        }

        _sum.Add(second);
        if (_threshold.Window.Kind != WindowKind.OverAny)
        {
            return;
        }

        _window.Enqueue(second);
        if (_window.Count > (int)_threshold.Window.Length.TotalSeconds)
        {
            _sum.Remove(_window.Dequeue());
        }

        if (_window.Count == (int)_threshold.Window.Length.TotalSeconds)
        {
            _sawFullWindow = true;
            var value = Value(_threshold, _sum);
            if (value is { } v)
            {
                var at = (_window.Peek().Second, second.Second + 1);
                if (_worst is null || Worse(v, _worst.Value))
                {
                    (_worst, _worstAt) = (v, at);
                }

                if (!_threshold.Holds(v))
                {
                    _failedAt ??= at;
                }
            }
        }
    }

    /// <summary>The outcome on the seconds added so far: the value (the worst window's for sliding windows), whether it holds, and where.</summary>
    public (double? Value, bool Holds, string? Detail) Current()
    {
        if (_threshold.Window.Kind == WindowKind.OverAny && _sawFullWindow)
        {
            var detail = _failedAt is { } f
                ? $"first broken in seconds {f.From}–{f.To}; worst window {_worstAt!.Value.From}–{_worstAt.Value.To}"
                : $"worst window: seconds {_worstAt?.From}–{_worstAt?.To}";
            return (_worst, _failedAt is null, _worst is null ? "no requests in any window" : detail);
        }

        var value = Value(_threshold, _sum);
        var note = _threshold.Window.Kind == WindowKind.OverAny ? $"shorter than one {Text.Durations.Format(_threshold.Window.Length)} window: judged on all {_sum.Seconds} s" : null;
        return value is { } v ? (v, _threshold.Holds(v), note) : (null, false, "no requests to measure");
    }

    /// <summary>The metric over a set of seconds; null when there is nothing to measure (no requests for a latency).</summary>
    internal static double? Value(Threshold t, Bucketed b) => t.Kind switch
    {
        ThresholdMetricKind.Percentile => b.Percentile(t.Percentile) / 1000.0,
        ThresholdMetricKind.Avg => b.Mean() / 1000.0,
        ThresholdMetricKind.Max => b.Max() / 1000.0,
        ThresholdMetricKind.ErrorRate => b.Outcomes.Completed == 0 ? null : b.Outcomes.Errors / (double)b.Outcomes.Completed,
        ThresholdMetricKind.Rate => b.Seconds == 0 ? null : b.Outcomes.Ok / (double)b.Seconds,
        ThresholdMetricKind.Dropped => b.Outcomes.Dropped,
        ThresholdMetricKind.Requests => b.Outcomes.Completed,
        _ => null,
    };

    /// <summary>Worse for this threshold: higher when it caps the metric from above, lower when from below.</summary>
    private bool Worse(double candidate, double current) => _threshold.Operator is ">" or ">=" ? candidate < current : candidate > current;

    /// <summary>Latency buckets and counts of a set of seconds, with seconds added and taken out.</summary>
    internal sealed class Bucketed
    {
        private readonly SortedDictionary<long, long> _buckets = [];
        private long _total;

        public OutcomeCounts Outcomes { get; private set; } = new();
        public int Seconds { get; private set; }

        public void Add(SecondData s) => Apply(s, 1);

        public void Remove(SecondData s) => Apply(s, -1);

        public double? Percentile(double p)
        {
            if (_total == 0)
            {
                return null;
            }

            // As HdrHistogram counts it: the value at or below which p% of the values fall (at least one).
            long target = Math.Max(1, (long)((p / 100 * _total) + 0.5));
            long seen = 0;
            foreach (var (value, count) in _buckets)
            {
                seen += count;
                if (seen >= target)
                {
                    return value;
                }
            }

            return _buckets.Keys.Last();
        }

        public double? Mean() => _total == 0 ? null : _buckets.Sum(b => (double)b.Key * b.Value) / _total;

        public double? Max() => _total == 0 ? null : _buckets.Keys.Last();

        private void Apply(SecondData s, int sign)
        {
            Seconds += sign;
            Outcomes = sign > 0 ? Outcomes + s.Outcomes : Subtract(Outcomes, s.Outcomes);
            foreach (var (value, count) in s.Latency)
            {
                var n = _buckets.GetValueOrDefault(value) + (sign * count);
                if (n == 0)
                {
                    _buckets.Remove(value);
                }
                else
                {
                    _buckets[value] = n;
                }

                _total += sign * count;
            }
        }

        private static OutcomeCounts Subtract(OutcomeCounts a, OutcomeCounts b) => new()
        {
            Status2xx = a.Status2xx - b.Status2xx,
            Status3xx = a.Status3xx - b.Status3xx,
            Status4xx = a.Status4xx - b.Status4xx,
            Status5xx = a.Status5xx - b.Status5xx,
            Timeout = a.Timeout - b.Timeout,
            ConnectionError = a.ConnectionError - b.ConnectionError,
            CheckFailed = a.CheckFailed - b.CheckFailed,
            Dropped = a.Dropped - b.Dropped,
            Cancelled = a.Cancelled - b.Cancelled,
        };
    }
}
