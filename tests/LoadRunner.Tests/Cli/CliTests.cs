using System.Text.Json;
using Constellation.LoadRunner.Tests.Support;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Cli;

public sealed class CliTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-cli-").FullName;
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(args);

    private string WritePlan(string yaml)
    {
        var path = Path.Combine(_dir, $"plan-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Validate_InvalidPlan_ReportsEveryProblemAndExits2()
    {
        var plan = WritePlan("""
            name: broken
            targets:
              web: { baseUrl: "http://127.0.0.1:1" }
            scenarios:
              - name: a
                target: web
                load: { model: open, rate: 10, duration: 5s }
              - name: b
                target: nowhere
                request: { path: /x, tiemout: 5s }
                load:
                  model: open
                  stages:
                    - { duration: 10s, rate: -5 }
                stopWhen: ["p95 > fast over 10s"]
            """);

        var (code, _, err) = await Cli("validate", plan);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("scenarios[1].load.stages[0].rate: must be > 0, got -5");
        err.ShouldContain("scenarios[1].target: unknown target 'nowhere'");
        err.ShouldContain("scenarios[1].request.tiemout: unknown key");
        err.ShouldContain("scenarios[1].stopWhen[0]:");
        err.ShouldContain("4 problem(s)");
    }

    [Fact]
    public async Task Validate_EmbeddedDefaultPlan_IsValid()
    {
        var path = WritePlan(CliSupport.EmbeddedPlan());

        var (code, output, _) = await Cli("validate", path);

        code.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("spin-ramp: open model on spin/api/spin");
        output.ShouldContain("webapp-steady");
    }

    [Fact]
    public async Task Validate_MissingFile_Exits2()
    {
        var (code, _, err) = await Cli("validate", Path.Combine(_dir, "nope.yaml"));

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("does not exist");
    }

    [Fact]
    public async Task Load_Json_EndsWithTheBenchContractLine()
    {
        var (code, output, _) = await Cli("load", _target.Url("ok").ToString(), "--rate", "100", "--duration", "1", "--json");

        code.ShouldBe(ExitCodes.Ok);
        var last = output.TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        foreach (var key in new[] { "rps", "requests", "errors", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms" })
        {
            json.RootElement.TryGetProperty(key, out _).ShouldBeTrue(key);
        }

        json.RootElement.GetProperty("requests").GetInt64().ShouldBe(100);
        json.RootElement.GetProperty("errors").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task Load_Connections_RunsTheClosedModel()
    {
        var (code, output, _) = await Cli("load", _target.Url("slow?ms=20").ToString(), "-c", "4", "-d", "1s", "--quiet");

        code.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("closed model");
        _target.MaxConcurrent.ShouldBe(4);
    }

    [Fact]
    public async Task Load_BadOptions_ReportsAllAndExits2()
    {
        var (code, _, err) = await Cli("load", "ftp://x", "--rate", "10", "--connections", "2", "--duration", "soon");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("exactly one of --rate");
        err.ShouldContain("--duration must be");
        err.ShouldContain("url must be an absolute http");
    }

    [Fact]
    public async Task Run_Plan_WritesRunJsonAndSummaryThatRoundTrip()
    {
        var plan = WritePlan($$"""
            name: cli run
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            scenarios:
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 50, duration: 2s }
            """);

        var (code, output, err) = await Cli("run", plan, "--output", _dir, "--run-id", "r1");

        code.ShouldBe(ExitCodes.Ok, err);
        output.ShouldContain("| steady | 100 |");
        var json = await File.ReadAllTextAsync(Path.Combine(_dir, "r1", "run.json"), TestContext.Current.CancellationToken);
        var record = RunRecordJson.Deserialize(json);
        record.SchemaVersion.ShouldBe(RunRecord.CurrentSchemaVersion);
        record.Status.ShouldBe(RunStatus.Completed);
        record.PlanText.ShouldNotBeNull().ShouldContain("name: cli run");
        record.Scenarios[0].Totals.Requests.ShouldBe(100);
        RunRecordJson.Serialize(record).ShouldBe(json);
        File.Exists(Path.Combine(_dir, "r1", "summary.md")).ShouldBeTrue();
        File.ReadAllText(Path.Combine(_dir, "r1", "index.html")).ShouldContain("<td>steady</td>");
        File.ReadAllText(Path.Combine(_dir, "index.html")).ShouldContain("<a href=\"r1/index.html\">r1</a>");
        err.ShouldContain("steady [");

        var (listCode, list, _) = await Cli("runs", "list", "-o", _dir);
        listCode.ShouldBe(ExitCodes.Ok);
        list.ShouldContain("passed     cli run");
        list.ShouldMatch(@"steady \d+\.\d/s 0% p95 ");
    }

    [Fact]
    public async Task ChangeThreshold_TonightShiftsAgainstTheStoredNights_FailsTheGate_AndRunsTrendsSaysWhere()
    {
        // Twelve stored nights of the plan at a p95 of 20 ms, then last night at 60 ms, about what tonight's /slow?ms=60
        // takes: with tonight, a new level of two runs — a shift (one odd night alone would not be).
        for (int i = 0; i < 13; i++)
        {
            var night = new Constellation.Reports.History.RunSummary
            {
                RunId = $"night-{i:00}",
                PlanName = "nightly change",
                Status = RunStatus.Completed,
                StartedUtc = new DateTimeOffset(2026, 10, 1 + i, 2, 0, 0, TimeSpan.Zero),
                DurationSeconds = 2,
                Verdict = RunVerdict.Passed,
                Scenarios = [new("steady", 40, 20, 0, i == 12 ? 62 : 20 + (i % 3 * 0.2), 70, null, null, null)],
            };
            Directory.CreateDirectory(Path.Combine(_dir, night.RunId));
            await File.WriteAllTextAsync(Path.Combine(_dir, night.RunId, Constellation.Reports.History.RunSummary.FileName), JsonSerializer.Serialize(night, RunRecordJson.Options), TestContext.Current.CancellationToken);
        }

        var plan = WritePlan($$"""
            name: nightly change
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            scenarios:
              - name: steady
                target: web
                request: { path: "/slow?ms=60" }
                load: { model: open, rate: 20, duration: 2s }
                thresholds: ["p(95) change < 10%", "rate change < 10%"]
            """);

        var (code, output, err) = await Cli("run", plan, "--output", _dir, "--run-id", "tonight");

        code.ShouldBe(ExitCodes.ThresholdsFailed, output + err);
        output.ShouldContain("p(95) change < 10%");
        output.ShouldMatch(@"from run night-12 \(2026-10-13 02:00\), p (< )?0");
        var record = RunRecordJson.Deserialize(await File.ReadAllTextAsync(Path.Combine(_dir, "tonight", "run.json"), TestContext.Current.CancellationToken));
        record.Gate!.Thresholds.Single(t => t.Threshold == "p(95) change < 10%").Passed.ShouldBeFalse();
        record.Gate.Thresholds.Single(t => t.Threshold == "rate change < 10%").Passed.ShouldBeTrue(); // 20/s every night

        var (trendsCode, trends, _) = await Cli("runs", "trends", "-o", _dir, "--plan", "nightly change");
        trendsCode.ShouldBe(ExitCodes.Ok);
        trends.ShouldContain("nightly change: 14 runs");
        trends.ShouldMatch(@"steady p95 +\+\d+");
        trends.ShouldContain("from run night-12");
        trends.ShouldContain("← the latest runs");
        var (_, none, noneErr) = await Cli("runs", "trends", "-o", _dir, "--plan", "no such plan");
        (none + noneErr).ShouldContain("no runs of plan 'no such plan'");
    }

    [Fact]
    public async Task Report_FromRunJsonAlone_RendersTheSameOutputsAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var plan = WritePlan($$"""
            name: rerender
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            scenarios:
              - { name: steady, target: web, request: { path: /ok }, load: { model: open, rate: 20, duration: 1s } }
            """);
        await Cli("run", plan, "--output", _dir, "--run-id", "r3", "-q");
        var runDir = Path.Combine(_dir, "r3");
        var summary = await File.ReadAllTextAsync(Path.Combine(runDir, "summary.md"), ct);
        var html = await File.ReadAllTextAsync(Path.Combine(runDir, "index.html"), ct);
        File.Delete(Path.Combine(runDir, "summary.md"));
        File.Delete(Path.Combine(runDir, "index.html"));

        var (code, output, _) = await Cli("report", Path.Combine(runDir, "run.json"));

        code.ShouldBe(ExitCodes.Ok);
        output.ShouldContain(Path.Combine(runDir, "index.html"));
        (await File.ReadAllTextAsync(Path.Combine(runDir, "summary.md"), ct)).ShouldBe(summary);
        (await File.ReadAllTextAsync(Path.Combine(runDir, "index.html"), ct)).ShouldBe(html);
    }

    [Fact]
    public async Task Report_NotARunRecord_Exits2()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "run.json"), "{ not json", TestContext.Current.CancellationToken);

        var (code, _, err) = await Cli("report", _dir);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("is not a readable run record");
    }

    [Fact]
    public async Task Run_UnreachableTarget_CompletesWithConnectionErrorsNotACrash()
    {
        var plan = WritePlan("""
            name: unreachable
            targets:
              web: { baseUrl: "http://127.0.0.1:9" }
            scenarios:
              - name: s
                target: web
                load: { model: open, rate: 10, duration: 1s }
            """);

        var (code, _, _) = await Cli("run", plan, "--output", _dir, "--run-id", "r2", "-q");

        code.ShouldBe(ExitCodes.Ok);
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "r2", "run.json"), TestContext.Current.CancellationToken);
        record.Scenarios[0].Totals.Outcomes.ConnectionError.ShouldBe(10);
    }
}

