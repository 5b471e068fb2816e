using System.Threading.Channels;
using Constellation.Core.Load;
using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Microsoft.Extensions.Logging;

namespace Constellation.Runs.Distributed;

/// <summary>
/// One agent of a distributed run (<c>constellation agent</c>): reads the assignment, takes its share of every
/// scenario from the common start, streams each second to the exchange as it is taken, obeys the coordinator's
/// stops, and writes its result at the end. It judges nothing itself: breaking points and thresholds are the
/// coordinator's, on the merged view. It holds the coordinator to a lease: when the coordinator's heartbeat stands
/// still for the lease (or the coordinator process is gone), it stops sending, writes its share and exits, so no
/// load outlives its run.
/// </summary>
public sealed class AgentWorker(TimeProvider time, ILogger log)
{
    private static readonly TimeSpan ControlPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>How long an orphaned agent lets in-flight requests finish before cutting them off.</summary>
    private static readonly TimeSpan OrphanDrain = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs agent <paramref name="index"/>; 0 when it delivered its share, 1 when it could not or stopped on its own
    /// (the reason is in its status). <paramref name="coordinatorGone"/> fires when the coordinator is known to be
    /// gone (its pipe closed); <paramref name="envOverride"/> is where the run's secrets are read (default: this
    /// process's environment).
    /// </summary>
    public async Task<int> RunAsync(IExchange exchange, int index, TimeSpan assignmentWait, CancellationToken cancel, CancellationToken abort, CancellationToken coordinatorGone = default, Func<string, string?>? envOverride = null)
    {
        var env = envOverride ?? System.Environment.GetEnvironmentVariable;
        var host = System.Environment.MachineName;
        try
        {
            var assignment = await WaitForAssignmentAsync(exchange, assignmentWait, cancel).ConfigureAwait(false);
            if (index >= assignment.Weights.Count)
            {
                throw new AgentException($"agent index {index} is outside the run's {assignment.Weights.Count} agents");
            }

            var plan = AgentSecrets.Resolve(assignment, env);
            var share = new LoadShare(index, assignment.Weights);
            var scenarios = plan.Scenarios
                .Select(s => ResolvedScenario.On(s with { StopWhen = [] }, AgentSecrets.TargetUrl(assignment, s.Target, env), plan.Targets[s.Target].InsecureSkipTlsVerify))
                .ToList();
            log.AgentStarting(index, assignment.Weights.Count, share.Fraction * 100, assignment.RunId, assignment.StartAtUtc);
            await PutStatusAsync(exchange, index, host, "running", null).ConfigureAwait(false);

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            using var cutOff = CancellationTokenSource.CreateLinkedTokenSource(abort);
            var engine = new LoadEngine(time) { Options = new EngineOptions { Share = share, StartAtUtc = assignment.StartAtUtc } };
            var seconds = Channel.CreateUnbounded<AgentSecond>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var stream = new StreamingListener(seconds.Writer);
            var writer = Task.Run(() => WriteSecondsAsync(exchange, index, seconds.Reader), CancellationToken.None);
            using var pollerStop = new CancellationTokenSource();
            var orphaned = new Orphan();
            using var gone = coordinatorGone.Register(() => orphaned.Leave(log, index, "its coordinator process is gone", stop, cutOff));
            var poller = Task.Run(() => PollControlAsync(exchange, engine, assignment.Lease, orphaned, index, stop, cutOff, pollerStop.Token), CancellationToken.None);

            RunEnd end;
            try
            {
                end = await engine.ExecuteAsync(scenarios, stream, stop.Token, cutOff.Token).ConfigureAwait(false);
            }
            finally
            {
                seconds.Writer.TryComplete();
                await writer.ConfigureAwait(false);
                await pollerStop.CancelAsync().ConfigureAwait(false);
                await poller.ConfigureAwait(false);
            }

            var outcome = new AgentOutcome
            {
                Index = index,
                Host = host,
                Scenarios = [.. end.Scenarios.Select(e => stream.Outcome(e))],
                Generator = GeneratorHealthAssessor.Assess(stream.Generator) with { Seconds = [] }, // the seconds are in the exchange already
                Cancelled = end.Cancelled,
                Orphaned = orphaned.Left,
                Cores = System.Environment.ProcessorCount,
            };
            await exchange.PutAsync(AgentProtocol.ResultKey(index), outcome, CancellationToken.None).ConfigureAwait(false);
            await PutStatusAsync(exchange, index, host, orphaned.Left ? "orphaned" : "done", orphaned.Reason).ConfigureAwait(false);
            log.AgentDone(index, outcome.Scenarios.Sum(s => s.Completed), outcome.Generator.Bottleneck ? "; WARNING: " + string.Join("; ", outcome.Generator.Warnings) : string.Empty);
            return orphaned.Left ? 1 : 0;
        }
        catch (Exception e) when (e is AgentException or InvalidOperationException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            var message = e is KeyNotFoundException ? $"a scenario's target has no URL in the assignment: {e.Message}" : e.Message;
            log.AgentFailed(index, message);
            try
            {
                await PutStatusAsync(exchange, index, host, "failed", message).ConfigureAwait(false);
            }
            catch (Exception again) when (again is IOException or Amazon.Runtime.AmazonServiceException or System.Net.Http.HttpRequestException or OperationCanceledException)
            {
                log.AgentCannotReport(index, again.Message);
            }

            return 1;
        }
    }

