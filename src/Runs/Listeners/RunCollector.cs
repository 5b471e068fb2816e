using Constellation.Core.Results;
using Constellation.Runs.Engine;

namespace Constellation.Runs.Listeners;

/// <summary>
/// Keeps every second in memory and makes the engine's convenience result of them: for tests, ad-hoc <c>load</c>
/// and other short runs. A run with a record uses the journal instead, whose memory does not grow.
/// </summary>
public sealed class RunCollector : IRunListener
{
    private readonly Dictionary<string, List<SecondSample>> _seconds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BreakingPoint> _breakingPoints = new(StringComparer.Ordinal);
    private readonly List<GeneratorSecond> _generator = [];
    private IReadOnlyList<ResolvedScenario> _scenarios = [];

    public void OnStart(RunStart start, IRunControl control) => _scenarios = start.Scenarios;

    public void OnSecond(RunSecond second)
    {
        foreach (var s in second.Scenarios.Concat(second.Requests))
        {
            if (!_seconds.TryGetValue(s.Scenario, out var list))
            {
                _seconds[s.Scenario] = list = [];
            }

            list.Add(s.Sample);
        }

        if (second.Generator is { } g)
        {
            _generator.Add(g);
        }
    }

    public void OnStop(RunStop stop)
    {
        if (stop is { Scenario: { } name, BreakingPoint: { } bp })
        {
            _breakingPoints.TryAdd(name, bp);
        }
    }

    /// <summary>What was collected, as the engine's result.</summary>
    public EngineResult Result(RunEnd end)
    {
        var results = new List<ScenarioResult>();
        foreach (var r in _scenarios)
        {
            var spec = r.Spec;
            var seconds = SecondsOf(spec.Name);
            var ended = end.Scenarios.FirstOrDefault(e => e.Name == spec.Name) ?? new ScenarioEnd(spec.Name, spec.StartAfter.TotalSeconds, seconds.Count, EndReason.Completed);
            results.Add(Series(spec.Name, r.RecordedUrl, seconds) with
            {
                BreakingPoint = _breakingPoints.GetValueOrDefault(spec.Name),
                LatencyLimits = [.. spec.StopWhen.Where(c => c.Metric is Core.Load.StopMetric.Percentile or Core.Load.StopMetric.Mean).Select(c => new LatencyLimit(c.Text, c.Threshold))],
                Reaction = ReactionScope.For(spec),
                Failures = ended.Failures,
                Requests = [.. r.RequestSeries().Select(request => Series(request.Label, request.Url, SecondsOf(Core.Plans.RequestLabels.Key(spec.Name, request.Label))))],
            });

            // One series of the scenario (itself, or one request of its sequence): its seconds and totals over its time.
            ScenarioResult Series(string name, string url, IReadOnlyList<SecondSample> own) => new()
            {
                Name = name,
                Target = spec.Target,
                Model = spec.Load.Model.ToString().ToLowerInvariant(),
                Url = url,
                StartOffsetSeconds = ended.StartOffsetSeconds,
                DurationSeconds = ended.DurationSeconds,
                EndReason = ended.EndReason,
                Seconds = own,
                Totals = ScenarioTotalsCalculator.FromSamples(own, ended.DurationSeconds),
            };
        }

        return new EngineResult(results, GeneratorHealthAssessor.Assess(_generator), end.LoadStartUtc, end.EndedUtc, end.Cancelled) { AbortedBy = end.AbortedBy };
    }

    /// <summary>A series' collected seconds (a scenario's, or one request's by its key), none if it had none.</summary>
    private IReadOnlyList<SecondSample> SecondsOf(string key) => (IReadOnlyList<SecondSample>?)_seconds.GetValueOrDefault(key) ?? [];
}
