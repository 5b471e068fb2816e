using System.CommandLine;
using System.Globalization;
using Constellation.LoadRunner.Cli;
using Constellation.Runs.Distributed;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation agent</c>: one agent of a distributed run, started by the coordinator (a process or a Job's pod).</summary>
internal static class AgentCommand
{
    public static Command Create(CliContext ctx)
    {
        var exchange = CliOptions.Validated(
            new Option<string>("--exchange") { Description = "Where the run's assignment is and the seconds go: a folder or s3://BUCKET/PREFIX.", Required = true },
            (value, add) =>
            {
                if (value is not null && IExchange.Problem(value) is { } problem)
                {
                    add($"--exchange: {problem}");
                }
            });
        var index = CliOptions.Integer("--index", "This agent's index, 0-based. Default: $JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job).", 0, 999);
        var wait = CliOptions.Duration("--wait", "How long to wait for the assignment.", TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        var s3Endpoint = CliOptions.HttpUrl("--s3-endpoint", "An S3-compatible endpoint for an s3:// exchange. Default: $CONSTELLATION_S3_ENDPOINT.", () => ctx.Environment("CONSTELLATION_S3_ENDPOINT"));
        var s3Region = new Option<string?>("--s3-region") { Description = "AWS region. Default: $AWS_REGION, else us-east-1." };
        var watchStdin = new Option<bool>("--watch-stdin") { Description = "Stop, write this agent's share and exit when standard input closes: the coordinator that started it is gone (local agents get it)." };
        var cmd = new Command("agent", "One agent of a distributed run (started by 'run --agents N'; you rarely start it yourself): takes its share of the load from the common start and streams its seconds to the exchange. It stops on its own when its coordinator's heartbeat stands still for the lease.") { exchange, index, wait, s3Endpoint, s3Region, watchStdin };
        cmd.SetAction(async (pr, ct) =>
        {
            var i = pr.GetValue(index);
            if (i is null && int.TryParse(ctx.Environment("JOB_COMPLETION_INDEX"), NumberStyles.None, CultureInfo.InvariantCulture, out var fromJob))
            {
                i = fromJob;
            }

            if (i is not { } agentIndex)
            {
                ctx.Error.WriteLine("error: give --index or set JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it)");
                return ExitCodes.InvalidInput;
            }

            using var store = IExchange.Open(pr.GetValue(exchange)!, pr.GetValue(s3Endpoint), pr.GetValue(s3Region));
            var coordinatorGone = pr.GetValue(watchStdin) ? Runs.Local.ParentWatch.WhenStdinCloses() : CancellationToken.None;
            return await new AgentWorker(ctx.Time, ctx.Log).RunAsync(store, agentIndex, pr.GetValue(wait).Value, ctx.Cancel, ctx.Abort, coordinatorGone).ConfigureAwait(false) == 0
                ? ExitCodes.Ok
                : ExitCodes.RuntimeError;
        });
        return cmd;
    }
}