    private async Task<AgentAssignment> WaitForAssignmentAsync(IExchange exchange, TimeSpan wait, CancellationToken cancel)
    {
        var deadline = time.GetTimestamp() + (long)(wait.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            if (await exchange.GetAsync<AgentAssignment>(AgentProtocol.AssignmentKey, cancel).ConfigureAwait(false) is { } found)
            {
                return found;
            }

            if (time.GetTimestamp() > deadline)
            {
                throw new AgentException($"no {AgentProtocol.AssignmentKey} in {exchange.Location} after {Core.Text.Durations.Format(wait)}");
            }

            await Task.Delay(ControlPoll, time, cancel).ConfigureAwait(false);
        }
    }

    private async Task WriteSecondsAsync(IExchange exchange, int index, ChannelReader<AgentSecond> reader)
    {
        await foreach (var second in reader.ReadAllAsync().ConfigureAwait(false))
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await exchange.PutAsync(AgentProtocol.SecondKey(index, second.RunSecond), second, CancellationToken.None).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (attempt < 4 && e is IOException or Amazon.Runtime.AmazonServiceException or System.Net.Http.HttpRequestException or OperationCanceledException)
                {
                    log.AgentWriteRetry(index, second.RunSecond, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Follows control.json: the coordinator's stops and cancel, and its heartbeat (the lease).</summary>
    private async Task PollControlAsync(IExchange exchange, LoadEngine engine, TimeSpan lease, Orphan orphan, int index, CancellationTokenSource cancel, CancellationTokenSource cutOff, CancellationToken stop)
    {
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        long heartbeat = -1;
        long heardAt = time.GetTimestamp();
        while (!stop.IsCancellationRequested && !orphan.Left)
        {
            try
            {
                if (await exchange.GetAsync<AgentControl>(AgentProtocol.ControlKey, stop).ConfigureAwait(false) is { } control)
                {
                    if (control.Heartbeat != heartbeat)
                    {
                        (heartbeat, heardAt) = (control.Heartbeat, time.GetTimestamp());
                    }

                    foreach (var name in control.Stops.Keys.Where(stopped.Add))
                    {
                        log.AgentStopScenario(name, control.Stops[name]);
                        engine.StopScenario(name, control.Stops[name], "stopped by the coordinator");
                    }

                    if (control.Abort && !cutOff.IsCancellationRequested)
                    {
                        await cancel.CancelAsync().ConfigureAwait(false);
                        await cutOff.CancelAsync().ConfigureAwait(false);
                    }

                    if (control.Cancel && !cancel.IsCancellationRequested)
                    {
                        log.AgentStopRun(control.Reason is null ? string.Empty : $" ({control.Reason})");
                        await cancel.CancelAsync().ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or Amazon.Runtime.AmazonServiceException or System.Net.Http.HttpRequestException or OperationCanceledException)
            {
                log.AgentControlRetry(AgentProtocol.ControlKey, e.Message);
            }

            // The lease runs on this agent's own clock from the last time the heartbeat moved: no clock sync needed.
            if (time.GetElapsedTime(heardAt) > lease)
            {
                orphan.Leave(log, index, $"its coordinator has been silent for {Core.Text.Durations.Format(lease)} (no heartbeat in {AgentProtocol.ControlKey})", cancel, cutOff);
                return;
            }

            try
            {
                await Task.Delay(ControlPoll, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private Task PutStatusAsync(IExchange exchange, int index, string host, string state, string? error) =>
        exchange.PutAsync(AgentProtocol.StatusKey(index), new AgentStatus(index, state, host, System.Environment.ProcessId, time.GetUtcNow()) { Error = error }, CancellationToken.None);

    /// <summary>The agent left its run on its own: it stops sending, lets in-flight requests finish briefly, then cuts them off.</summary>
    private sealed class Orphan
    {
        private int _left;

        public bool Left => Volatile.Read(ref _left) == 1;

        public string? Reason { get; private set; }

        public void Leave(ILogger log, int index, string reason, CancellationTokenSource stop, CancellationTokenSource cutOff)
        {
            if (Interlocked.Exchange(ref _left, 1) == 1)
            {
                return;
            }

            Reason = $"stopped on its own: {reason}";
            log.AgentOrphaned(index, reason);
            try
            {
                stop.Cancel();
                cutOff.CancelAfter(OrphanDrain);
            }
            catch (ObjectDisposedException)
            {
                // the run already ended
            }
        }
    }

    /// <summary>Each second to the exchange's writer, and this agent's own counts and generator health.</summary>
    private sealed class StreamingListener(ChannelWriter<AgentSecond> writer) : IRunListener
    {
        private readonly Dictionary<string, (long Started, long Completed, long Errors)> _sent = new(StringComparer.Ordinal);

        public List<GeneratorSecond> Generator { get; } = [];

        public void OnSecond(RunSecond second)
        {
            foreach (var s in second.Scenarios)
            {
                var (started, completed, errors) = _sent.GetValueOrDefault(s.Scenario);
                _sent[s.Scenario] = (started + s.Sample.Started, completed + s.Sample.Outcomes.Completed, errors + s.Sample.Outcomes.Errors);
            }

            if (second.Generator is { } g)
            {
                Generator.Add(g);
            }

            writer.TryWrite(new AgentSecond(second.Second, [.. second.Scenarios.Select(x => new AgentSample(x.Scenario, x.Second, x.Sample))])
            {
                Generator = second.Generator,
                Requests = [.. second.Requests.Select(x => new AgentSample(x.Scenario, x.Second, x.Sample))],
            });
        }

        public AgentScenarioOutcome Outcome(ScenarioEnd end)
        {
            var (started, completed, errors) = _sent.GetValueOrDefault(end.Name);
            return new AgentScenarioOutcome(end.Name, end.DurationSeconds, end.EndReason, started, completed, errors) { Failures = end.Failures };
        }
    }
}

/// <summary>An agent cannot take part in the run; the message says why.</summary>
public sealed class AgentException(string message) : Exception(message);