public sealed class LiveMetricsCliTests : IAsyncLifetime
{
    private Constellation.Tests.TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await Constellation.Tests.TestTarget.StartAsync();

    public async ValueTask DisposeAsync() => await _target.DisposeAsync();

    [Fact]
    public async Task Load_MetricsPort_ServesLiveCountersWhileRunning()
    {
        var ct = TestContext.Current.CancellationToken;
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        }

        var o = new StringWriter();
        var e = new StringWriter();
        var run = ConstellationCli.RunAsync(
            ["load", _target.Url("ok").ToString(), "--rate", "50", "--duration", "6s", "-q", "--metrics-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new CliContext(o, e, false, ct, CancellationToken.None));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        string scraped = string.Empty;
        const string Offered = "constellation_offered_load{scenario=\"load\",unit=\"req/s\"} 50";
        for (int i = 0; i < 60 && !scraped.Contains(Offered, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100, ct);
            try
            {
                scraped = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), ct);
            }
            catch (HttpRequestException)
            {
                // not up yet
            }
        }

        (await run).ShouldBe(ExitCodes.Ok, e.ToString());
        scraped.ShouldContain("constellation_requests_total{scenario=\"load\",result=\"ok\"}");
        scraped.ShouldContain(Offered);
        scraped.ShouldContain("constellation_generator_cpu_ratio");
    }
}
