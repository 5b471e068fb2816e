using System.Text.RegularExpressions;
using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Reports.Journal;

namespace Constellation.Runs.Listeners;

/// <summary>
/// The run journal as a listener: the load's start, every second (counts into run.jsonl, histograms into the
/// scenarios' interval logs), every stop, and what the observer saw since the last second — so that a run killed at
/// any moment leaves everything up to its last second.
/// </summary>
public sealed partial class JournalListener(RunJournalWriter journal, IReadOnlyDictionary<string, Uri> targets, Observer.ObservationRecorder? observer) : IRunListener
{
    private DateTimeOffset _loadStart;

    public void OnStart(RunStart start, IRunControl control)
    {
        _loadStart = start.LoadStartUtc;
        var files = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        journal.Load(new JournalLoad
        {
            LoadStartUtc = start.LoadStartUtc,
            Targets = targets.ToDictionary(kv => kv.Key, kv => PlanRedactor.RedactUrl(kv.Value), StringComparer.Ordinal),
            Scenarios = [.. start.Scenarios.Select(s => new JournalScenario
            {
                Name = s.Spec.Name,
                Target = s.Spec.Target,
                Model = s.Spec.Load.Model.ToString().ToLowerInvariant(),
                Url = s.RecordedUrl,
                StartOffsetSeconds = Math.Round(s.Spec.StartAfter.TotalSeconds),
                PlannedSeconds = Math.Ceiling(s.Spec.Load.Duration.TotalSeconds),
                File = FileName(s.Spec.Name, files),
                LatencyLimits = [.. s.Spec.StopWhen.Where(c => c.Metric is StopMetric.Percentile or StopMetric.Mean).Select(c => new Core.Results.LatencyLimit(c.Text, c.Threshold))],
                Reaction = Core.Results.ReactionScope.For(s.Spec),
            })],
            Requests = [.. start.Scenarios.SelectMany(s => s.RequestSeries().Select(request => new JournalScenario
            {
                Name = RequestLabels.Key(s.Spec.Name, request.Label),
                Parent = s.Spec.Name,
                Label = request.Label,
                Target = s.Spec.Target,
                Model = s.Spec.Load.Model.ToString().ToLowerInvariant(),
                Url = request.Url,
                StartOffsetSeconds = Math.Round(s.Spec.StartAfter.TotalSeconds),
                PlannedSeconds = Math.Ceiling(s.Spec.Load.Duration.TotalSeconds),
                File = FileName($"{s.Spec.Name}.{request.Label}", files),
            }))],
        });
    }

    public void OnSecond(RunSecond second)
    {
        journal.Second(second.Second, [.. second.Scenarios.Select(s => (s.Scenario, s.Sample))], second.Generator, [.. second.Requests.Select(s => (s.Scenario, s.Sample))]);
        if (observer is not null)
        {
            Observed(journal, observer, _loadStart, origin: null);
        }
    }

    /// <summary>
    /// Journals what the observer saw since its last line, seconds counted from <paramref name="timelineStart"/> (the
    /// load's start; before it is known, the recorder's own start, given as <paramref name="origin"/>).
    /// </summary>
    public static void Observed(RunJournalWriter journal, Observer.ObservationRecorder observer, DateTimeOffset timelineStart, DateTimeOffset? origin)
    {
        var seen = observer.TakeNew(timelineStart);
        if (seen.Series.Count > 0 || seen.Events.Count > 0 || seen.Observation.Gaps.Count > 0 || seen.Observation.Probes.Count > 0)
        {
            journal.Append(new JournalObserved { OriginUtc = origin, Series = seen.Series, Events = seen.Events, Gaps = seen.Observation.Gaps, Probes = seen.Observation.Probes });
        }
    }

    public void OnStop(RunStop stop) =>
        journal.Append(new JournalStop { Second = stop.Second, Scenario = stop.Scenario, Reason = stop.Reason, BreakingPoint = stop.BreakingPoint });

    /// <summary>A file name for a scenario's interval logs: its name made safe, unique in the run.</summary>
    private static string FileName(string scenario, HashSet<string> taken)
    {
        var slug = Unsafe().Replace(scenario, "-").Trim('-', '.');
        slug = slug.Length == 0 ? "scenario" : slug.Length > 60 ? slug[..60] : slug;
        var name = slug;
        for (int i = 2; !taken.Add(name); i++)
        {
            name = $"{slug}-{i}";
        }

        return name;
    }

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex Unsafe();
}
