using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Constellation.Core.Results;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Constellation.Service.Tests;

/// <summary>The service host through WebApplicationFactory: API, auth, one run at a time, cancel, reports, schedule.</summary>
public sealed class ServiceTests : IDisposable
{
    private const string OperatorKey = "operator-key-for-tests";
    private const string ViewerKey = "viewer-key-for-tests";
    private static readonly IPAddress Remote = IPAddress.Parse("10.1.2.3");

    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-service-").FullName;
    private readonly string _plans;
    private readonly string _runs;

    public ServiceTests()
    {
        _plans = Path.Combine(_dir, "plans");
        _runs = Path.Combine(_dir, "runs");
        Directory.CreateDirectory(_plans);
        File.WriteAllText(Path.Combine(_plans, "quick.yaml"), Plan("quick", "3s"));
        File.WriteAllText(Path.Combine(_plans, "long.yaml"), Plan("long", "60s"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Plan(string name, string duration) => $$"""
        name: {{name}}
        description: webapp on loopback for {{duration}}
        targets:
          webapp: { launch: { role: webapp, readyTimeout: 120s } }
        scenarios:
          - name: steady
            target: webapp
            request: { path: /, headers: { Authorization: "Bearer s3cr3t-token" } }
            load: { model: open, rate: 20, duration: {{duration}} }
        thresholds: ["error_rate < 5%"]
        """;

    private ServiceTestHost Factory(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Constellation:PlansFolder"] = _plans,
            ["Constellation:RunsFolder"] = _runs,
            ["Constellation:Users:0:Name"] = "ops",
            ["Constellation:Users:0:Role"] = "operator",
            ["Constellation:Users:0:ApiKeySha256"] = ApiKeyHandler.Sha256Hex(OperatorKey),
            ["Constellation:Users:1:Name"] = "watcher",
            ["Constellation:Users:1:Role"] = "viewer",
            ["Constellation:Users:1:ApiKeySha256"] = ApiKeyHandler.Sha256Hex(ViewerKey),
        };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }

        return new ServiceTestHost(settings);
    }

    /// <summary>A request from a chosen address (the test host has none: a startup filter sets it from a test header), with optional key, CSRF header and JSON body.</summary>
    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(ServiceTestHost f, string method, string path, IPAddress? from = null, string? key = null, object? json = null, bool csrf = true)
    {
        using var client = f.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add(RemoteAddressFilter.HeaderName, (from ?? IPAddress.Loopback).ToString());
        if (key is not null)
        {
            request.Headers.Add(ApiKeyHandler.HeaderName, key);
        }

        if (csrf)
        {
            request.Headers.Add(CsrfHeaderFilter.HeaderName, "1");
        }

        if (json is not null)
        {
            request.Content = JsonContent.Create(json);
        }

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private static async Task<JsonElement> WaitForAsync(ServiceTestHost f, string id, Func<string, bool> done)
    {
        for (int i = 0; i < 600; i++)
        {
            var (_, body) = await SendAsync(f, "GET", $"/api/runs/{id}");
            var run = JsonSerializer.Deserialize<JsonElement>(body);
            if (done(run.GetProperty("status").GetString()!))
            {
                return run;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"run {id} did not finish");
    }

    [Fact]
    public async Task Remote_WithoutCredentials_Is401_ViewerReads_LoopbackNeedsNothing()
    {
        await using var f = Factory();
        (await SendAsync(f, "GET", "/api/plans", Remote)).Status.ShouldBe(HttpStatusCode.Unauthorized);
        (await SendAsync(f, "GET", "/api/plans", Remote, key: "wrong")).Status.ShouldBe(HttpStatusCode.Unauthorized);
        (await SendAsync(f, "GET", "/hangfire", Remote)).Status.ShouldBe(HttpStatusCode.Unauthorized);
        (await SendAsync(f, "GET", "/health/live", Remote)).Status.ShouldBe(HttpStatusCode.OK);

        var (status, body) = await SendAsync(f, "GET", "/api/plans", Remote, ViewerKey);
        status.ShouldBe(HttpStatusCode.OK);
        body.ShouldContain("\"name\":\"quick\"");
        body.ShouldContain("\"scenarios\":[\"steady\"]");
        (await SendAsync(f, "GET", "/api/plans")).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync(f, "GET", "/hangfire", Remote, ViewerKey)).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync(f, "GET", "/openapi/v1.json")).Body.ShouldContain("/api/runs");
    }

    [Fact]
    public async Task AViewerCannotStartARun_NorCanAForgedRequest()
    {
        await using var f = Factory();
        (await SendAsync(f, "POST", "/api/runs", Remote, ViewerKey, new { plan = "quick" })).Status.ShouldBe(HttpStatusCode.Forbidden);
        var (status, body) = await SendAsync(f, "POST", "/api/runs", Remote, OperatorKey, new { plan = "quick" }, csrf: false);
        status.ShouldBe(HttpStatusCode.BadRequest);
        body.ShouldContain("CSRF");
        (await SendAsync(f, "POST", "/api/runs", Remote, OperatorKey, new { plan = "../quick" })).Status.ShouldBe(HttpStatusCode.NotFound);
        var (bad, problem) = await SendAsync(f, "POST", "/api/runs", Remote, OperatorKey, new { plan = "quick", rateMultiplier = 50 });
        bad.ShouldBe(HttpStatusCode.BadRequest);
        problem.ShouldContain("rateMultiplier must be > 0 and at most 10");
    }

    [Fact]
    public async Task ARun_StartsQueuesOneAtATime_Finishes_AndServesItsReport()
    {
        await using var f = Factory();
        var (status, body) = await SendAsync(f, "POST", "/api/runs", Remote, OperatorKey, new { plan = "quick", tag = "smoke", durationSeconds = 2 });
        status.ShouldBe(HttpStatusCode.Accepted, body);
        var id = JsonSerializer.Deserialize<JsonElement>(body).GetProperty("id").GetString()!;
        JsonSerializer.Deserialize<JsonElement>(body).GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ShouldBe(["smoke"]); // the 202 says what was asked

        var (busy, problem) = await SendAsync(f, "POST", "/api/runs", Remote, OperatorKey, new { plan = "quick" });
        busy.ShouldBe(HttpStatusCode.Conflict);
        problem.ShouldContain("one run at a time");

        var run = await WaitForAsync(f, id, s => s is "completed" or "failed" or "cancelled");
        run.GetProperty("status").GetString().ShouldBe("completed");
        run.GetProperty("verdict").GetString().ShouldBe(GateResult.Passed);
        run.GetProperty("startedBy").GetString().ShouldBe("ops via api");
        run.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ShouldBe(["smoke"]);

        var (reportStatus, html) = await SendAsync(f, "GET", $"/runs/{id}/index.html", Remote, ViewerKey);
        reportStatus.ShouldBe(HttpStatusCode.OK);
        html.ShouldStartWith("<!doctype html>");
        var record = RunRecordJson.Deserialize((await SendAsync(f, "GET", $"/api/runs/{id}/run.json")).Body);
        record.StartedBy.ShouldBe("ops via api");
        record.PlanText.ShouldNotBeNull().ShouldContain("Authorization: \"***redacted***\"");
        html.ShouldNotContain("s3cr3t");
        (await SendAsync(f, "GET", $"/api/runs/{id}/run.json")).Body.ShouldNotContain("s3cr3t");
        record.Scenarios.Single().DurationSeconds.ShouldBeLessThan(3); // the 2 s override
        var (_, list) = await SendAsync(f, "GET", "/api/runs?plan=quick&tag=smoke");
        list.ShouldContain($"\"id\":\"{id}\"");
        (await SendAsync(f, "GET", "/runs/")).Body.ShouldContain(id); // the runs index
    }

    [Fact]
    public async Task ADistributedRunsExchange_IsNeverServed()
    {
        await using var f = Factory();
        var agents = Path.Combine(_runs, "20261129-000000-x-0001", "agents");
        Directory.CreateDirectory(agents);
        await File.WriteAllTextAsync(Path.Combine(agents, "assignment.json"), "{}", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_runs, "20261129-000000-x-0001", "summary.md"), "# x", TestContext.Current.CancellationToken);

        (await SendAsync(f, "GET", "/runs/20261129-000000-x-0001/agents/assignment.json")).Status.ShouldBe(HttpStatusCode.NotFound);
        (await SendAsync(f, "GET", "/runs/20261129-000000-x-0001/summary.md")).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Cancel_StopsTheLoad_KeepsThePartialRun_AndSaysWho()
    {
        await using var f = Factory();
        var (_, body) = await SendAsync(f, "POST", "/api/runs", Remote, OperatorKey, new { plan = "long" });
        var id = JsonSerializer.Deserialize<JsonElement>(body).GetProperty("id").GetString()!;
        await WaitForAsync(f, id, s => s == "running");
        var dir = Path.Combine(_runs, id);
        for (int i = 0; i < 300 && !(Reports.Journal.RunJournal.Exists(dir) && Reports.Journal.RunJournal.Entries(dir).OfType<Reports.Journal.JournalSecond>().Any()); i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken); // until the load has journaled its first second
        }

        var live = JsonSerializer.Deserialize<JsonElement>((await SendAsync(f, "GET", $"/api/runs/{id}")).Body);
        live.GetProperty("progress").GetProperty("seconds").GetInt32().ShouldBeGreaterThanOrEqualTo(1); // the service's listener
        (await SendAsync(f, "DELETE", $"/api/runs/{id}", Remote, ViewerKey)).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await SendAsync(f, "DELETE", $"/api/runs/{id}", Remote, OperatorKey)).Status.ShouldBe(HttpStatusCode.Accepted);
        var run = await WaitForAsync(f, id, s => s is "cancelled" or "completed" or "failed");
        run.GetProperty("status").GetString().ShouldBe("cancelled");
        run.GetProperty("cancelledBy").GetString().ShouldBe("ops");
        var record = RunRecordJson.Deserialize((await SendAsync(f, "GET", $"/api/runs/{id}/run.json")).Body);
        record.Status.ShouldBe(RunStatus.Cancelled);
        record.Scenarios.Single().Seconds.Count.ShouldBeLessThan(30);
        (await SendAsync(f, "DELETE", $"/api/runs/{id}", Remote, OperatorKey)).Status.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task TheSchedule_StartsTheSameRun_AsTheApi()
    {
        await using var f = Factory(new() { ["Constellation:Schedules:0:Plan"] = "quick", ["Constellation:Schedules:0:Cron"] = "0/2 * * * * ?" });
        _ = f.Server; // start the host: Quartz begins firing
        JsonElement? found = null;
        for (int i = 0; i < 100 && found is null; i++)
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
            var (_, list) = await SendAsync(f, "GET", "/api/runs?plan=quick");
            var runs = JsonSerializer.Deserialize<JsonElement>(list).GetProperty("runs");
            found = runs.EnumerateArray().Cast<JsonElement?>().FirstOrDefault(r => r!.Value.GetProperty("startedBy").GetString() == "schedule via quartz");
        }

