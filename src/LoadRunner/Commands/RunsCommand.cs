using System.CommandLine;
using Constellation.LoadRunner.Cli;
using Constellation.Reports.History;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation runs list|trends|index|tag|promote</c>: the runs folder as history.</summary>
internal static class RunsCommand
{
    public static Command Create(CliContext ctx)
    {
        var folder = new Option<DirectoryInfo>("--output", "-o") { Description = "The runs folder.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var s3 = new S3Options(ctx, "Also the runs stored in this S3 bucket: listed, tagged and promoted there too");
        return new Command("runs", "Past runs: list them, their trends and change points, write the runs index, tag them, promote one to baseline.")
        {
            List(ctx, folder, s3),
            Trends(ctx, folder, s3),
            Index(ctx, folder),
            Tag(ctx, folder, s3),
            Promote(ctx, folder, s3),
        };
    }

    private static Command List(CliContext ctx, Option<DirectoryInfo> folder, S3Options s3)
    {
        var plan = new Option<string?>("--plan") { Description = "Only runs of this plan." };
        var limit = CliOptions.Integer("--limit", "At most this many runs, newest first.", 1, 100_000, 20, "-n");
        var list = new Command("list", "List past runs newest first with their key numbers (the runs index, in the terminal).") { folder, plan, limit };
        s3.AddTo(list);
        list.SetAction(async (pr, ct) => await CliSupport.WithStoreAsync(ctx, s3.Store(pr, ctx), async store =>
        {
            var runs = await RunCatalog.LoadAsync(pr.GetValue(folder)!.FullName, store, ct).ConfigureAwait(false);
            var p = pr.GetValue(plan);
            var shown = runs.Where(r => p is null || r.PlanName == p).Take(pr.GetValue(limit)).ToList();
            if (shown.Count == 0)
            {
                ctx.Error.WriteLine($"no runs in {pr.GetValue(folder)!.FullName}{(store is null ? string.Empty : $" or {store.Location}")}{(p is null ? string.Empty : $" for plan '{p}'")}");
                return ExitCodes.Ok;
            }

            ctx.Out.Write(RunsIndexPage.RenderText(shown));
            return ExitCodes.Ok;
        }).ConfigureAwait(false));
        return list;
    }

    private static Command Trends(CliContext ctx, Option<DirectoryInfo> folder, S3Options s3)
    {
        var plan = new Option<string?>("--plan") { Description = "Only this plan's runs." };
        var trends = new Command("trends", "Change points across runs: per plan, where p95, p99, the error rate, the rate, the breaking point or a scaling time shifted (Hunter's E-Divisive means with a t-test, p < 0.001), newest first; the latest runs' shifts are marked.") { folder, plan };
        s3.AddTo(trends);
        trends.SetAction(async (pr, ct) => await CliSupport.WithStoreAsync(ctx, s3.Store(pr, ctx), async store =>
        {
            var runs = await RunCatalog.LoadAsync(pr.GetValue(folder)!.FullName, store, ct).ConfigureAwait(false);
            var p = pr.GetValue(plan);
            if (p is not null && runs.All(r => r.PlanName != p))
            {
                ctx.Error.WriteLine($"no runs of plan '{p}' in {pr.GetValue(folder)!.FullName}{(store is null ? string.Empty : $" or {store.Location}")}");
                return ExitCodes.Ok;
            }

            ctx.Out.Write(RunTrends.RenderText(RunTrends.Analyze(runs, p)));
            return ExitCodes.Ok;
        }).ConfigureAwait(false));
        return trends;
    }

    private static Command Index(CliContext ctx, Option<DirectoryInfo> folder)
    {
        var index = new Command("index", "Write the runs index (index.html with trends) at the root of the runs folder.") { folder };
        index.SetAction(async (pr, ct) =>
        {
            ctx.Out.WriteLine(await RunsIndexWriter.WriteAsync(pr.GetValue(folder)!.FullName, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        });
        return index;
    }

    private static Command Tag(CliContext ctx, Option<DirectoryInfo> folder, S3Options s3)
    {
        var runId = RunIdArgument("The run to tag.");
        var tagArg = new Argument<string>("tag") { Description = "The tag, e.g. release-1.4." };
        tagArg.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } t && !Core.Results.RunNames.IsTag(t))
            {
                r.AddError($"tag must be {Core.Results.RunNames.TagRule}, got '{t}'");
            }
        });
        var remove = new Option<bool>("--remove") { Description = "Take the tag off instead." };
        var tag = new Command("tag", "Tag a stored run (find it again with --baseline tag:NAME).") { runId, tagArg, folder, remove };
        s3.AddTo(tag);
        tag.SetAction(async (pr, ct) => await CliSupport.WithStoreAsync(ctx, s3.Store(pr, ctx), store => Guard(ctx, async () =>
        {
            var r = await Baselines.TagAsync(pr.GetValue(folder)!.FullName, pr.GetValue(runId)!, pr.GetValue(tagArg)!, pr.GetValue(remove), ct, store).ConfigureAwait(false);
            ctx.Out.WriteLine($"{r.RunId}: tags {(r.Tags.Count == 0 ? "(none)" : string.Join(", ", r.Tags))}");
        })).ConfigureAwait(false));
        return tag;
    }

    private static Command Promote(CliContext ctx, Option<DirectoryInfo> folder, S3Options s3)
    {
        var runId = RunIdArgument("The run that becomes its plan's baseline.");
        var promote = new Command("promote", $"Make a run its plan's baseline: it gets the '{Baselines.PromotedTag}' tag, the plan's other runs lose it (use --baseline tag:{Baselines.PromotedTag}).") { runId, folder };
        s3.AddTo(promote);
        promote.SetAction(async (pr, ct) => await CliSupport.WithStoreAsync(ctx, s3.Store(pr, ctx), store => Guard(ctx, async () =>
        {
            var r = await Baselines.PromoteAsync(pr.GetValue(folder)!.FullName, pr.GetValue(runId)!, ct, store).ConfigureAwait(false);
            ctx.Out.WriteLine($"{r.RunId} is now the baseline of plan '{r.PlanName}'{(store is null ? string.Empty : $" (here and in {store.Location})")}");
        })).ConfigureAwait(false));
        return promote;
    }

    /// <summary>A run id argument: a folder name inside the runs folder, never a path out of it.</summary>
    private static Argument<string> RunIdArgument(string description)
    {
        var a = new Argument<string>("run-id") { Description = description };
        a.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } id && !Core.Results.RunNames.IsRunId(id))
            {
                r.AddError($"run-id may hold {Core.Results.RunNames.RunIdRule}, got '{id}'");
            }
        });
        return a;
    }

    private static async Task<int> Guard(CliContext ctx, Func<Task> body)
    {
        try
        {
            await body().ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is FileNotFoundException or ArgumentException)
        {
            ctx.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }
}
