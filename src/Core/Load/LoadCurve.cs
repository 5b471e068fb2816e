using Constellation.Core.Plans;

namespace Constellation.Core.Load;

/// <summary>
/// A piecewise-linear load curve (rate in requests/s for the open model, users for the closed one)
/// and the exact arrival schedule it implies: arrival k happens when the integral of the rate reaches k.
/// </summary>
public sealed class LoadCurve
{
    private readonly LoadSegment[] _segments;
    private readonly double[] _startSeconds;
    private readonly double[] _startArrivals;

    public LoadCurve(IReadOnlyList<LoadSegment> segments)
    {
        _segments = [.. segments];
        _startSeconds = new double[_segments.Length + 1];
        _startArrivals = new double[_segments.Length + 1];
        for (int i = 0; i < _segments.Length; i++)
        {
            var d = _segments[i].Duration.TotalSeconds;
            _startSeconds[i + 1] = _startSeconds[i] + d;
            _startArrivals[i + 1] = _startArrivals[i] + ((_segments[i].From + _segments[i].To) / 2 * d);
        }
    }

    public IReadOnlyList<LoadSegment> Segments => _segments;

    public TimeSpan Duration => TimeSpan.FromSeconds(_startSeconds[^1]);

    /// <summary>All arrivals the curve schedules over its whole duration.</summary>
    public double TotalArrivals => _startArrivals[^1];

    /// <summary>The highest value the curve reaches.</summary>
    public double Peak => _segments.Length == 0 ? 0 : _segments.Max(s => Math.Max(s.From, s.To));

    /// <summary>The rate (or user count) at <paramref name="elapsed"/>; 0 outside the curve.</summary>
    public double ValueAt(TimeSpan elapsed)
    {
        var t = elapsed.TotalSeconds;
        int i = SegmentIndexAt(t);
        if (i < 0)
        {
            return 0;
        }

        var seg = _segments[i];
        var d = seg.Duration.TotalSeconds;
        var x = d <= 0 ? 1 : (t - _startSeconds[i]) / d;
        return seg.From + ((seg.To - seg.From) * x);
    }

    /// <summary>The index of the segment in force at <paramref name="elapsed"/>, or -1 outside the curve.</summary>
    public int SegmentIndexAt(TimeSpan elapsed) => SegmentIndexAt(elapsed.TotalSeconds);

    /// <summary>A readable name of the stage in force: its own name, or "stage N".</summary>
    public string StageNameAt(TimeSpan elapsed)
    {
        int i = SegmentIndexAt(elapsed);
        if (i < 0)
        {
            return elapsed < TimeSpan.Zero ? "not started" : "done";
        }

        return _segments[i].Name ?? $"stage {i + 1}";
    }

    /// <summary>Integral of the rate from 0 to <paramref name="elapsed"/>: arrivals scheduled so far.</summary>
    public double CumulativeAt(TimeSpan elapsed)
    {
        var t = elapsed.TotalSeconds;
        if (t <= 0 || _segments.Length == 0)
        {
            return 0;
        }

        if (t >= _startSeconds[^1])
        {
            return _startArrivals[^1];
        }

        int i = SegmentIndexAt(t);
        var seg = _segments[i];
        var d = seg.Duration.TotalSeconds;
        var x = t - _startSeconds[i];
        var slope = d <= 0 ? 0 : (seg.To - seg.From) / d;
        return _startArrivals[i] + (seg.From * x) + (slope * x * x / 2);
    }

    /// <summary>
    /// Arrivals whose intended time falls in [from, to): exactly the number the open-model pacer starts.
    /// Arrival k (k = 0, 1, …) is at the time where the cumulative curve equals k.
    /// </summary>
    public long ArrivalsBetween(TimeSpan from, TimeSpan to) => ArrivalsBefore(to) - ArrivalsBefore(from);

    /// <summary>How many arrivals have an intended time before <paramref name="t"/>: the index of the first one at or after it.</summary>
    public long ArrivalsBefore(TimeSpan t)
    {
        // Arrivals with time < t are those k with k < N(t) — i.e. ceil(N(t)). Snap float noise so that an
        // arrival that lands exactly on a second boundary is counted once and in the later second.
        var n = CumulativeAt(t);
        var rounded = Math.Round(n);
        if (Math.Abs(n - rounded) < 1e-6)
        {
            n = rounded;
        }

        return (long)Math.Ceiling(n);
    }

    /// <summary>Starts a fresh walk over the arrival times.</summary>
    public ArrivalSchedule Schedule() => new(this);

    private int SegmentIndexAt(double t)
    {
        if (t < 0 || _segments.Length == 0 || t >= _startSeconds[^1])
        {
            return -1;
        }

        int i = Array.BinarySearch(_startSeconds, 0, _segments.Length, t);
        if (i < 0)
        {
            i = ~i - 1;
        }

        // Skip zero-length segments that start at the same instant.
        while (i + 1 < _segments.Length && _startSeconds[i + 1] <= t)
        {
            i++;
        }

        return i;
    }

    /// <summary>Walks the intended arrival times of the curve in order, with no allocation per arrival.</summary>
    public sealed class ArrivalSchedule
    {
        private readonly LoadCurve _curve;
        private long _next;
        private int _segment;

        internal ArrivalSchedule(LoadCurve curve) => _curve = curve;

        /// <summary>How many arrival times have been handed out.</summary>
        public long Issued => _next;

        /// <summary>The intended time of the next arrival, in seconds from the curve's start; false when the curve is over.</summary>
        public bool TryNext(out double seconds)
        {
            var c = _curve;
            double k = _next;
            while (_segment < c._segments.Length && c._startArrivals[_segment + 1] <= k)
            {
                _segment++;
            }

            if (_segment >= c._segments.Length)
            {
                seconds = c._startSeconds[^1];
                return false;
            }

            var seg = c._segments[_segment];
            var d = seg.Duration.TotalSeconds;
            var a = seg.From;
            var b = d <= 0 ? 0 : (seg.To - seg.From) / d;
            var dn = k - c._startArrivals[_segment];
            double x;
            if (Math.Abs(b) < 1e-12)
            {
                x = a <= 0 ? 0 : dn / a;
            }
            else
            {
                // a·x + b·x²/2 = dn  →  x = (−a + √(a² + 2·b·dn)) / b
                var disc = Math.Max(0, (a * a) + (2 * b * dn));
                x = (-a + Math.Sqrt(disc)) / b;
            }

            seconds = c._startSeconds[_segment] + Math.Clamp(x, 0, d);
            _next++;
            return true;
        }
    }
}
