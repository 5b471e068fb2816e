using System.Text.Json;
using Constellation.Core.Gate;
using Constellation.Core.Results;

namespace Constellation.Reports.Journal;

/// <summary>
/// Reads a run's journal back and builds its record (run.json) from it: the live run and <c>constellation report
/// RUN-DIR</c> build it the same way, so a completed run's record rebuilt from its journal is the same byte for byte,
/// and a run killed by SIGKILL, an OOM kill or a power loss becomes an <c>aborted</c> record with every second that
/// reached its journal. The per-second series in the record have at most <see cref="MaxPoints"/> points per
/// scenario: a longer run's points each sum several seconds (their latency exactly merged); the journal keeps every
/// second.
/// </summary>
public static class RunJournal
{
    /// <summary>Most points per scenario in run.json: one a second up to an hour, then one per N seconds. Default: 3600.</summary>
    public const int MaxPoints = 3600;

    /// <summary>Whether a run folder has a journal.</summary>
    public static bool Exists(string runDirectory) => File.Exists(EntriesPath(runDirectory));

    /// <summary>Whether a process is writing the journal right now (the run is going); false once it ended or was killed.</summary>
    public static bool IsLive(string runDirectory)
    {
        var path = Path.Combine(RunJournalWriter.FolderOf(runDirectory), RunJournalWriter.LockFile);
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true; // the writer holds its lock
        }
    }

    /// <summary>The record of the run in <paramref name="runDirectory"/>, from its journal alone.</summary>
    public static RunRecord Read(string runDirectory)
    {
        var builder = new RecordBuilder(RunJournalWriter.FolderOf(runDirectory));
        foreach (var entry in Entries(runDirectory))
        {
            builder.Add(entry);
        }

        return builder.Build();
    }

    /// <summary>The seconds of one scenario (scenario-relative) or of the whole run (run-relative, scenarios merged), with their latency, for thresholds.</summary>
    public static IEnumerable<SecondData> Seconds(string runDirectory, string? scenario)
    {
        var folder = RunJournalWriter.FolderOf(runDirectory);
        var logs = new Dictionary<string, (HistogramLogReader Reader, double Offset)>(StringComparer.Ordinal);
        var counts = new HistogramCounts();
        try
        {
            foreach (var entry in Entries(runDirectory))
            {
                if (entry is JournalLoad load)
                {
                    // A request's key names its own series; the run's seconds are the scenarios' (a request's are in them already).
                    foreach (var s in (scenario is null ? load.Scenarios : load.AllSeries).Where(s => scenario is null || s.Name == scenario))
                    {
                        logs[s.Name] = (new HistogramLogReader(Path.Combine(folder, s.File + ".latency.hlog")), s.StartOffsetSeconds);
                    }
                }
                else if (entry is JournalSecond second)
                {
                    var outcomes = new OutcomeCounts();
                    var latency = new List<(long, long)>();
                    bool any = false;
                    foreach (var s in scenario is null ? second.Scenarios : second.Scenarios.Concat(second.Requests))
                    {
                        if (!logs.TryGetValue(s.Scenario, out var log))
                        {
                            continue;
                        }

                        any = true;
                        outcomes += s.Outcomes;
                        counts.Reset();
                        if (Decode(log.Reader.At(log.Offset + s.Second), counts))
                        {
                            latency.AddRange(counts.Buckets());
                        }
                    }

                    if (any)
                    {
                        yield return new SecondData(scenario is null ? second.Second : second.Scenarios.Concat(second.Requests).First(s => s.Scenario == scenario).Second, outcomes, latency);
                    }
                }
            }
        }
        finally
        {
            foreach (var (reader, _) in logs.Values)
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>
    /// The journal's lines in order; a torn last line (the process was killed while writing it) is skipped. Any other
    /// line that is not a well-formed entry makes the journal unreadable (<see cref="InvalidDataException"/>, with
    /// the line's number): a record is never built from a damaged journal as if it were whole.
    /// </summary>
    public static IEnumerable<JournalEntry> Entries(string runDirectory)
    {
        var path = EntriesPath(runDirectory);
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024));
        int number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            JournalEntry? entry;
            string? problem;
            try
            {
                entry = JsonSerializer.Deserialize<JournalEntry>(line, ReadOptions);
                problem = entry is null ? "null" : JournalChecks.Problem(entry);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                (entry, problem) = (null, e.Message);
            }

            if (problem is null)
            {
                yield return entry!;
            }
            else if (reader.EndOfStream)
            {
                yield break; // torn by a kill mid-write
            }
            else
            {
                throw new InvalidDataException($"line {number} of {RunJournalWriter.FolderName}/{RunJournalWriter.EntriesFile} is not a journal entry: {problem}");
            }
        }
    }

    /// <summary>How journal lines are read: as written, and a null where a value is never null is refused.</summary>
    private static readonly JsonSerializerOptions ReadOptions = new(JournalEntry.Options) { RespectNullableAnnotations = true };

    private static string EntriesPath(string runDirectory) => Path.Combine(RunJournalWriter.FolderOf(runDirectory), RunJournalWriter.EntriesFile);

    /// <summary>Adds an encoded histogram; false when there is none or it is torn (the last line of a killed run).</summary>
    private static bool Decode(string? encoded, HistogramCounts into)
    {
        if (encoded is null)
        {
            return false;
        }

        try
        {
            into.AddEncoded(encoded);
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            return false;
        }
    }

    /// <summary>Builds a record from the journal's lines, one at a time: only the points of run.json are kept, never every second.</summary>
    private sealed class RecordBuilder(string folder)
    {
        private readonly Dictionary<string, ScenarioBuilder> _scenarios = new(StringComparer.Ordinal);
        private readonly Dictionary<string, BreakingPoint> _breakingPoints = new(StringComparer.Ordinal);
        private readonly List<GeneratorSecond> _generator = [];
        private readonly Dictionary<(string Group, string Name), (string Unit, List<SeriesPoint> Points)> _series = [];
        private readonly List<ObservedEvent> _events = [];
        private readonly List<ObservationGap> _gaps = [];
        private readonly Dictionary<string, (string Url, double Rate, List<ProbeSample> Samples)> _probes = new(StringComparer.Ordinal);
        private readonly List<JournalObserved> _beforeLoad = [];
        private JournalStart? _start;
        private readonly Dictionary<string, (double CpuSeconds, long Requests)> _cost = new(StringComparer.Ordinal);
        private JournalLoad? _load;
        private JournalEnd? _end;
        private JournalObservation? _observation;
        private GateResult? _gate;
        private IReadOnlyList<StoreStatus> _stores = [];
        private IReadOnlyList<string>? _tags;
        private int _lastSecond = -1;

        public void Add(JournalEntry entry)
        {
            switch (entry)
            {
                case JournalStart start:
                    _start = start;
                    break;
                case JournalLoad load:
                    _load = load;
                    foreach (var s in load.AllSeries)
                    {
                        _scenarios[s.Name] = new ScenarioBuilder(s, folder);
                    }

                    break;
                case JournalSecond second:
                    _lastSecond = second.Second;
                    foreach (var s in second.Scenarios.Concat(second.Requests))
                    {
                        _scenarios.GetValueOrDefault(s.Scenario)?.Add(s);
                    }

                    if (second.Generator is { } g)
                    {
                        _generator.Add(g);
                        Attribute(g, second.Scenarios);
                    }

                    break;
                case JournalStop { Scenario: { } name, BreakingPoint: { } bp }:
                    _breakingPoints.TryAdd(name, bp);
                    break;
                case JournalObserved { OriginUtc: not null } baseline:
                    _beforeLoad.Add(baseline); // moved onto the load's timeline once its start is known
                    break;
                case JournalObserved observed:
                    Observed(observed, 0);
                    break;
                case JournalObservation observation:
                    _observation = observation;
                    break;
                case JournalEnd end:
                    _end = end;
                    break;
                case JournalGate gate:
                    _gate = gate.Gate;
                    break;
                case JournalStores stores:
                    _stores = stores.Stores;
                    break;
                case JournalTags tags:
                    _tags = tags.Tags;
                    break;
            }
        }

        private void Observed(JournalObserved observed, double shift)
        {
            double S(double s) => Math.Round(s + shift, 3);
            foreach (var series in observed.Series)
            {
                if (!_series.TryGetValue((series.Group, series.Name), out var s))
                {
                    _series[(series.Group, series.Name)] = s = (series.Unit, []);
                }

                s.Points.AddRange(shift == 0 ? series.Points : series.Points.Select(p => p with { Seconds = S(p.Seconds) }));
            }

            _events.AddRange(observed.Events.Select(e => shift == 0 ? e : e with { Seconds = S(e.Seconds) }));
            _gaps.AddRange(observed.Gaps.Select(g => shift == 0 ? g : g with { FromSeconds = S(g.FromSeconds), ToSeconds = S(g.ToSeconds) }));
            foreach (var probe in observed.Probes)
            {
                if (!_probes.TryGetValue(probe.Target, out var p))
                {
                    _probes[probe.Target] = p = (probe.Url, probe.RatePerSecond, []);
                }

                p.Samples.AddRange(probe.Samples.Select(x => shift == 0 ? x : x with { Seconds = S(x.Seconds) }));
            }
        }

        public RunRecord Build()
        {
            var start = _start ?? throw new InvalidDataException($"{folder} has no start line: not a run journal");
            var loadStart = _load?.LoadStartUtc ?? start.StartedUtc;
            foreach (var baseline in _beforeLoad)
            {
                Observed(baseline, (baseline.OriginUtc!.Value - loadStart).TotalSeconds);
            }

            _beforeLoad.Clear();
            var ended = _end?.EndedUtc ?? (_load is null ? start.StartedUtc : loadStart + TimeSpan.FromSeconds(_lastSecond + 1));
            var scenarios = new List<ScenarioResult>();
            var journalWarnings = new List<string>();
            var requests = new Dictionary<string, List<ScenarioResult>>(StringComparer.Ordinal);
            foreach (var b in _scenarios.Values.Where(b => b.Spec.Parent is not null))
            {
                var end = _end?.Scenarios.FirstOrDefault(e => e.Name == b.Spec.Parent);
                var request = b.Build(end, null) with { Name = b.Spec.Label ?? b.Spec.Name };
                (requests.TryGetValue(b.Spec.Parent!, out var list) ? list : requests[b.Spec.Parent!] = []).Add(request);
                b.Dispose();
            }

            foreach (var b in _scenarios.Values.Where(b => b.Spec.Parent is null))
            {
                var end = _end?.Scenarios.FirstOrDefault(e => e.Name == b.Spec.Name);
                var scenario = b.Build(end, _breakingPoints.GetValueOrDefault(b.Spec.Name)) with { Requests = requests.GetValueOrDefault(b.Spec.Name) ?? [], Failures = end?.Failures ?? new Dictionary<string, long>() };
                scenarios.Add(scenario with { Capacity = Usl.Model(scenario) });
                if (b.Warning is { } warning)
                {
                    journalWarnings.Add(warning);
                }

                b.Dispose();
            }

            var health = GeneratorHealthAssessor.Assess(_generator);
            health = health with
            {
                Cost = _end?.Distribution is not null ? [] : [.. _cost.Select(c => new GeneratorCost(c.Key, c.Value.Requests, Math.Round(c.Value.CpuSeconds, 3), c.Value.Requests == 0 ? 0 : Math.Round(c.Value.CpuSeconds * 1_000_000 / c.Value.Requests, 3)))],
                Seconds = Downsample(_generator),
                Bottleneck = health.Bottleneck || (_end?.GeneratorBottleneck ?? false),
                Warnings = [.. _end?.Distribution is not null ? _end.GeneratorWarnings : health.Warnings, .. journalWarnings],
            };

            var record = new RunRecord
            {
                RunId = start.RunId,
                PlanName = start.PlanName,
                Status = _end?.Status ?? RunStatus.Aborted,
                Environment = new RunEnvironment
                {
                    ToolVersion = start.ToolVersion,
                    Machine = start.Machine,
                    Os = start.Os,
                    Runtime = start.Runtime,
                    Cores = start.Cores,
                    StartedUtc = loadStart,
                    EndedUtc = ended,
                    Targets = _load?.Targets ?? new Dictionary<string, string>(),
                },
                PlanText = start.PlanText,
                Scenarios = scenarios,
                Generator = health,
                Error = _end is null
                    ? $"the run was killed (SIGKILL, an OOM kill or a power loss) {(_lastSecond < 0 ? "before its first second" : $"after second {_lastSecond}")}: what reached its journal is kept"
                    : _end.Error,
                Tags = _tags ?? start.Tags,
                StartedBy = start.StartedBy,
                CancelledBy = _end?.CancelledBy,
                Distribution = _end?.Distribution,
                Gate = _gate,
                Stores = _stores,
            };

            if (_observation is { } o)
            {
                record = record with { Observation = o.Observation, Observations = o.Series, Events = o.Events };
            }
            else if (_series.Count > 0 || _events.Count > 0 || _gaps.Count > 0 || _probes.Count > 0)
            {
                // Killed before the observer's account: what it streamed (series, events, gaps, probes).
                var seconds = _series.Values.SelectMany(s => s.Points).Select(p => p.Seconds)
                    .Concat(_probes.Values.SelectMany(p => p.Samples).Select(s => s.Seconds)).DefaultIfEmpty(0).ToList();
                record = record with
                {
                    Observation = new Observation
                    {
                        FromSeconds = seconds.Min(),
                        ToSeconds = seconds.Max(),
                        Gaps = _gaps,
                        Probes = [.. _probes.Select(kv => new ProbeResult(kv.Key, kv.Value.Url, kv.Value.Rate, [.. kv.Value.Samples.OrderBy(s => s.Seconds)]))],
                    },
                    Observations = [.. _series.Select(kv => new ObservedSeries(kv.Key.Group, kv.Key.Name, kv.Value.Unit, [.. kv.Value.Points.OrderBy(p => p.Seconds)]))],
                    Events = [.. _events.OrderBy(e => e.Seconds)],
                };
            }

            return record.Observation is null ? record : record with { Scaling = ScalingAnalyzer.Derive(record) };
        }

        /// <summary>At most <see cref="MaxPoints"/> generator seconds: per bucket the worst of each.</summary>
        /// <summary>Splits one second's process CPU over the scenarios by the requests each started in it.</summary>
        private void Attribute(GeneratorSecond g, IReadOnlyList<JournalSample> samples)
        {
            double cpuSeconds = g.CpuPercent / 100 * (_start?.Cores ?? 1);
            long started = samples.Sum(x => x.Started);
            foreach (var x in samples)
            {
                var (cpu, requests) = _cost.GetValueOrDefault(x.Scenario);
                _cost[x.Scenario] = (cpu + (started == 0 ? 0 : cpuSeconds * x.Started / started), requests + x.Started);
            }
        }

        private static IReadOnlyList<GeneratorSecond> Downsample(List<GeneratorSecond> seconds)
        {
            int per = Math.Max(1, (int)Math.Ceiling(seconds.Count / (double)MaxPoints));
            // run.json keeps each second's p99, not its histogram (the journal has those).
            return per == 1 ? [.. seconds.Select(g => g with { PacerLagHistogram = null })] : [.. seconds.Chunk(per).Select(c => GeneratorHealthAssessor.Combine(c[0].Second, c, sumInFlight: false) with { PacerLagHistogram = null })];
        }
    }

    /// <summary>One scenario's points and totals, built second by second from run.jsonl and its interval logs.</summary>
    private sealed class ScenarioBuilder : IDisposable
    {
        private readonly HistogramLogReader _latencyLog;
        private readonly HistogramLogReader _serviceLog;
        private readonly List<SecondSample> _points = [];
        private readonly HistogramCounts _latency = new();
        private readonly HistogramCounts _service = new();
        private readonly HistogramCounts _bucketLatency = new();
        private readonly HistogramCounts _bucketService = new();
        private readonly HistogramCounts _second = new();
        private readonly int _per;
        private OutcomeCounts _outcomes = new();
        private long _bytes;
        private int _seconds;
        private int _missing;
        private int _withRequests;
        private Bucket? _bucket;

        public ScenarioBuilder(JournalScenario spec, string folder)
        {
            Spec = spec;
            _per = Math.Max(1, (int)Math.Ceiling(spec.PlannedSeconds / MaxPoints));
            _latencyLog = new HistogramLogReader(Path.Combine(folder, spec.File + ".latency.hlog"));
            _serviceLog = new HistogramLogReader(Path.Combine(folder, spec.File + ".service.hlog"));
        }

        public JournalScenario Spec { get; }

        /// <summary>What is wrong with the scenario's interval log, or null: a missing or damaged log leaves its latency incomplete.</summary>
        public string? Warning => _missing == 0 ? null
            : $"scenario '{Spec.Name}': {_missing} of {_withRequests} seconds with requests have no latency histogram ({FolderName(Spec.File)} is {(_latencyLog.Exists ? "damaged" : "missing")}): its latency percentiles cover only the other seconds";

        private static string FolderName(string file) => $"{RunJournalWriter.FolderName}/{file}.latency.hlog";

        public void Add(JournalSample s)
        {
            _seconds = Math.Max(_seconds, s.Second + 1);
            _outcomes += s.Outcomes;
            _bytes += s.BytesReceived;
            double at = Spec.StartOffsetSeconds + s.Second;
            var latency = _latencyLog.At(at);
            var service = _serviceLog.At(at);
            _second.Reset();
            if (Decode(latency, _second))
            {
                _latency.Add(_second);
                if (_per > 1)
                {
                    _bucketLatency.Add(_second);
                }
            }
            else if (s.Outcomes.Completed > 0)
            {
                _missing++;
            }

            _withRequests += s.Outcomes.Completed > 0 ? 1 : 0;

            _second.Reset();
            if (Decode(service, _second))
            {
                _service.Add(_second);
                if (_per > 1)
                {
                    _bucketService.Add(_second);
                }
            }

            if (_per == 1)
            {
                // One point a second: the second as the engine summarised it.
                _points.Add(s.ToSecond());
                return;
            }

            int first = s.Second / _per * _per;
            if (_bucket is { } open && open.First != first)
            {
                Close();
            }

            var b = _bucket ??= new Bucket(first);
            b.Offered += s.Offered;
            b.Started += s.Started;
            b.Outcomes += s.Outcomes;
            b.Bytes += s.BytesReceived;
            b.InFlight = Math.Max(b.InFlight, s.InFlight);
        }

        public ScenarioResult Build(JournalScenarioEnd? end, BreakingPoint? breakingPoint)
        {
            Close();
            double duration = end?.DurationSeconds ?? _seconds;
            long completed = _outcomes.Completed;
            return new ScenarioResult
            {
                Name = Spec.Name,
                Target = Spec.Target,
                Model = Spec.Model,
                Url = Spec.Url,
                StartOffsetSeconds = end?.StartOffsetSeconds ?? Spec.StartOffsetSeconds,
                DurationSeconds = duration,
                EndReason = end?.EndReason ?? EndReason.Aborted,
                Seconds = _points,
                SecondsPerPoint = _per,
                Totals = new ScenarioTotals
                {
                    Requests = completed,
                    Outcomes = _outcomes,
                    BytesReceived = _bytes,
                    Rps = duration <= 0 ? 0 : Math.Round(completed / duration, 2),
                    ErrorRate = completed == 0 ? 0 : Math.Round((double)_outcomes.Errors / completed, 6),
                    Latency = _latency.Summarise(),
                    ServiceTime = _service.Summarise(),
                    LatencyHistogram = Histograms.Encode(_latency.ToHistogram()),
                    ServiceTimeHistogram = Histograms.Encode(_service.ToHistogram()),
                },
                BreakingPoint = breakingPoint,
                LatencyLimits = Spec.LatencyLimits,
                Reaction = Spec.Reaction,
            };
        }

        public void Dispose()
        {
            _latencyLog.Dispose();
            _serviceLog.Dispose();
        }

        private void Close()
        {
            if (_bucket is not { } b)
            {
                return;
            }

            _points.Add(new SecondSample
            {
                Second = b.First,
                Offered = Math.Round(b.Offered, 6),
                Started = b.Started,
                Outcomes = b.Outcomes,
                BytesReceived = b.Bytes,
                InFlight = b.InFlight,
                Latency = _bucketLatency.Summarise(),
                ServiceTime = _bucketService.Summarise(),
            });
            _bucketLatency.Reset();
            _bucketService.Reset();
            _bucket = null;
        }

        private sealed class Bucket(int first)
        {
            public int First { get; } = first;
            public double Offered { get; set; }
            public long Started { get; set; }
            public OutcomeCounts Outcomes { get; set; } = new();
            public long Bytes { get; set; }
            public long InFlight { get; set; }
        }
    }
}
