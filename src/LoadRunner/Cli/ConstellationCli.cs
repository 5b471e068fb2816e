using System.CommandLine;
using Constellation.LoadRunner.Commands;

namespace Constellation.LoadRunner.Cli;

/// <summary>
/// The <c>constellation</c> command line: the root lists the commands (one file each, under Commands/), every value
/// is parsed and checked by the parser, and every bad flag of a command line is reported at once (exit 2).
/// </summary>
public static class ConstellationCli
{
    public static async Task<int> RunAsync(string[] args, CliContext context)
    {
        var root = Build(context);
        var parsed = root.Parse(ImportJmxCommand.SplitJmeterProperties(args));
        if (parsed.Errors.Count > 0)
        {
            // Every problem at once, one line each, then where to look; never the parser's own help dump.
            foreach (var e in parsed.Errors.Select(e => e.Message).Distinct(StringComparer.Ordinal))
            {
                context.Error.WriteLine($"error: {e}");
            }

            var command = parsed.CommandResult.Command;
            context.Error.WriteLine($"see: constellation {(command == root ? string.Empty : CommandPath(parsed) + " ")}--help");
            return ExitCodes.InvalidInput;
        }

        if (Runs.Engine.OpenModelRunner.ParseReleaseAhead(context.Environment(Runs.Engine.OpenModelRunner.ReleaseAheadVariable)).Error is { } badSetting)
        {
            context.Error.WriteLine($"error: {badSetting}");
            return ExitCodes.InvalidInput;
        }

        var config = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            ProcessTerminationTimeout = null, // Program.cs handles SIGINT/SIGTERM: stop, drain, write the record
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parsed.InvokeAsync(config, context.Cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An unexpected failure is reported in one line; the stack trace only on request.
            context.Error.WriteLine($"error: {e.Message}");
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CONSTELLATION_DEBUG")))
            {
                context.Error.WriteLine(e);
            }

            return ExitCodes.RuntimeError;
        }
    }

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r?.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
        {
            names.Add(r.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    private static RootCommand Build(CliContext ctx) => new("""
        Constellation: load and scale testing for applications on Kubernetes.
        Drives HTTP load (open and closed models, ramps, steps, ramp-to-fail), records exact per-second
        latency histograms and writes run.json + summary.md under artifacts/runs/<run-id>/.

        Exit codes: 0 ok, 1 runtime error, 2 invalid input, 3 run invalid (generator saturated or observer
        gaps: the result cannot be trusted), 4 import-jmx incomplete (elements not converted), 99 thresholds
        failed (compare: a regression), 130 interrupted.
        """)
    {
        RunCommand.Create(ctx),
        ValidateCommand.Create(ctx),
        LoadCommand.Create(ctx),
        ReportCommand.Create(ctx),
        RunsCommand.Create(ctx),
        CompareCommand.Create(ctx),
        ClusterCommand.Create(ctx),
        ImportJmxCommand.Create(ctx),
        ExportJtlCommand.Create(ctx),
        AgentCommand.Create(ctx),
        ServeCommand.Create(ctx),
    };
}
