using System.Text.Json;
using Constellation.Core.Results;

namespace Constellation.Reports.History;

/// <summary>The few numbers of a run that history and trends need (run-summary.json, next to run.json).</summary>
public sealed record RunSummary
{
    public const string FileName = "run-summary.json";

    public required string RunId { get; init; }
    public required string PlanName { get; init; }
    public required RunStatus Status { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public required double DurationSeconds { get; init; }
    public required IReadOnlyList<ScenarioSummary> Scenarios { get; init; }

    /// <summary>The run's verdict (<see cref="RunVerdict"/>); a summary written before verdicts held the gate's only, or none.</summary>
    public string? Verdict { get; init; }

    /// <summary>The verdict, also of a summary written before verdicts (derived from its status and gate verdict).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Outcome => RunVerdict.Of(Status, Verdict);

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Who started the run and how; who cancelled it.</summary>
    public string? StartedBy { get; init; }

    public string? CancelledBy { get; init; }

    /// <summary>The run's scaling metrics by their threshold names (scale.spin.first_pod_ready, nodes.first_ready, …): for trends.</summary>
    public IReadOnlyDictionary<string, double> Scaling { get; init; } = new Dictionary<string, double>();

    /// <summary>The folder it was read from, under the runs folder (its report is FOLDER/index.html); not stored.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Folder { get; init; }

    /// <summary>The scaling metrics a run tracks across runs, by their threshold names.</summary>
    public static IReadOnlyDictionary<string, double> ScalingOf(ScalingMetrics? m)
    {
        var names = new List<string>();
        if (m is not null)
        {
            // Every metric a threshold can name, so a change threshold on any of them has a history.
            names.AddRange(m.Workloads.SelectMany(w => Core.Gate.ThresholdParser.WorkloadMetrics.Keys.Select(x => $"scale.{w.Deployment}.{x}")));
            names.AddRange(m.Reactions.Select(r => r.Deployment).Distinct().SelectMany(d => Core.Results.ScaleReactionAnalyzer.PhaseNames
                .SelectMany(p => Core.Gate.ThresholdParser.ReactionStats.Select(s => $"scale.{d}.{p.Name}.{s}"))));
            if (m.Nodes is not null)
            {
                names.AddRange(Core.Gate.ThresholdParser.NodeMetrics.Keys.Select(x => $"nodes.{x}"));
            }

            names.AddRange(m.Control.SelectMany(c => Core.Gate.ThresholdParser.ControlMetrics.Keys.Select(x => $"control.{c.Target}.{x}")));
        }

        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (Core.Gate.GateEvaluator.ScalingValue(m, name) is { } v && double.IsFinite(v))
            {
                values[name] = Math.Round(v, 3);
            }
        }

        return values;
    }

    /// <summary>
    /// Whether the summary holds what a run can measure: every field there, numbers finite, not negative, rates and
    /// latencies within what an engine records (a hand-made or damaged summary with null scenarios, 1e308 ms or a
    /// negative p95 is not listed, nor charted, nor judged).
    /// </summary>
    public bool IsPlausible()
    {
        static bool Ok(double v, double max) => double.IsFinite(v) && v >= 0 && v <= max;
        const double MaxMs = 1e10; // the histograms' top is 1 h; this leaves room and stays a TimeSpan
        return !string.IsNullOrEmpty(RunId) && PlanName is not null && Scenarios is not null && Tags is not null && Scaling is not null
            && double.IsFinite(DurationSeconds) // a clock stepped back during a run can make it a little negative
            && Tags.All(t => t is not null)
            && Scaling.Values.All(v => double.IsFinite(v) && Math.Abs(v) <= 1e12) // a p95 delta may be negative
            && Scenarios.All(s => s is not null && s.Name is not null && s.Requests >= 0 && Ok(s.Rps, 1e9) && Ok(s.ErrorRate, 1)
                && Ok(s.P95Ms, MaxMs) && Ok(s.P99Ms, MaxMs) && (s.BrokeAt is not { } b || Ok(b, 1e9)) && (s.LastHealthy is not { } h || Ok(h, 1e9)));
    }

    public static RunSummary From(RunRecord run) => new()
    {
        Scaling = ScalingOf(run.Scaling),
        StartedBy = run.StartedBy,
        CancelledBy = run.CancelledBy,
        RunId = run.RunId,
        PlanName = run.PlanName,
        Status = run.Status,
        StartedUtc = run.Environment.StartedUtc,
        DurationSeconds = Math.Round((run.Environment.EndedUtc - run.Environment.StartedUtc).TotalSeconds, 3),
        Scenarios = [.. run.Scenarios.Select(s => new ScenarioSummary(
            s.Name,
            s.Totals.Requests,
            s.Totals.Rps,
            s.Totals.ErrorRate,
            s.Totals.Latency.P95Ms,
            s.Totals.Latency.P99Ms,
            s.BreakingPoint?.OfferedAtFailure,
            s.BreakingPoint?.LastHealthyOffered,
            s.BreakingPoint?.Unit))],
        Verdict = RunVerdict.Of(run),
        Tags = run.Tags,
    };

    /// <summary>Largest run-summary.json read (an S3 listing holds the same cap).</summary>
    public const long MaxBytes = 1024 * 1024;

    /// <summary>Largest run.json read to make a summary of.</summary>
    public const long MaxRecordBytes = 128L * 1024 * 1024;

    /// <summary>
    /// The summary of a run folder, or null when it holds none that can be trusted: no file, a file that is not a
    /// regular one (a FIFO, a device: never opened, so never blocks), too big, malformed, or with numbers no run
    /// measures (see <see cref="IsPlausible"/>).
    /// </summary>
    public static async Task<RunSummary?> TryReadAsync(string runDirectory, CancellationToken ct)
    {
        try
        {
            var path = Path.Combine(runDirectory, FileName);
            if (File.Exists(path))
            {
                // A FIFO or a device has no size: it is skipped without being opened.
                var info = new FileInfo(path);
                if (info.Length is 0 or > MaxBytes)
                {
                    return null;
                }

                await using var stream = File.OpenRead(path);
                var summary = await JsonSerializer.DeserializeAsync<RunSummary>(stream, RunRecordJson.ReadOptions, ct).ConfigureAwait(false);
                return summary is not null && summary.IsPlausible() ? summary : null;
            }

            var record = Path.Combine(runDirectory, "run.json");
            if (File.Exists(record))
            {
                var info = new FileInfo(record);
                if (info.Length is 0 or > MaxRecordBytes)
                {
                    return null;
                }

                var summary = From(await RunRecordJson.ReadAsync(record, ct).ConfigureAwait(false));
                return summary.IsPlausible() ? summary : null;
            }

            // A run killed before it wrote run.json: what its journal holds, as an aborted run (one still going is not listed yet).
            return Journal.RunJournal.Exists(runDirectory) && !Journal.RunJournal.IsLive(runDirectory) ? From(Journal.RunJournal.Read(runDirectory)) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException or NotSupportedException or UnauthorizedAccessException)
        {
            return null; // a half-written or foreign folder is not a run
        }
    }
}

/// <summary>A scenario's key numbers in a run summary.</summary>
/// <remarks>A summary from elsewhere (a damaged file, a foreign bucket) is checked with <see cref="RunSummary.IsPlausible"/> before it is listed.</remarks>
public sealed record ScenarioSummary(
    string Name,
    long Requests,
    double Rps,
    double ErrorRate,
    double P95Ms,
    double P99Ms,
    double? BrokeAt,
    double? LastHealthy,
    string? Unit);
