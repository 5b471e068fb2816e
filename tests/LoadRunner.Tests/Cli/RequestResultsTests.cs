using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// Per-request results of a sequence, end to end against loopback: run.json, summary.md, the report, junit.xml,
/// export-jtl and thresholds on one request — alone and over two agents.
/// </summary>
public sealed class RequestResultsTests() : LoopbackRunTests("requests")
{
    /// <summary>2 users × 5 iterations of home, ok, slow (30 ms), ok again (the same label: one row, as in JMeter) and an unnamed 503.</summary>
    private async Task<string> PlanAsync(params string[] thresholds)
    {
        var path = Path.Combine(Dir, $"plan-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, $$"""
            name: journey
            targets:
              web: { baseUrl: "{{Target.BaseUrl}}" }
            scenarios:
              - name: shop
                target: web
                requests:
                  - { name: home, path: / }
                  - { name: ok, path: /ok }
                  - { name: slow, path: "/slow?ms=30" }
                  - { name: ok, path: /ok }
                  - { path: /status/503 }
                load: { model: closed, users: 2, duration: 30s, iterations: 5 }
                thresholds: [{{string.Join(", ", thresholds.Select(t => $"\"{t}\""))}}]
            """, TestContext.Current.CancellationToken);
        return path;
    }

    private static void ShouldHaveEachRequest(RunRecord record, string log)
    {
        var shop = record.Scenarios.Single();
        shop.Totals.Requests.ShouldBe(50, log);
        shop.Requests.Select(r => (r.Name, r.Totals.Requests)).ShouldBe([("home", 10L), ("ok", 20L), ("slow", 10L), ("GET /status/503", 10L)], log);
        shop.Requests.Sum(r => r.Totals.Requests).ShouldBe(shop.Totals.Requests);
        shop.Requests.Single(r => r.Name == "GET /status/503").Totals.Outcomes.Status5xx.ShouldBe(10);
        shop.Requests.Where(r => r.Name != "GET /status/503").ShouldAllBe(r => r.Totals.Outcomes.Errors == 0);
        shop.Requests.Single(r => r.Name == "slow").Totals.Latency.P50Ms.ShouldBeGreaterThanOrEqualTo(30);
        shop.Requests.Single(r => r.Name == "ok").Totals.Latency.P50Ms.ShouldBeLessThan(30);
        shop.Requests.Single(r => r.Name == "ok").Url.ShouldEndWith("/ok");

        // Exact merges: each request's seconds add up to its totals, and the requests' histograms to the scenario's.
        foreach (var r in shop.Requests)
        {
            r.Seconds.Sum(s => s.Outcomes.Completed).ShouldBe(r.Totals.Requests);
        }

        Histograms.Merge(shop.Requests.Select(r => Histograms.Decode(r.Totals.LatencyHistogram!))).TotalCount.ShouldBe(Histograms.Decode(shop.Totals.LatencyHistogram!).TotalCount);
    }

    [Fact]
    public async Task ASequence_HasEachRequestsOwnResults_InEveryOutput()
    {
        var (code, record, log) = await RunAsync(await PlanAsync("p(95){request:ok} < 1s", "p(50){request:slow} < 10ms", "error_rate{request:home} == 0%"), "journey");

        ShouldHaveEachRequest(record, log);

        // Gated per request: slow's median is 30 ms, so its threshold fails (exit 99) while the others hold.
        code.ShouldBe(ExitCodes.ThresholdsFailed, log);
        var results = record.Gate.ShouldNotBeNull().Thresholds.ToDictionary(t => t.Threshold, t => t.Passed);
        results.ShouldBe(new Dictionary<string, bool> { ["p(95){request:ok} < 1s"] = true, ["p(50){request:slow} < 10ms"] = false, ["error_rate{request:home} == 0%"] = true });

        var run = Path.Combine(Dir, "journey");
        var md = await File.ReadAllTextAsync(Path.Combine(run, "summary.md"), TestContext.Current.CancellationToken);
        md.ShouldContain("## Requests (aggregate report)");
        md.ShouldContain("| shop › slow | 10 |");
        md.ShouldContain("| shop › GET /status/503 | 10 |");
        var html = await File.ReadAllTextAsync(Path.Combine(run, "index.html"), TestContext.Current.CancellationToken);
        html.ShouldContain("<td>shop › ok</td><td>20</td>");
        html.ShouldContain("Latency of the request slow of shop per second");
        var junit = await File.ReadAllTextAsync(Path.Combine(run, "junit.xml"), TestContext.Current.CancellationToken);
        junit.ShouldContain("classname=\"journey.scenarios.shop\" name=\"slow\"");

        // export-jtl: one label per request (JMeter's samplers), the scenario as the thread name.
        var (jtlCode, _, jtlErr) = await CliRunner.RunAsync("export-jtl", run);
        jtlCode.ShouldBe(ExitCodes.Ok, jtlErr);
        var rows = (await File.ReadAllLinesAsync(Path.Combine(run, "results.jtl"), TestContext.Current.CancellationToken)).Skip(1).Select(l => l.Split(',')).ToList();
        rows.GroupBy(r => r[2]).ToDictionary(g => g.Key, g => g.Sum(r => long.Parse(r[15], System.Globalization.CultureInfo.InvariantCulture)))
            .ShouldBe(new Dictionary<string, long> { ["home"] = 10, ["ok"] = 20, ["slow"] = 10, ["GET /status/503"] = 10 }, ignoreOrder: true);
        rows.ShouldAllBe(r => r[5] == "shop");

        // The journal alone rebuilds the same per-request results (what a killed run leaves).
        var rebuilt = Reports.Journal.RunJournal.Read(run).Scenarios.Single();
        rebuilt.Requests.Select(r => (r.Name, r.Totals.Requests, r.Totals.Latency.P95Ms)).ShouldBe(record.Scenarios.Single().Requests.Select(r => (r.Name, r.Totals.Requests, r.Totals.Latency.P95Ms)));
    }

    [Fact]
    public async Task ASequenceOverTwoAgents_MergesEachRequestExactly()
    {
        var (code, record, log) = await RunAsync(await PlanAsync(), "agents", "--agents", "2");

        code.ShouldBe(ExitCodes.Ok, log);
        record.Distribution.ShouldNotBeNull().Agents.Count.ShouldBe(2);
        ShouldHaveEachRequest(record, log);
    }

    [Theory]
    [InlineData("p(95){request:nope} < 1s", "no request 'nope' in this scenario (its requests: home, ok, slow, GET /status/503)")]
    [InlineData("p(95){request:ok} change < 10%", "a change takes the scenario's metric")]
    [InlineData("p(95){request ok} < 1s", "a tag names one request of a sequence")]
    public async Task ABadRequestThreshold_IsRefusedBeforeAnyLoad(string threshold, string message)
    {
        var before = Target.Requests;
        var (code, _, err) = await CliRunner.RunAsync("run", await PlanAsync(threshold), "-o", Dir);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain(message);
        Target.Requests.ShouldBe(before);
    }
}
