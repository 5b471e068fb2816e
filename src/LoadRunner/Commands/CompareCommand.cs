using System.CommandLine;
using Constellation.Core.Gate;
using Constellation.LoadRunner.Cli;
using Constellation.Reports.History;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation compare RUN --baseline B</c>: per scenario and metric, with noise floors; exit 99 on a regression.</summary>
internal static class CompareCommand
{
    public static Command Create(CliContext ctx)
    {
        var run = new Argument<string>("run") { Description = "The run: a run id in the runs folder, a run folder or a run.json." };
        var baseline = new Option<string>("--baseline", "-b") { Description = "What to compare with: a run id, latest-passed (newest completed run of the same plan whose gate passed) or tag:NAME.", Required = true };
        var folder = new Option<DirectoryInfo>("--output", "-o") { Description = "The runs folder.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var tolerance = CliOptions.Percent("--tolerance", "Relative change that counts as a regression (with absolute floors of 2ms, 0.5 points of error rate, 5s of scaling time).", 10, 1000);
        var s3 = new S3Options(ctx, "Also look for both runs in this S3 bucket's runs (a fresh CI workspace finds last night's baseline there)");
        var cmd = new Command("compare", "Compare a run with a baseline per scenario and metric; exit 99 on a regression beyond noise.") { run, baseline, folder, tolerance };
        s3.AddTo(cmd);
        cmd.SetAction(async (pr, ct) => await CliSupport.WithStoreAsync(ctx, s3.Store(pr, ctx), async store =>
        {
            var root = pr.GetValue(folder)!.FullName;
            var which = pr.GetValue(run)!;
            var path = File.Exists(which) ? which : Directory.Exists(which) ? Path.Combine(which, "run.json") : Path.Combine(root, which, "run.json");
            if (!File.Exists(path) && store is not null && Core.Results.RunNames.IsRunId(which))
            {
                await store.PullAsync(which, root, ct).ConfigureAwait(false);
            }

            if (!File.Exists(path))
            {
                ctx.Error.WriteLine($"error: no run '{which}' (looked for {path}{(store is null ? string.Empty : $" and in {store.Location}")})");
                return ExitCodes.InvalidInput;
            }

            if (await CliSupport.ReadRunArgumentAsync(ctx, path, ct).ConfigureAwait(false) is not var (current, _))
            {
                return ExitCodes.InvalidInput;
            }

            var found = await Baselines.ResolveAsync(root, pr.GetValue(baseline)!, current.PlanName, current.RunId, ct, store).ConfigureAwait(false);
            if (found.Record is null)
            {
                ctx.Error.WriteLine($"error: baseline: {found.Message}");
                return ExitCodes.InvalidInput;
            }

            var comparison = RunComparer.Compare(current, found.Record, new CompareTolerance { Relative = pr.GetValue(tolerance).Value / 100 });
            if (comparison.Metrics.Count == 0)
            {
                // Nothing compared is not "no regression": a run killed before its load, or two runs without a scenario in common.
                var why = current.Scenarios.Count == 0 ? $"run {current.RunId} has no scenario results ({current.Status.ToString().ToLowerInvariant()}{(current.Error is null ? string.Empty : ": " + current.Error)})"
                    : found.Record.Scenarios.Count == 0 ? $"baseline {found.Record.RunId} has no scenario results"
                    : $"runs {current.RunId} and {found.Record.RunId} have no scenario in common";
                ctx.Error.WriteLine($"error: nothing to compare: {why}");
                return ExitCodes.InvalidInput;
            }

            ctx.Out.Write(RunComparer.Render(comparison));
            return comparison.Regressed ? ExitCodes.ThresholdsFailed : ExitCodes.Ok;
        }).ConfigureAwait(false));
        return cmd;
    }
}
