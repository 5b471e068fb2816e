using Microsoft.Extensions.Logging;
using System.Threading.Channels;
using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Engine;

namespace Constellation.Runs.Distributed;

/// <summary>
/// One agent of a distributed run (<c>constellation agent</c>): reads the assignment, takes its share of every
/// scenario from the common start, streams each second to the exchange as it is taken, obeys the coordinator's
/// stops, and writes its whole result at the end. It judges nothing itself: breaking points and thresholds are
/// the coordinator's, on the merged view.
/// </summary>
public sealed class AgentWorker(TimeProvider time, ILogger log)
{
    private static readonly TimeSpan ControlPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>Runs agent <paramref name="index"/>; 0 when it delivered its share, 1 when it could not (the reason is in its status).</summary>
    public async Task<int> RunAsync(IExchange exchange, int index, TimeSpan assignmentWait, CancellationToken cancel, CancellationToken abort)
    {
        var host = System.Environment.MachineName;
        try
        {
            var assignment = await WaitForAssignmentAsync(exchange, assignmentWait, cancel).ConfigureAwait(false);
            if (index >= assignment.Weights.Count)
            {
                throw new AgentException($"agent index {index} is outside the run's {assignment.Weights.Count} agents");
            }

            var loaded = PlanLoader.Parse(assignment.PlanText);
            if (!loaded.IsValid)
            {
                throw new AgentException($"the assigned plan is invalid: {string.Join("; ", loaded.Errors.Select(e => e.Message))}");
            }

            var share = new LoadShare(index, assignment.Weights);
            var scenarios = loaded.Plan!.Scenarios
                .Select(s => ResolvedScenario.On(s with { StopWhen = [] }, new Uri(assignment.TargetUrls[s.Target]), loaded.Plan.Targets[s.Target].InsecureSkipTlsVerify))
                .ToList();
            log.AgentStarting(index, assignment.Weights.Count, share.Fraction * 100, assignment.RunId, assignment.StartAtUtc);
            await PutStatusAsync(exchange, index, host, "running", null).ConfigureAwait(false);

            using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var engineControl = new EngineControl();
            var seconds = Channel.CreateUnbounded<AgentSecond>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var writer = Task.Run(() => WriteSecondsAsync(exchange, index, seconds.Reader), CancellationToken.None);
            using var pollerStop = new CancellationTokenSource();
            var poller = Task.Run(() => PollControlAsync(exchange, engineControl, cancelled, pollerStop.Token), CancellationToken.None);

            GeneratorSecond? lastGenerator = null;
            EngineResult result;
            try
            {
                result = await new LoadEngine(time).RunAsync(
                    scenarios,
                    progress: null,
                    cancelled.Token,
                    abort,
                    (runSecond, samples) =>
                    {
                        seconds.Writer.TryWrite(new AgentSecond(runSecond, [.. samples.Select(x => new AgentSample(x.Scenario, x.Second, x.Sample))]) { Generator = lastGenerator });
                        return null;
                    },
                    new EngineOptions { Share = share, StartAtUtc = assignment.StartAtUtc, Control = engineControl, OnGeneratorSecond = g => lastGenerator = g }).ConfigureAwait(false);
            }
            finally
            {
                seconds.Writer.TryComplete();
                await writer.ConfigureAwait(false);
                await pollerStop.CancelAsync().ConfigureAwait(false);
                await poller.ConfigureAwait(false);
            }

            await exchange.PutAsync(
                AgentProtocol.ResultKey(index),
                new AgentOutcome { Index = index, Host = host, Scenarios = result.Scenarios, Generator = result.Generator, Cancelled = result.Cancelled, Cores = System.Environment.ProcessorCount },
                CancellationToken.None).ConfigureAwait(false);
            await PutStatusAsync(exchange, index, host, "done", null).ConfigureAwait(false);
            var requests = result.Scenarios.Sum(s => s.Totals.Requests);
            log.AgentDone(index, requests, result.Generator.Bottleneck ? "; WARNING: " + string.Join("; ", result.Generator.Warnings) : string.Empty);
            return 0;
        }
        catch (Exception e) when (e is AgentException or InvalidOperationException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or Amazon.Runtime.AmazonServiceException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            var message = e is KeyNotFoundException ? $"a scenario's target has no URL in the assignment: {e.Message}" : e.Message;
            log.AgentFailed(index, message);
            try
            {
                await PutStatusAsync(exchange, index, host, "failed", message).ConfigureAwait(false);
            }
            catch (Exception again) when (again is IOException or Amazon.Runtime.AmazonServiceException or System.Net.Http.HttpRequestException)
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
                catch (Exception e) when (attempt < 4 && e is IOException or Amazon.Runtime.AmazonServiceException or System.Net.Http.HttpRequestException)
                {
                    log.AgentWriteRetry(index, second.RunSecond, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task PollControlAsync(IExchange exchange, EngineControl engine, CancellationTokenSource cancel, CancellationToken stop)
    {
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (await exchange.GetAsync<AgentControl>(AgentProtocol.ControlKey, stop).ConfigureAwait(false) is { } control)
                {
                    foreach (var name in control.Stops.Keys.Where(stopped.Add))
                    {
                        log.AgentStopScenario(name, control.Stops[name]);
                        engine.StopScenario(name);
                    }

                    if (control.Cancel && !cancel.IsCancellationRequested)
                    {
                        log.AgentStopRun(control.Reason is null ? string.Empty : $" ({control.Reason})");
                        await cancel.CancelAsync().ConfigureAwait(false);
                    }
                }

                await Task.Delay(ControlPoll, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or Amazon.Runtime.AmazonServiceException or System.Net.Http.HttpRequestException)
            {
                log.AgentControlRetry(AgentProtocol.ControlKey, e.Message);
            }
        }
    }

    private Task PutStatusAsync(IExchange exchange, int index, string host, string state, string? error) =>
        exchange.PutAsync(AgentProtocol.StatusKey(index), new AgentStatus(index, state, host, System.Environment.ProcessId, time.GetUtcNow()) { Error = error }, CancellationToken.None);
}

/// <summary>An agent cannot take part in the run; the message says why.</summary>
public sealed class AgentException(string message) : Exception(message);