        found.ShouldNotBeNull("a scheduled run started");
        var id = found.Value.GetProperty("id").GetString()!;
        (await SendAsync(f, "DELETE", $"/api/runs/{id}")).Status.ShouldBeOneOf(HttpStatusCode.Accepted, HttpStatusCode.Conflict);
    }

    [Fact]
    public void BadConfiguration_IsReportedAtStart_EveryProblemAtOnce()
    {
        using var f = Factory(new()
        {
            ["Constellation:PlansFolder"] = Path.Combine(_dir, "missing"),
            ["Constellation:Users:1:Role"] = "admin",
            ["Constellation:Schedules:0:Plan"] = "quick",
            ["Constellation:Schedules:0:Cron"] = "every night",
        });
        var e = Should.Throw<OptionsValidationException>(() => f.Server);
        e.Message.ShouldContain("Constellation:PlansFolder:");
        e.Message.ShouldContain("Constellation:Users:1:Role: must be operator or viewer, got 'admin'");
        e.Message.ShouldContain("Constellation:Schedules:0:Cron: 'every night' is not a Quartz cron expression");
    }
}

/// <summary>Test plumbing: the in-memory test server has no client address; take it from a header.</summary>
internal sealed class RemoteAddressFilter : IStartupFilter
{
    public const string HeaderName = "X-Test-Remote-Address";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, proceed) =>
        {
            if (context.Request.Headers[HeaderName].FirstOrDefault() is { } ip)
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(ip);
            }

            return proceed(context);
        });
        next(app);
    };
}
