using Constellation.Core.Results;

namespace Constellation.Observer;

/// <summary>
/// The thread-safe sink every sampler writes to: series points, events, gaps and counts, timed in seconds since
/// the observer started. <see cref="Build"/> moves them onto the run's timeline.
/// </summary>
public sealed class ObservationRecorder
{
    /// <summary>An object timestamp older than this when seen was seen late (after a gap): use the object's own time.</summary>
    public static readonly TimeSpan LateTolerance = TimeSpan.FromSeconds(1.5);

    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Group, string Name), (string Unit, List<SeriesPoint> Points)> _series = [];
    private readonly List<ObservedEvent> _events = [];
    private readonly List<ObservationGap> _gaps = [];
    private readonly Dictionary<string, (double From, string Reason)> _openGaps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SamplerCounts> _samplers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Url, double Rate, List<ProbeSample> Samples)> _probes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _probesTaken = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Group, string Name), int> _taken = [];
    private int _eventsTaken;
    private int _gapsTaken;
    private Func<KubernetesTimeline>? _kubernetes;

    public ObservationRecorder(TimeProvider time)
    {
        _time = time;
        _start = time.GetTimestamp();
        OriginUtc = time.GetUtcNow();
    }

    /// <summary>The wall-clock moment that is second 0 of this recorder.</summary>
    public DateTimeOffset OriginUtc { get; }

    /// <summary>Seconds since the observer started.</summary>
    public double Now => _time.GetElapsedTime(_start).TotalSeconds;

    /// <summary>A wall-clock time (e.g. an object's timestamp) on this recorder's timeline.</summary>
    public double ToSeconds(DateTimeOffset utc) => (utc - OriginUtc).TotalSeconds;

    public double ToSeconds(DateTime utc) => ToSeconds(new DateTimeOffset(utc.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(utc, DateTimeKind.Utc) : utc.ToUniversalTime()));

    /// <summary>
    /// When something happened that was just seen: now, unless the object's own timestamp says it happened well
    /// before (seen late, after a gap or in the first list), then that timestamp.
    /// </summary>
    public double Stamp(DateTime? objectTime)
    {
        var now = Now;
        if (objectTime is not { } t)
        {
            return now;
        }

        var s = ToSeconds(t);
        return now - s > LateTolerance.TotalSeconds ? s : now;
    }

    public void Register(string sampler, string kind)
    {
        lock (_gate)
        {
            _samplers.TryAdd(sampler, new SamplerCounts(kind));
        }
    }

    public void Point(string group, string name, string unit, double seconds, double value)
    {
        if (!double.IsFinite(value))
        {
            return;
        }

        lock (_gate)
        {
            if (!_series.TryGetValue((group, name), out var s))
            {
                s = (unit, []);
                _series[(group, name)] = s;
            }

            s.Points.Add(new SeriesPoint(seconds, value));
        }
    }

    public void Event(double seconds, string kind, string text, string? obj = null)
    {
        lock (_gate)
        {
            _events.Add(new ObservedEvent(seconds, kind, text) { Object = obj });
        }
    }

    /// <summary>Counts samples and errors of a sampler.</summary>
    public void Count(string sampler, long samples = 1, long errors = 0)
    {
        lock (_gate)
        {
            var c = Counts(sampler);
            c.Samples += samples;
            c.Errors += errors;
        }
    }

    /// <summary>Samples a sampler has taken so far (progress displays, tests waiting for data).</summary>
    public long SamplesOf(string sampler)
    {
        lock (_gate)
        {
            return _samplers.TryGetValue(sampler, out var c) ? c.Samples + c.Errors : 0;
        }
    }

    /// <summary>Counts a notable occurrence (e.g. "watch resumed") shown with the sampler's report.</summary>
    public void Note(string sampler, string what)
    {
        lock (_gate)
        {
            var c = Counts(sampler);
            c.Notes[what] = c.Notes.GetValueOrDefault(what) + 1;
        }
    }

    /// <summary>Opens a gap for a sampler (or a part of one, e.g. "kubernetes pods demo/spin"); a gap already open stays.</summary>
    public void OpenGap(string key, string reason)
    {
        lock (_gate)
        {
            _openGaps.TryAdd(key, (Now, reason));
        }
    }

    /// <summary>Records a whole gap at once: a sampler that saw nothing of the window from <paramref name="from"/> on (seconds on this recorder's timeline).</summary>
    public void AddGap(string key, double from, string reason)
    {
        lock (_gate)
        {
            _gaps.Add(new ObservationGap(key, from, Now, reason));
        }
    }

    public void CloseGap(string key)
    {
        lock (_gate)
        {
            if (_openGaps.Remove(key, out var g))
            {
                _gaps.Add(new ObservationGap(key, g.From, Now, g.Reason));
            }
        }
    }

    /// <summary>One probe of a control app (recorder seconds), kept as it comes so that a killed run's journal has it.</summary>
    public void Probe(string target, string url, double rate, ProbeSample sample)
    {
        lock (_gate)
        {
            if (!_probes.TryGetValue(target, out var p))
            {
                _probes[target] = p = (url, rate, []);
            }

            p.Samples.Add(sample);
        }
    }

    /// <summary>
    /// What was recorded since the last call, on the run timeline whose second 0 is <paramref name="runStartUtc"/>:
    /// new series points, events and closed gaps — what a run's journal keeps while the run goes.
    /// </summary>
    public ObservedRun TakeNew(DateTimeOffset runStartUtc)
    {
        lock (_gate)
        {
            double shift = (OriginUtc - runStartUtc).TotalSeconds;
            double S(double s) => Math.Round(s + shift, 3);
            var series = new List<ObservedSeries>();
            foreach (var (key, value) in _series)
            {
                int from = _taken.GetValueOrDefault(key);
                if (value.Points.Count > from)
                {
                    series.Add(new ObservedSeries(key.Group, key.Name, value.Unit, [.. value.Points.Skip(from).Select(p => p with { Seconds = S(p.Seconds) })]));
                    _taken[key] = value.Points.Count;
                }
            }

            var events = _events.Skip(_eventsTaken).Select(e => e with { Seconds = S(e.Seconds) }).ToList();
            _eventsTaken = _events.Count;
            var gaps = _gaps.Skip(_gapsTaken).Select(g => g with { FromSeconds = S(g.FromSeconds), ToSeconds = S(g.ToSeconds) }).ToList();
            _gapsTaken = _gaps.Count;
            var probes = new List<ProbeResult>();
            foreach (var (target, p) in _probes)
            {
                int from = _probesTaken.GetValueOrDefault(target);
                if (p.Samples.Count > from)
                {
                    probes.Add(new ProbeResult(target, p.Url, p.Rate, [.. p.Samples.Skip(from).Select(x => x with { Seconds = S(x.Seconds) })]));
                    _probesTaken[target] = p.Samples.Count;
                }
            }

            return new ObservedRun(new Observation { FromSeconds = S(0), ToSeconds = S(Now), Gaps = gaps, Probes = probes }, series, events);
        }
    }

    /// <summary>The Kubernetes sampler hands over its timeline at the end through this.</summary>
    public void SetKubernetes(Func<KubernetesTimeline> timeline) => _kubernetes = timeline;

    /// <summary>
    /// Everything recorded, moved onto the run timeline whose second 0 is <paramref name="runStartUtc"/> (the load
    /// start); gaps still open are closed at the end.
    /// </summary>
    public ObservedRun Build(DateTimeOffset runStartUtc)
    {
        lock (_gate)
        {
            var end = Now;
            foreach (var key in _openGaps.Keys.ToList())
            {
                CloseGap(key);
            }

            double shift = (OriginUtc - runStartUtc).TotalSeconds;
            double S(double s) => Math.Round(s + shift, 3);
            var gaps = _gaps.Select(g => g with { FromSeconds = S(g.FromSeconds), ToSeconds = S(g.ToSeconds) }).OrderBy(g => g.FromSeconds).ToList();
            var samplers = _samplers.Select(kv => new SamplerReport(kv.Key, kv.Value.Kind, kv.Value.Samples, kv.Value.Errors)
            {
                GapSeconds = Math.Round(gaps.Where(g => g.Sampler == kv.Key || g.Sampler.StartsWith(kv.Key + " ", StringComparison.Ordinal)).Sum(g => g.Seconds), 3),
                Notes = kv.Value.Notes.Select(n => n.Value == 1 ? n.Key : $"{n.Key} ({n.Value}×)").ToList(),
            }).ToList();

            var k8s = _kubernetes?.Invoke();
            if (k8s is not null)
            {
                k8s = new KubernetesTimeline
                {
                    Workloads = k8s.Workloads.Select(w => w with { Replicas = w.Replicas.Select(p => p with { Seconds = S(p.Seconds) }).ToList() }).ToList(),
                    Pods = k8s.Pods.Select(p => p with
                    {
                        CreatedSeconds = S(p.CreatedSeconds),
                        ScheduledSeconds = p.ScheduledSeconds is { } a ? S(a) : null,
                        ReadySeconds = p.ReadySeconds is { } b ? S(b) : null,
                        DeletedSeconds = p.DeletedSeconds is { } c ? S(c) : null,
                    }).ToList(),
                    Nodes = k8s.Nodes.Select(n => n with
                    {
                        CreatedSeconds = S(n.CreatedSeconds),
                        ReadySeconds = n.ReadySeconds is { } a ? S(a) : null,
                        GoneSeconds = n.GoneSeconds is { } b ? S(b) : null,
                    }).ToList(),
                };
            }

            var observation = new Observation
            {
                FromSeconds = S(0),
                ToSeconds = S(end),
                Samplers = samplers,
                Gaps = gaps,
                Probes = _probes.Select(kv => new ProbeResult(kv.Key, kv.Value.Url, kv.Value.Rate, kv.Value.Samples.Select(x => x with { Seconds = S(x.Seconds) }).OrderBy(x => x.Seconds).ToList())).ToList(),
                Kubernetes = k8s,
            };
            var series = _series.Select(kv => new ObservedSeries(kv.Key.Group, kv.Key.Name, kv.Value.Unit, kv.Value.Points.Select(p => p with { Seconds = S(p.Seconds) }).OrderBy(p => p.Seconds).ToList())).ToList();
            var events = _events.Select(e => e with { Seconds = S(e.Seconds) }).OrderBy(e => e.Seconds).ToList();
            return new ObservedRun(observation, series, events);
        }
    }

    private SamplerCounts Counts(string sampler)
    {
        if (!_samplers.TryGetValue(sampler, out var c))
        {
            c = new SamplerCounts("other");
            _samplers[sampler] = c;
        }

        return c;
    }

    private sealed class SamplerCounts(string kind)
    {
        public string Kind { get; } = kind;
        public long Samples { get; set; }
        public long Errors { get; set; }
        public Dictionary<string, int> Notes { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>What the observer hands to the run record.</summary>
public sealed record ObservedRun(Observation Observation, IReadOnlyList<ObservedSeries> Series, IReadOnlyList<ObservedEvent> Events);
