using System.CommandLine;
using System.Text.Json;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Reports.Journal;
using Constellation.Reports.Writers;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation report RUN</c>: rebuilds run.json from a run's journal (also after a kill) and renders its reports.</summary>
internal static class ReportCommand
{
    public static Command Create(CliContext ctx)
    {
        var source = new Argument<string>("run") { Description = "A run folder (its journal rebuilds run.json, also after a kill), or a run.json." };
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "Where to write the outputs; default: the run's folder." };
        var cmd = new Command("report", "Build run.json again from the run's journal (a run killed by SIGKILL, OOM or power loss becomes an aborted run with every second it journaled), then render run-summary.json, summary.md, junit.xml and index.html.") { source, output };
        cmd.SetAction(async (pr, ct) =>
        {
            var given = pr.GetValue(source)!;
            var runDir = Directory.Exists(given) ? given : Path.GetDirectoryName(Path.GetFullPath(given))!;
            RunRecord record;
            string json;
            var writers = CompositeReportWriter.Renderers;
            if (RunJournal.Exists(runDir))
            {
                if (RunJournal.IsLive(runDir))
                {
                    ctx.Error.WriteLine($"error: {runDir} is a run still going (its journal is being written); report it when it ends");
                    return ExitCodes.InvalidInput;
                }

                try
                {
                    if (Runs.Distributed.AgentRecovery.Recover(runDir, ctx.Time) is { } recovered)
                    {
                        ctx.Error.WriteLine($"the run's coordinator was killed: {recovered}");
                    }

                    record = RunJournal.Read(runDir);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or JsonException)
                {
                    ctx.Error.WriteLine($"error: the journal in {runDir} cannot be read: {e.Message}");
                    return ExitCodes.InvalidInput;
                }

                json = Path.Combine(runDir, "run.json");
                writers = CompositeReportWriter.Default;
                ctx.Error.WriteLine($"rebuilt the record of {record.RunId} from its journal: {record.Status.ToString().ToLowerInvariant()}, {record.Scenarios.Select(s => s.Totals.Requests).Sum()} requests over {record.Scenarios.Select(s => s.Seconds.Count * s.SecondsPerPoint).DefaultIfEmpty(0).Max()} s");
            }
            else if (await CliSupport.ReadRunArgumentAsync(ctx, given, ct).ConfigureAwait(false) is var (read, path))
            {
                (record, json) = (read, path);
            }
            else
            {
                return ExitCodes.InvalidInput;
            }

            var dir = pr.GetValue(output)?.FullName ?? Path.GetDirectoryName(Path.GetFullPath(json))!;
            var failures = await writers.WriteAsync(record, dir, ctx.Log, ct).ConfigureAwait(false);
            foreach (var w in writers.Writers)
            {
                ctx.Out.WriteLine(Path.Combine(dir, w.FileName));
            }

            return failures.Count == 0 ? ExitCodes.Ok : ExitCodes.RuntimeError;
        });
        return cmd;
    }
}
