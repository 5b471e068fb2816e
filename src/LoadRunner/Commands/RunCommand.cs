using System.CommandLine;
using Constellation.Core.Plans;
using Constellation.LoadRunner.Cli;
using Constellation.Reports.Stores;
using Constellation.Runs;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation run [plan]</c>: runs a plan through the pipeline, writes its record and reports, judges its gate.</summary>
internal static class RunCommand
{
    public static Command Create(CliContext ctx)
    {
        var plan = new Argument<FileInfo?>("plan")
        {
            Description = $"The plan YAML. Without it, the embedded default ({CliSupport.EmbeddedPlanName}) runs: SpinService spin + webapp on loopback, a spin ramp-to-fail and a steady webapp load, about a minute.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder for run outputs; each run gets <output>/<run-id>/.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var runId = CliOptions.RunId("Use this run id instead of a generated one (letters, digits, '.', '_', '-').");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output, only the summary." };
        var metricsPort = CliSupport.MetricsPortOption();
        var s3 = new S3Options(ctx, "Also store the run in this S3 bucket; a run id it already holds is refused");
        var s3LinkExpiry = CliOptions.Duration("--s3-link-expiry", "How long the presigned report link works (at most 7 days).", TimeSpan.FromDays(7), TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        var tags = CliOptions.Validated(
            new Option<string[]>("--tag") { Description = "Tag the run (repeatable), e.g. --tag release-1.4; find it again with --baseline tag:NAME.", AllowMultipleArgumentsPerToken = false },
            (values, add) =>
            {
                foreach (var t in (values ?? []).Where(t => !Core.Results.RunNames.IsTag(t)))
                {
                    add($"--tag must be {Core.Results.RunNames.TagRule}, got '{t}'");
                }
            });
        var agentOptions = new RunAgentOptions();
        var cmd = new Command("run", "Run a plan and write run.json, summary.md, junit.xml and index.html; judge its thresholds (exit 99 when one fails).") { plan, output, runId, quiet, metricsPort };
        s3.AddTo(cmd);
        cmd.Options.Add(s3LinkExpiry);
        cmd.Options.Add(tags);
        agentOptions.AddTo(cmd);
        cmd.SetAction(async (pr, _) =>
        {
            var file = pr.GetValue(plan);
            PlanLoadResult loaded;
            if (file is null)
            {
                loaded = PlanLoader.Parse(CliSupport.EmbeddedPlan());
            }
            else if (!file.Exists)
            {
                ctx.Error.WriteLine($"error: plan file '{file.FullName}' does not exist");
                return ExitCodes.InvalidInput;
            }
            else
            {
                loaded = PlanLoader.LoadFile(file.FullName);
            }

            if (!loaded.IsValid)
            {
                CliSupport.PrintErrors(ctx.Error, file?.Name ?? CliSupport.EmbeddedPlanName, loaded.Errors);
                return ExitCodes.InvalidInput;
            }

            if (!CliSupport.SecretsPresent(ctx, file?.Name ?? CliSupport.EmbeddedPlanName, loaded.Plan!))
            {
                return ExitCodes.InvalidInput;
            }

            if (pr.GetValue(runId) is { } id && Path.Combine(pr.GetValue(output)!.FullName, id) is var taken
                && (File.Exists(Path.Combine(taken, "run.json")) || Reports.Journal.RunJournal.Exists(taken)))
            {
                ctx.Error.WriteLine($"error: --run-id {id}: {taken} already holds a run (a run is written once); pick another run id");
                return ExitCodes.InvalidInput;
            }

            var (agents, agentError) = agentOptions.Read(pr, loaded.Plan!, s3.Read(pr), ctx.Log, ctx.Time);
            if (agentError is not null)
            {
                ctx.Error.WriteLine($"error: {agentError}");
                return ExitCodes.InvalidInput;
            }

            var stores = new List<IRunStore>();
            if (s3.Store(pr, ctx, pr.GetValue(s3LinkExpiry).Value) is { } s3Store)
            {
                stores.Add(s3Store);
                if (pr.GetValue(runId) is { } wanted && await CliSupport.StoredAlreadyAsync(ctx, s3Store, wanted).ConfigureAwait(false))
                {
                    ctx.Error.WriteLine($"error: --run-id {wanted}: {s3Store.Location}{wanted}/ already holds a run (a run is written once); pick another run id");
                    s3Store.Dispose();
                    return ExitCodes.InvalidInput;
                }
            }

            try
            {
                var view = pr.GetValue(quiet) ? null : new ProgressView(ctx.Error, ctx.Interactive);
                using var metrics = CliSupport.StartMetrics(ctx, pr.GetValue(metricsPort));
                var outcome = await new RunPipeline(ctx.Time, ctx.Log).RunAsync(
                    loaded.Plan!,
                    new RunOptions
                    {
                        OutputRoot = pr.GetValue(output)!.FullName,
                        RunId = pr.GetValue(runId),
                        Stores = stores,
                        Tags = pr.GetValue(tags) ?? [],
                        Agents = agents,
                        Listeners = CliSupport.Listeners(view, metrics),
                        Secrets = new SecretSource(ctx.Environment),
                        StartedBy = "cli",
                        CancelledBy = ctx.CancelledBy,
                    },
                    ctx.Cancel,
                    ctx.Abort).ConfigureAwait(false);
                view?.Finish();
                WriteOutcome(ctx.Out, outcome);
                CliSupport.AppendStepSummary(ctx, Path.Combine(outcome.Directory, "summary.md"));
                return CliSupport.ExitCodeOf(outcome.Record);
            }
            finally
            {
                foreach (var store in stores.OfType<IDisposable>())
                {
                    store.Dispose();
                }
            }
        });
        return cmd;
    }

    private static void WriteOutcome(TextWriter o, RunOutcome outcome)
    {
        var record = outcome.Record;
        o.Write(Core.Results.SummaryMarkdown.Render(record));
        o.WriteLine();
        o.WriteLine($"run.json:   {Path.Combine(outcome.Directory, "run.json")}");
        o.WriteLine($"summary.md: {Path.Combine(outcome.Directory, "summary.md")}");
        o.WriteLine($"report:     {Path.Combine(outcome.Directory, "index.html")}");
        foreach (var stored in record.Stores.Where(s => s.Store != "local"))
        {
            o.WriteLine(stored.Ok ? $"stored:     {stored.Location} ({stored.Files} files)\nreport link: {stored.ReportLink}" : $"NOT stored: {stored.Location}: {stored.Error}");
            if (stored.IndexLink is not null)
            {
                o.WriteLine($"runs index: {stored.IndexLink}");
            }
        }
    }
}
