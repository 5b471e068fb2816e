using Constellation.Tests;
using Constellation.Reports.History;
using Constellation.Reports.Writers;

namespace Constellation.Reports.Tests;

public sealed class RunHistoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("constellation-history-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task WriteRun(string id, int hoursLater, string plan = "nightly")
    {
        var run = TestRuns.Sample(planName: plan) with { RunId = id };
        run = run with { Environment = run.Environment with { StartedUtc = run.Environment.StartedUtc.AddHours(hoursLater), EndedUtc = run.Environment.EndedUtc.AddHours(hoursLater) } };
        await CompositeReportWriter.Default.WriteAsync(run, Path.Combine(_root, id), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task LoadAsync_ListsRunsNewestFirst_AndIgnoresFoldersThatAreNotRuns()
    {
        await WriteRun("run-a", 0);
        await WriteRun("run-c", 48);
        await WriteRun("run-b", 24);
        Directory.CreateDirectory(Path.Combine(_root, "logs"));
        await File.WriteAllTextAsync(Path.Combine(_root, "logs", "run.json"), "garbage", TestContext.Current.CancellationToken);

        var runs = await RunHistory.LoadAsync(_root, TestContext.Current.CancellationToken);

        runs.Select(r => r.RunId).ShouldBe(["run-c", "run-b", "run-a"]);
        runs[0].Scenarios[0].BrokeAt.ShouldBe(105);
    }

    [Fact]
    public async Task LoadAsync_DamagedOrHostileSummaries_AreNotListed_AndNothingBlocks()
    {
        var ct = TestContext.Current.CancellationToken;
        await WriteRun("good", 0);
        var summary = await File.ReadAllTextAsync(Path.Combine(_root, "good", RunSummary.FileName), ct);
        async Task Hostile(string id, Action<System.Text.Json.Nodes.JsonObject> damage)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(summary)!.AsObject();
            node["runId"] = id;
            damage(node);
            Directory.CreateDirectory(Path.Combine(_root, id));
            await File.WriteAllTextAsync(Path.Combine(_root, id, RunSummary.FileName), node.ToJsonString(), ct);
        }

        await Hostile("nulls", n => n["scenarios"]!.AsArray().Insert(0, null));
        await Hostile("huge", n => n["scenarios"]![0]!["p95Ms"] = 1e308);
        await Hostile("negative", n => n["scenarios"]![0]!["p95Ms"] = -5);
        await Hostile("plausible", n => n["scaling"] = new System.Text.Json.Nodes.JsonObject { ["control.web.p95_delta"] = -0.47 }); // a control app faster under load: listed
        Directory.CreateDirectory(Path.Combine(_root, "copied"));
        await File.WriteAllTextAsync(Path.Combine(_root, "copied", RunSummary.FileName), summary, ct); // a copy of "good": listed, linked to its own folder
        Directory.CreateDirectory(Path.Combine(_root, "fifo"));
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(_root, "fifo", RunSummary.FileName)))
        {
            await mkfifo.WaitForExitAsync(ct);
        }

        var load = RunHistory.LoadAsync(_root, ct);
        (await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(20), ct))).ShouldBe(load, "a FIFO must never block the listing");

        (await load).Select(r => r.Folder).ShouldBe(["plausible", "good", "copied"], ignoreOrder: true);
        var html = RunsIndexPage.Render(await load);
        html.ShouldContain("<a href=\"copied/index.html\">good</a>");
        html.ShouldContain("<a href=\"good/index.html\">good</a>");
    }

    [Fact]
    public async Task RunsIndex_HasARowPerRunLinkingItsReport_AndATrendPerPlanWithHistory()
    {
        await WriteRun("run-a", 0);
        await WriteRun("run-b", 24);
        await WriteRun("other-1", 1, plan: "<b>other</b>");

        var path = await RunsIndexWriter.WriteAsync(_root, TestContext.Current.CancellationToken);
        var html = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);

        html.ShouldContain("<a href=\"run-b/index.html\">run-b</a>");
        var table = html[html.IndexOf("<h2>All runs</h2>", StringComparison.Ordinal)..];
        table.IndexOf("run-b", StringComparison.Ordinal).ShouldBeLessThan(table.IndexOf("run-a", StringComparison.Ordinal)); // newest first
        html.ShouldContain("11-26 02:00"); // the trend's runs by date and id
        html.ShouldContain("<h2>Trend: nightly</h2>");
        html.ShouldNotContain("Trend: &lt;b&gt;other"); // one run is no trend
        html.ShouldContain("&lt;b&gt;other&lt;/b&gt;");
        html.ShouldContain("nightly: p95 latency (ms) by run"); // latency and the breaking point: a chart each
        html.ShouldContain("nightly: breaking point (req/s) by run");
        html.ShouldContain("<th>verdict</th><th>tags</th>");
        html.ShouldContain("<span class=\"v v-passed\">passed</span>");
        html.ShouldNotContain("<script", Case.Insensitive);
    }

    [Fact]
    public async Task RenderText_IsOneLinePerRun()
    {
        await WriteRun("run-a", 0);
        await WriteRun("run-b", 24);

        var text = RunsIndexPage.RenderText(await RunHistory.LoadAsync(_root, TestContext.Current.CancellationToken));

        var lines = text.TrimEnd().Split('\n');
        lines.Length.ShouldBe(3);
        lines[0].ShouldContain("verdict");
        lines[1].ShouldStartWith("2026-11-26 02:00:00  passed     nightly");
        lines[1].ShouldContain("spin-ramp 59.1/s 2.71% p95");
        lines[1].ShouldContain("broke at 105 req/s");
    }
}

public sealed class LocalRunStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("constellation-local-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Store_WritesEveryOutputAndRefreshesTheRunsIndex()
    {
        var store = new Constellation.Reports.Stores.LocalRunStore(_root, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var run = Constellation.Tests.TestRuns.Sample();
        var dir = store.DirectoryFor(run.RunId);

        var status = await store.StoreAsync(dir, run, TestContext.Current.CancellationToken);

        status.Ok.ShouldBeTrue(status.Error);
        status.Store.ShouldBe("local");
        status.Files.ShouldBe(5);
        Directory.GetFiles(dir).Select(Path.GetFileName).Order().ShouldBe(["index.html", "junit.xml", "run-summary.json", "run.json", "summary.md"]);
        File.ReadAllText(Path.Combine(_root, "index.html")).ShouldContain(run.RunId);
    }
}
