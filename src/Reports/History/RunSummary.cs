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

    /// <summary>The scaling metrics a run tracks across runs, by their threshold names.</summary>
    public static IReadOnlyDictionary<string, double> ScalingOf(ScalingMetrics? m)
    {
        var names = new List<string>();
        if (m is not null)
        {
            // Every metric a threshold can name (ThresholdParser's list), so a change threshold on any of them has a history.
            names.AddRange(m.Workloads.SelectMany(w => new[] { "first_hpa_increase", "first_pod_ready", "time_to_peak", "peak_replicas", "longest_pending", "scale_in_start", "scale_in" }.Select(x => $"scale.{w.Deployment}.{x}")));
            if (m.Nodes is not null)
            {
                names.AddRange(["nodes.first_ready", "nodes.peak", "nodes.minutes", "nodes.scale_in"]);
            }

            names.AddRange(m.Control.SelectMany(c => new[] { "p95_delta", "p95", "baseline_p95", "errors" }.Select(x => $"control.{c.Target}.{x}")));
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

    public static async Task<RunSummary?> TryReadAsync(string runDirectory, CancellationToken ct)
    {
        try
        {
            var path = Path.Combine(runDirectory, FileName);
            if (File.Exists(path))
            {
                await using var stream = File.OpenRead(path);
                return await JsonSerializer.DeserializeAsync<RunSummary>(stream, RunRecordJson.ReadOptions, ct).ConfigureAwait(false);
            }

            var record = Path.Combine(runDirectory, "run.json");
            if (File.Exists(record))
            {
                return From(await RunRecordJson.ReadAsync(record, ct).ConfigureAwait(false));
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
