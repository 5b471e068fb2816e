using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>compare, runs tag and runs promote on stored runs: baselines by id, latest-passed and tag.</summary>
public sealed class CompareCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-compare-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task StoreAsync(RunRecord run)
    {
        var dir = Path.Combine(_dir, run.RunId);
        Directory.CreateDirectory(dir);
        await RunRecordJson.WriteAsync(run, Path.Combine(dir, "run.json"), TestContext.Current.CancellationToken);
        await new Reports.Writers.RunSummaryWriter().WriteAsync(run, dir, TestContext.Current.CancellationToken);
    }

    private async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await ConstellationCli.RunAsync(args, new CliContext(o, e, false, TestContext.Current.CancellationToken, CancellationToken.None));
        return (code, o.ToString(), e.ToString());
    }

    private static RunRecord Run(string id, int minute, double ms, string? verdict = GateResult.Passed)
    {
        var run = TestRuns.Steady("name: nightly\n", 40, i => ms + (5 * Math.Sin(i)));
        return run with
        {
            RunId = id,
            PlanName = "nightly",
            Environment = run.Environment with { StartedUtc = run.Environment.StartedUtc.AddMinutes(minute) },
            Gate = verdict is null ? null : new GateResult { Verdict = verdict },
        };
    }

    [Fact]
    public async Task Compare_ById_LatestPassed_AndTag()
    {
        await StoreAsync(Run("r1-base", 1, 100));
        await StoreAsync(Run("r2-failed", 2, 300, GateResult.Failed));
        await StoreAsync(Run("r3-now", 3, 140));

        var (code, o, e) = await CliAsync("compare", "r3-now", "--baseline", "r1-base", "-o", _dir);
        code.ShouldBe(ExitCodes.ThresholdsFailed, o + e);
        o.ShouldContain("# r3-now against baseline r1-base");
        o.ShouldContain("| api | p95 |");
        o.ShouldContain("**Regression**");

        // latest-passed skips the failed run and the run itself.
        (code, o, _) = await CliAsync("compare", "r3-now", "--baseline", "latest-passed", "-o", _dir);
        code.ShouldBe(ExitCodes.ThresholdsFailed);
        o.ShouldContain("against baseline r1-base");

        // Against the slow failed run, r3 is an improvement.
        (code, o, _) = await CliAsync("compare", Path.Combine(_dir, "r3-now"), "--baseline", "r2-failed", "-o", _dir);
        code.ShouldBe(ExitCodes.Ok);
        o.ShouldContain("No regression");

        (code, o, _) = await CliAsync("runs", "promote", "r2-failed", "-o", _dir);
        code.ShouldBe(ExitCodes.Ok);
        o.ShouldContain("r2-failed is now the baseline of plan 'nightly'");
        (code, _, _) = await CliAsync("runs", "promote", "r1-base", "-o", _dir);
        code.ShouldBe(ExitCodes.Ok);
        (await RunRecordJson.ReadAsync(Path.Combine(_dir, "r2-failed", "run.json"), TestContext.Current.CancellationToken)).Tags.ShouldBeEmpty();
        (code, o, _) = await CliAsync("compare", "r3-now", "--baseline", "tag:baseline", "-o", _dir);
        code.ShouldBe(ExitCodes.ThresholdsFailed);
        o.ShouldContain("against baseline r1-base");

        (code, o, _) = await CliAsync("runs", "tag", "r3-now", "release-1.4", "-o", _dir);
        code.ShouldBe(ExitCodes.Ok);
        o.ShouldContain("r3-now: tags release-1.4");
        (code, _, e) = await CliAsync("compare", "r1-base", "--baseline", "tag:release-1.4", "-o", _dir);
        code.ShouldBe(ExitCodes.Ok, e);
    }

    [Fact]
    public async Task Compare_UnknownRunOrBaseline_Exit2()
    {
        await StoreAsync(Run("only", 1, 100));
        var (code, _, e) = await CliAsync("compare", "only", "--baseline", "tag:nope", "-o", _dir);
        code.ShouldBe(ExitCodes.InvalidInput);
        e.ShouldContain("no run in");
        (code, _, e) = await CliAsync("compare", "missing", "--baseline", "latest-passed", "-o", _dir);
        code.ShouldBe(ExitCodes.InvalidInput);
        e.ShouldContain("no run 'missing'");
        (code, _, e) = await CliAsync("runs", "tag", "missing", "x", "-o", _dir);
        code.ShouldBe(ExitCodes.InvalidInput);
    }
}
