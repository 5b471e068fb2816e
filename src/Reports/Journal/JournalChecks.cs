namespace Constellation.Reports.Journal;

/// <summary>
/// What the JSON reader cannot check of a journal line: no null items in its lists, and interval-log names that are
/// plain file names inside the journal folder (a crafted journal must never make <c>report</c> read or write
/// elsewhere).
/// </summary>
internal static class JournalChecks
{
    /// <summary>Why the entry is not well formed, or null when it is.</summary>
    public static string? Problem(JournalEntry entry) => entry switch
    {
        JournalLoad load => NullItem(load.Scenarios, "scenarios") ?? NullItem(load.Requests, "requests")
            ?? load.AllSeries.Select(s => IsFileName(s.File) ? null : $"scenario '{s.Name}' names its interval logs '{s.File}', not a plain file name").FirstOrDefault(p => p is not null)
            ?? (load.AllSeries.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() != load.Scenarios.Count + load.Requests.Count ? "two scenarios have one name" : null)
            ?? (load.Requests.Any(r => r.Parent is null || load.Scenarios.All(s => s.Name != r.Parent)) ? "a request's series names no scenario of the run" : null),
        JournalSecond second => NullItem(second.Scenarios, "scenarios") ?? NullItem(second.Requests, "requests"),
        JournalObserved observed => NullItem(observed.Series, "series") ?? NullItem(observed.Events, "events") ?? NullItem(observed.Gaps, "gaps") ?? NullItem(observed.Probes, "probes"),
        JournalObservation observation => NullItem(observation.Series, "series") ?? NullItem(observation.Events, "events"),
        JournalEnd end => NullItem(end.Scenarios, "scenarios") ?? NullItem(end.GeneratorWarnings, "generatorWarnings"),
        JournalStores stores => NullItem(stores.Stores, "stores"),
        JournalTags tags => NullItem(tags.Tags, "tags"),
        JournalStart start => NullItem(start.Tags, "tags"),
        _ => null,
    };

    /// <summary>A name the writer gives interval logs: no folder part, nothing hidden or relative.</summary>
    public static bool IsFileName(string name) =>
        name.Length is > 0 and <= 200 && name.IndexOfAny(['/', '\\', '\0']) < 0 && !name.StartsWith('.') && !name.Any(char.IsControl);

    private static string? NullItem<T>(IReadOnlyList<T>? items, string what) =>
        items is null ? $"'{what}' is missing" : items.Any(i => i is null) ? $"'{what}' holds a null" : null;
}
