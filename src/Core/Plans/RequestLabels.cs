namespace Constellation.Core.Plans;

/// <summary>
/// The labels of a sequence's requests, by which each gets its own results (JMeter's Aggregate Report rows, k6's
/// <c>{request:NAME}</c> tag): the request's <c>name</c>, else "METHOD path". Requests that share a label share
/// its results, as samplers of the same name do in JMeter. A scenario of one request has none: its results are the
/// scenario's.
/// </summary>
public static class RequestLabels
{
    /// <summary>Each request's label, in the sequence's order; empty for a scenario of one request.</summary>
    public static IReadOnlyList<string> Of(ScenarioSpec s) =>
        s.Sequence.Count < 2 ? [] : [.. s.Sequence.Select(r => r.Name ?? $"{r.Method} {r.Path}")];

    /// <summary>The labels of a scenario's requests, each once, in order of first appearance.</summary>
    public static IReadOnlyList<string> Distinct(ScenarioSpec s) => [.. Of(s).Distinct(StringComparer.Ordinal)];

    /// <summary>The key of a request's results where the scenarios' are (the journal, the agents' exchange): <c>SCENARIO{request:LABEL}</c>.</summary>
    public static string Key(string scenario, string label) => $"{scenario}{{request:{label}}}";
}
