using System.Globalization;
using System.Text.Json;
using Constellation.Core.Results;

namespace Constellation.Runs.Distributed;

/// <summary>
/// The documents of a distributed run, and their keys in the exchange:
/// <list type="bullet">
/// <item><c>assignment.json</c> (coordinator): the plan, the targets' URLs, the weights and the common UTC start.</item>
/// <item><c>control.json</c> (coordinator): scenarios to stop (a breaking point found on the merged view) and cancel.</item>
/// <item><c>agent-I/seconds/NNNNNN.json</c> (agent I): every scenario's sample of one run second, as soon as it is taken.</item>
/// <item><c>agent-I/status.json</c> (agent I): running, done or failed, with the error.</item>
/// <item><c>agent-I/result.json</c> (agent I): its whole result at the end, with its generator health.</item>
/// </list>
/// </summary>
public static class AgentProtocol
{
    public const string AssignmentKey = "assignment.json";
    public const string ControlKey = "control.json";

    public static string SecondsPrefix(int agent) => $"agent-{agent}/seconds/";

    public static string SecondKey(int agent, int runSecond) => string.Create(CultureInfo.InvariantCulture, $"agent-{agent}/seconds/{runSecond:D6}.json");

    public static string StatusKey(int agent) => $"agent-{agent}/status.json";

    public static string ResultKey(int agent) => $"agent-{agent}/result.json";

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, RunRecordJson.Options);

    public static T Deserialize<T>(byte[] json) => JsonSerializer.Deserialize<T>(json, RunRecordJson.ReadOptions)
        ?? throw new InvalidDataException($"empty {typeof(T).Name}");

    /// <summary>
    /// A document, or null when there is none yet. One read while its writer replaces it (a store without atomic
    /// replace) is read again; a document still unreadable is an <see cref="IOException"/> (try again later).
    /// </summary>
    public static async Task<T?> GetAsync<T>(this IExchange exchange, string key, CancellationToken ct)
        where T : class
    {
        for (int attempt = 1; ; attempt++)
        {
            if (await exchange.GetAsync(key, ct).ConfigureAwait(false) is not { } bytes)
            {
                return null;
            }

            try
            {
                return Deserialize<T>(bytes);
            }
            catch (Exception e) when (e is JsonException or InvalidDataException)
            {
                if (attempt >= 3)
                {
                    throw new IOException($"{key} in the exchange is not readable: {e.Message}", e);
                }
            }
        }
    }

    public static Task PutAsync<T>(this IExchange exchange, string key, T value, CancellationToken ct) =>
        exchange.PutAsync(key, Serialize(value), ct);
}

/// <summary>What every agent of a run is to do.</summary>
public sealed record AgentAssignment
{
    public required string RunId { get; init; }

    /// <summary>
    /// The plan's YAML with every secret (credential-looking header values) replaced by a reference
    /// <c>${env:CONSTELLATION_AGENT_SECRET_N}</c>: the agents read the values from their own environment.
    /// </summary>
    public required string PlanText { get; init; }

    /// <summary>Each target's base URL as the coordinator resolved it (a launched target's loopback port), without userinfo.</summary>
    public required IReadOnlyDictionary<string, string> TargetUrls { get; init; }

    /// <summary>Targets whose base URL carries user:password, with the environment variable that holds it.</summary>
    public IReadOnlyDictionary<string, string> TargetUserInfo { get; init; } = new Dictionary<string, string>();

    /// <summary>Each scenario's data rows (an agent has the plan's text, not its data files).</summary>
    public IReadOnlyDictionary<string, Core.Plans.DataTable> Data { get; init; } = new Dictionary<string, Core.Plans.DataTable>();

    /// <summary>One weight per agent; agent I takes Weights[I] / sum of the load.</summary>
    public required IReadOnlyList<int> Weights { get; init; }

    /// <summary>Every agent starts its load at this instant; an agent that gets here later fails instead of starting late.</summary>
    public required DateTimeOffset StartAtUtc { get; init; }

    /// <summary>
    /// The coordinator's lease: an agent that sees its heartbeat (<see cref="AgentControl.Heartbeat"/>) stand still
    /// this long stops sending, writes its share and exits. Default: 10s.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>The coordinator's instructions while the run goes.</summary>
public sealed record AgentControl
{
    /// <summary>Scenarios to stop, with the scenario second whose merged view broke them.</summary>
    public IReadOnlyDictionary<string, int> Stops { get; init; } = new Dictionary<string, int>();

    /// <summary>Stop everything and report (Ctrl+C on the coordinator, or an abortOnFail threshold lost).</summary>
    public bool Cancel { get; init; }

    /// <summary>Cut off the requests in flight too (a second Ctrl+C on the coordinator): they are counted as cancelled.</summary>
    public bool Abort { get; init; }

    public string? Reason { get; init; }

    /// <summary>Raised by the coordinator every second while it lives: the agents' lease.</summary>
    public long Heartbeat { get; init; }
}

/// <summary>One run second of one agent: each scenario's sample, with the scenario's own second number.</summary>
public sealed record AgentSecond(int RunSecond, IReadOnlyList<AgentSample> Samples)
{
    /// <summary>The agent's own CPU and pacer lag in that second.</summary>
    public GeneratorSecond? Generator { get; init; }

    /// <summary>The requests' own seconds in scenarios of several requests (keyed by <see cref="Core.Plans.RequestLabels.Key"/>).</summary>
    public IReadOnlyList<AgentSample> Requests { get; init; } = [];
}

public sealed record AgentSample(string Scenario, int Second, SecondSample Sample);

/// <summary>An agent's state as it reports it.</summary>
public sealed record AgentStatus(int Index, string State, string Host, int Pid, DateTimeOffset AtUtc)
{
    public string? Error { get; init; }
}

/// <summary>An agent's result, written when it ends: how each scenario ended and what it sent (its seconds are already in the exchange).</summary>
public sealed record AgentOutcome
{
    public required int Index { get; init; }
    public required string Host { get; init; }
    public required IReadOnlyList<AgentScenarioOutcome> Scenarios { get; init; }
    public required GeneratorHealth Generator { get; init; }
    public bool Cancelled { get; init; }

    /// <summary>It stopped on its own because its coordinator went silent (the lease ran out) or away.</summary>
    public bool Orphaned { get; init; }

    /// <summary>The cores this agent could use (its CPU percentages are shares of them).</summary>
    public int Cores { get; init; }
}

/// <summary>One scenario of one agent: how it ended and what this agent sent of it.</summary>
public sealed record AgentScenarioOutcome(string Name, double DurationSeconds, EndReason EndReason, long Started, long Completed, long Errors)
{
    /// <summary>Failed checks by their named reason.</summary>
    public IReadOnlyDictionary<string, long> Failures { get; init; } = new Dictionary<string, long>();
}
