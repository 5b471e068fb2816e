using Constellation.Core.Results;
using Constellation.Reports.Journal;

namespace Constellation.Runs.Distributed;

/// <summary>
/// What a killed coordinator's agents left behind: they noticed it was gone (its pipe closed, or its heartbeat stood
/// still for the lease), stopped, and wrote their last seconds and their result into the exchange, which nobody
/// merged. This merges those seconds into the run's journal after the last one it holds, records each agent's part
/// and ends the journal as an aborted run; then it deletes the exchange, as the coordinator would have.
/// </summary>
public static class AgentRecovery
{
    /// <summary>Recovers the agents of the run in <paramref name="runDirectory"/>, if it has a local exchange; returns what was done, or null.</summary>
    public static string? Recover(string runDirectory, TimeProvider time)
    {
        var folder = Path.Combine(runDirectory, RunPipeline.ExchangeFolder);
        if (!Directory.Exists(folder) || !RunJournal.Exists(runDirectory) || RunJournal.IsLive(runDirectory))
        {
            return null;
        }

        var entries = RunJournal.Entries(runDirectory).ToList();
        if (entries.OfType<JournalEnd>().Any() || entries.OfType<JournalLoad>().FirstOrDefault() is not { } load)
        {
            return null; // ended (the exchange is a leftover), or killed before the load
        }

        using var exchange = new FolderExchange(folder);
        var assignment = exchange.GetAsync<AgentAssignment>(AgentProtocol.AssignmentKey, CancellationToken.None).GetAwaiter().GetResult();
        if (assignment is null)
        {
            return null;
        }

        int journaled = entries.OfType<JournalSecond>().Select(s => s.Second).DefaultIfEmpty(-1).Max();
        var agents = Enumerable.Range(0, assignment.Weights.Count).ToList();
        var seconds = new SortedDictionary<int, List<AgentSecond>>();
        var lastOf = agents.ToDictionary(i => i, _ => journaled);
        foreach (var i in agents)
        {
            foreach (var key in exchange.ListAsync(AgentProtocol.SecondsPrefix(i), AgentProtocol.SecondKey(i, journaled), CancellationToken.None).GetAwaiter().GetResult())
            {
                if (exchange.GetAsync<AgentSecond>(key, CancellationToken.None).GetAwaiter().GetResult() is { } second)
                {
                    (seconds.TryGetValue(second.RunSecond, out var list) ? list : seconds[second.RunSecond] = []).Add(second);
                    lastOf[i] = Math.Max(lastOf[i], second.RunSecond);
                }
            }
        }

        var outcomes = agents.Select(i => exchange.GetAsync<AgentOutcome>(AgentProtocol.ResultKey(i), CancellationToken.None).GetAwaiter().GetResult()).ToList();
        var statuses = agents.Select(i => exchange.GetAsync<AgentStatus>(AgentProtocol.StatusKey(i), CancellationToken.None).GetAwaiter().GetResult()).ToList();
        int last = journaled;
        using (var journal = RunJournalWriter.Reopen(runDirectory, load, time))
        {
            foreach (var (runSecond, parts) in seconds)
            {
                static List<(string, SecondSample)> Merge(IEnumerable<AgentSample> samples) => [.. samples.GroupBy(s => (s.Scenario, s.Second))
                    .Select(g => (g.Key.Scenario, RunMerger.MergeSecond(g.Key.Second, [.. g.Select(x => x.Sample)])))];
                var generators = parts.Select(p => p.Generator).OfType<GeneratorSecond>().ToList();
                var requestKeys = load.Requests.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
                journal.Second(runSecond, Merge(parts.SelectMany(p => p.Samples)), generators.Count == 0 ? null : GeneratorHealthAssessor.Combine(runSecond, generators, sumInFlight: true), Merge(parts.SelectMany(p => p.Requests).Where(r => requestKeys.Contains(r.Scenario))));
                last = runSecond;
            }

            var summaries = agents.Select(i => new AgentSummary
            {
                Index = i,
                Weight = assignment.Weights[i],
                Share = Math.Round(assignment.Weights[i] / (double)assignment.Weights.Sum(), 4),
                State = outcomes[i] is null ? AgentState.Failed : AgentState.Orphaned,
                Host = outcomes[i]?.Host ?? statuses[i]?.Host,
                Error = statuses[i]?.Error ?? (outcomes[i] is null ? "it left no result" : null),
                LastSecond = lastOf[i],
                Requests = outcomes[i]?.Scenarios.Sum(s => s.Completed) ?? 0,
                Errors = outcomes[i]?.Scenarios.Sum(s => s.Errors) ?? 0,
                Rps = outcomes[i] is { } o && lastOf[i] >= 0 ? Math.Round(o.Scenarios.Sum(s => s.Completed) / (double)(lastOf[i] + 1), 2) : 0,
                MaxCpuPercent = outcomes[i]?.Generator.MaxCpuPercent ?? 0,
                MaxPacerLagMs = outcomes[i]?.Generator.MaxPacerLagMs ?? 0,
            }).ToList();
            var problem = $"the coordinator was killed after second {journaled}; its agents stopped on their own (sent {string.Join(", ", summaries.Select(a => $"agent {a.Index}: {a.Requests}"))} requests) and their seconds up to {last} are merged";
            journal.Append(new JournalEnd
            {
                Status = RunStatus.Aborted,
                EndedUtc = load.LoadStartUtc + TimeSpan.FromSeconds(last + 1),
                Error = $"the run was killed (its coordinator: SIGKILL, an OOM kill or a power loss); {problem}",
                Distribution = new Distribution { Mode = "local", Exchange = Path.GetFullPath(folder), Agents = summaries, Problems = [problem] },
            });
        }

        exchange.DeleteAllAsync(CancellationToken.None).GetAwaiter().GetResult();
        return $"merged the agents' seconds {journaled + 1}–{last} into the journal ({outcomes.Count(o => o is not null)} of {agents.Count} agents left their result)";
    }
}
