using Microsoft.Extensions.Logging;

namespace Constellation.Runs;

/// <summary>What a run logs, in one place: the CLI shows these lines on stderr, the service in its log.</summary>
internal static partial class Log
{
    // The run
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "run {RunId}: plan '{Plan}', {Scenarios} scenario(s), up to {Duration}")]
    public static partial void RunStarting(this ILogger logger, string runId, string plan, int scenarios, string duration);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "observing a calm baseline for {Duration} before the load")]
    public static partial void Baseline(this ILogger logger, string duration);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "load done; observing scale-in for {Duration} (Ctrl+C ends it early and keeps the run)")]
    public static partial void Cooldown(this ILogger logger, string duration);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{What}: {Left} left")]
    public static partial void WaitLeft(this ILogger logger, string what, string left);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "DEGRADED: {Problem}")]
    public static partial void Degraded(this ILogger logger, string problem);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "threshold lost, run stopped early (abortOnFail): {Reason}")]
    public static partial void AbortedOnFail(this ILogger logger, string reason);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "observer gap: {Sampler} from {From:0.#}s to {To:0.#}s: {Reason}")]
    public static partial void ObserverGap(this ILogger logger, string sampler, double from, double to, string reason);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "could not store the run in {Location}: {Reason}")]
    public static partial void StoreFailed(this ILogger logger, string location, string? reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "baseline: {Baseline}")]
    public static partial void BaselineFound(this ILogger logger, string baseline);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "baseline: {Reason}; regression thresholds are not judged")]
    public static partial void BaselineMissing(this ILogger logger, string reason);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "threshold {Outcome}: [{Scope}] {Threshold}: {Observed}{Detail}")]
    public static partial void Threshold(this ILogger logger, string outcome, string scope, string threshold, string observed, string detail);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "run invalid: {Reason}")]
    public static partial void RunInvalid(this ILogger logger, string reason);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "gate: {Verdict}")]
    public static partial void Gate(this ILogger logger, string verdict);

    // Local targets
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "{Nice} not found; '{Target}' runs at the generator's priority")]
    public static partial void NoNice(this ILogger logger, string nice, string target);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "started {Target} ({Role}) pid {Pid} at {Url}")]
    public static partial void TargetStarted(this ILogger logger, string target, string role, int pid, Uri url);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "target '{Target}' (pid {Pid}) ignored SIGTERM for {Grace:0}s; killing it")]
    public static partial void TargetKilled(this ILogger logger, string target, int pid, double grace);

    // Distributed runs: the coordinator and the launchers
    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "distributed run: {Agents} agents ({Mode}), shares {Shares}, exchange {Exchange}, common start {Start:HH:mm:ss.fff} UTC")]
    public static partial void DistributedStart(this ILogger logger, int agents, string mode, string shares, string exchange, DateTimeOffset start);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "agent {Index}: {State}{Error}")]
    public static partial void AgentEnded(this ILogger logger, int index, string state, string error);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "agent {Index}: lost: {What}")]
    public static partial void AgentLost(this ILogger logger, int index, string what);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "{Scenario} {Label} (second {Second}) on the merged view of all agents; telling the agents to stop it")]
    public static partial void MergedBreakingPoint(this ILogger logger, string scenario, string label, int second);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "--pin-agents needs taskset (util-linux); the agents run unpinned")]
    public static partial void NoTaskset(this ILogger logger);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "started {Agents} local agent process(es){Pinned}; their output: {Logs}/agent-N.log")]
    public static partial void LocalAgentsStarted(this ILogger logger, int agents, string pinned, string logs);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Information, Message = "created Indexed Job {Namespace}/{Job}: {Agents} agent pod(s), image {Image}")]
    public static partial void JobCreated(this ILogger logger, string @namespace, string job, int agents, string image);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Information, Message = "deleted Job {Namespace}/{Job}")]
    public static partial void JobDeleted(this ILogger logger, string @namespace, string job);

    [LoggerMessage(EventId = 1209, Level = LogLevel.Warning, Message = "could not delete Job {Namespace}/{Job} ({Reason}); delete it by hand")]
    public static partial void JobNotDeleted(this ILogger logger, string @namespace, string job, string reason);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Warning, Message = "listing the agent pods failed ({Reason}); the agents are judged by their data alone until it works again")]
    public static partial void PodListFailed(this ILogger logger, string reason);

    // An agent
    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "agent {Index} of {Agents} ({Share:0.#}% of the load), run {RunId}, starting at {Start:O}")]
    public static partial void AgentStarting(this ILogger logger, int index, int agents, double share, string runId, DateTimeOffset start);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "agent {Index}: done, {Requests} requests{Warning}")]
    public static partial void AgentDone(this ILogger logger, int index, long requests, string warning);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Error, Message = "agent {Index}: failed: {Reason}")]
    public static partial void AgentFailed(this ILogger logger, int index, string reason);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Error, Message = "agent {Index}: could not report the failure either: {Reason}")]
    public static partial void AgentCannotReport(this ILogger logger, int index, string reason);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "agent {Index}: writing second {Second} failed ({Reason}); retrying")]
    public static partial void AgentWriteRetry(this ILogger logger, int index, int second, string reason);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Information, Message = "coordinator: stop scenario {Scenario} (its breaking point was found at second {Second})")]
    public static partial void AgentStopScenario(this ILogger logger, string scenario, int second);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Information, Message = "coordinator: stop the run{Reason}")]
    public static partial void AgentStopRun(this ILogger logger, string reason);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "agent: reading {Key} failed ({Reason}); trying again")]
    public static partial void AgentControlRetry(this ILogger logger, string key, string reason);

    // Listeners and the journal
    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "{Listener} failed: {Reason}")]
    public static partial void ListenerFailed(this ILogger logger, string listener, string reason);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Warning, Message = "agent {Index}: {Reason}: stopping, writing its share and exiting")]
    public static partial void AgentOrphaned(this ILogger logger, int index, string reason);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "writing {Key} to the exchange failed ({Reason}); trying again")]
    public static partial void ExchangeWriteFailed(this ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Warning, Message = "reading {Key} from the exchange failed ({Reason}); trying again")]
    public static partial void ExchangeReadFailed(this ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Error, Message = "the run failed on an unexpected error (its record says so); please report it with the run's logs")]
    public static partial void RunFailedUnexpectedly(this ILogger logger, Exception exception);
}
