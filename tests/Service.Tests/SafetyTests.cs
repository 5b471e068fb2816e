using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Constellation.Service.Tests;

/// <summary>
/// The service is safe to expose: cross-site requests change nothing (API and dashboard), forwarding headers never make
/// a caller local, a run is written once (Requeue does not run it again), the job's state is the run's verdict, the
/// dashboard's user is recorded, plans change while it runs, exposure is explicit.
/// </summary>
public sealed partial class SafetyTests : IDisposable
{
    private const string OperatorKey = "operator-key-for-safety-tests";
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-safety-").FullName;
    private readonly string _plans;

    public SafetyTests()
    {
        _plans = Path.Combine(_dir, "plans");
        Directory.CreateDirectory(_plans);
        File.WriteAllText(Path.Combine(_plans, "quick.yaml"), Plan("quick", "2s", "error_rate < 50%"));
        File.WriteAllText(Path.Combine(_plans, "gated.yaml"), Plan("gated", "2s", "p(95) < 1us"));
        File.WriteAllText(Path.Combine(_plans, "long.yaml"), Plan("long", "60s", "error_rate < 50%"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Plan(string name, string duration, string threshold) => $$"""
        name: {{name}}
        targets: { webapp: { launch: { role: webapp, readyTimeout: 120s } } }
        scenarios:
          - { name: steady, target: webapp, request: { path: / }, load: { model: open, rate: 10, duration: {{duration}} } }
        thresholds: ["{{threshold}}"]
        """;

    private ServiceTestHost Host() => new(new Dictionary<string, string?>
    {
        ["Constellation:PlansFolder"] = _plans,
        ["Constellation:RunsFolder"] = Path.Combine(_dir, "runs"),
        ["Constellation:Users:0:Name"] = "ops",
        ["Constellation:Users:0:Role"] = "operator",
        ["Constellation:Users:0:ApiKeySha256"] = ApiKeyHandler.Sha256Hex(OperatorKey),
    });

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, HttpMethod method, string path, Action<HttpRequestMessage>? with = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add(RemoteAddressFilter.HeaderName, IPAddress.Loopback.ToString());
        with?.Invoke(request);
        using var response = await client.SendAsync(request, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    private static async Task<string> StartAsync(HttpClient client, string plan)
    {
        var (status, body) = await SendAsync(client, HttpMethod.Post, "/api/runs", r => r.Headers.Add(CsrfHeaderFilter.HeaderName, "1"), JsonContent.Create(new { plan }));
        status.ShouldBe(HttpStatusCode.Accepted, body);
        return JsonSerializer.Deserialize<JsonElement>(body).GetProperty("id").GetString()!;
    }

    private static Task<JsonElement> WaitAsync(HttpClient client, string id, params string[] done) =>
        WaitUntilAsync(client, id, run => done.Contains(run.GetProperty("status").GetString()));

    private static async Task<JsonElement> WaitUntilAsync(HttpClient client, string id, Func<JsonElement, bool> until)
    {
        for (int i = 0; i < 900; i++)
        {
            var (_, body) = await SendAsync(client, HttpMethod.Get, $"/api/runs/{id}");
            var run = JsonSerializer.Deserialize<JsonElement>(body);
            if (until(run))
            {
                return run;
            }

            await Task.Delay(200, Ct);
        }

        throw new TimeoutException($"run {id} did not get there");
    }

    private static async Task<string> JobStateAsync(ServiceTestHost host, string jobId, Func<string, bool> done)
    {
        var storage = host.Services.GetRequiredService<JobStorage>();
        for (int i = 0; i < 300; i++)
        {
            using var connection = storage.GetConnection();
            if (connection.GetStateData(jobId) is { } state && done(state.Name))
            {
                return state.Name + ": " + state.Reason + " " + string.Join(", ", state.Data.Select(kv => $"{kv.Key}={kv.Value}"));
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"job {jobId} did not reach its state");
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Origin", "null")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Referer", "http://evil.example/page.html")]
    public async Task CrossSiteRequests_ToTheApiAndTheDashboard_ChangeNothing(string header, string value)
    {
        await using var host = Host();
        using var client = host.CreateClient();

        // The API, even with its own header (a page could not add it, but the Origin check does not rely on that).
        var (status, body) = await SendAsync(client, HttpMethod.Post, "/api/runs", r =>
        {
            r.Headers.TryAddWithoutValidation(header, value);
            r.Headers.Add(CsrfHeaderFilter.HeaderName, "1");
        }, JsonContent.Create(new { plan = "quick" }));
        status.ShouldBe(HttpStatusCode.Forbidden, body);
        body.ShouldContain("cross-site request refused");

        // The dashboard's actions: trigger a plan, delete a job, remove a plan's button.
        foreach (var (path, form) in new[] { ("/hangfire/recurring/trigger", "jobs[]=plan quick"), ("/hangfire/jobs/processing/delete", "jobs[]=1"), ("/hangfire/recurring/remove", "jobs[]=plan quick") })
        {
            (status, _) = await SendAsync(client, HttpMethod.Post, path, r => r.Headers.TryAddWithoutValidation(header, value), new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));
            status.ShouldBe(HttpStatusCode.Forbidden, path);
        }

        host.Services.GetRequiredService<RunService>().Active.ShouldBeEmpty();
        using var connection = host.Services.GetRequiredService<JobStorage>().GetConnection();
        connection.GetRecurringJobs().Select(j => j.Id).ShouldContain("plan quick");
    }

    [Fact]
    public async Task TheDashboard_WithoutItsAntiforgeryToken_ChangesNothing_AndWithItTheOperatorTriggersAsThemselves()
    {
        await using var host = Host();
        using var client = host.CreateClient();
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"ops:{OperatorKey}"));
        void Remote(HttpRequestMessage r)
        {
            r.Headers.Remove(RemoteAddressFilter.HeaderName);
            r.Headers.Add(RemoteAddressFilter.HeaderName, "10.9.8.7");
            r.Headers.TryAddWithoutValidation("Authorization", basic);
        }

        // No browser headers at all (curl): the antiforgery token is still required.
        var (status, _) = await SendAsync(client, HttpMethod.Post, "/hangfire/recurring/trigger", Remote, new StringContent("jobs[]=plan quick", Encoding.UTF8, "application/x-www-form-urlencoded"));
        status.ShouldBe(HttpStatusCode.Forbidden);
        host.Services.GetRequiredService<RunService>().Active.ShouldBeEmpty();

        // The dashboard's own page gives the token and its cookie, as a browser would keep them.
        using var page = new HttpRequestMessage(HttpMethod.Get, "/hangfire/recurring");
        Remote(page);
        using var pageResponse = await client.SendAsync(page, Ct);
        var html = await pageResponse.Content.ReadAsStringAsync(Ct);
        var headerName = CsrfMeta().Match(html) is { Success: true } h ? h.Groups[1].Value : throw new InvalidOperationException("no csrf-header meta: " + html[..Math.Min(500, html.Length)]);
        var token = CsrfToken().Match(html).Groups[1].Value;
        var cookie = string.Join("; ", pageResponse.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        html.ShouldContain("manual only");

        (status, _) = await SendAsync(client, HttpMethod.Post, "/hangfire/recurring/trigger", r =>
        {
            Remote(r);
            r.Headers.TryAddWithoutValidation(headerName, token);
            r.Headers.TryAddWithoutValidation("Cookie", cookie);
        }, new StringContent("jobs[]=plan quick", Encoding.UTF8, "application/x-www-form-urlencoded"));

        status.ShouldBe(HttpStatusCode.NoContent);
        var runs = host.Services.GetRequiredService<RunService>();
        for (int i = 0; i < 100 && !runs.Active.Any(); i++)
        {
            await Task.Delay(100, Ct);
        }

        var run = runs.Active.ShouldHaveSingleItem();
        run.Origin.ShouldBe("ops via dashboard");
        await WaitAsync(client, run.Id, "completed", "failed", "cancelled");
        var record = await Core.Results.RunRecordJson.ReadAsync(Path.Combine(_dir, "runs", run.Id, "run.json"), Ct);
        record.StartedBy.ShouldBe("ops via dashboard");
    }

    [Theory]
    [InlineData("rebind.attacker.example:8080", HttpStatusCode.Unauthorized)]
    [InlineData("127.0.0.1.nip.io:8080", HttpStatusCode.Unauthorized)]
    [InlineData("evil.example.com", HttpStatusCode.Unauthorized)]
    [InlineData("127.0.0.1:8080", HttpStatusCode.OK)]
    [InlineData("LOCALHOST:8080", HttpStatusCode.OK)]
    [InlineData("[::1]:8080", HttpStatusCode.OK)]
    public async Task DnsRebinding_ALoopbackCallerAskingForAnotherName_IsNeverTheLocalOperator(string hostHeader, HttpStatusCode expected)
    {
        await using var host = Host();
        using var client = host.CreateClient();

        // What a browser sends after a page's own name was made to resolve to 127.0.0.1: its name as Host, its origin as Origin.
        (await SendAsync(client, HttpMethod.Get, "/api/plans", r => r.Headers.Host = hostHeader)).Status.ShouldBe(expected);
        var name = hostHeader.Split(':')[0];
        var (started, _) = await SendAsync(client, HttpMethod.Post, "/api/runs", r =>
        {
            r.Headers.Host = hostHeader;
            r.Headers.TryAddWithoutValidation("Origin", $"http://{hostHeader}");
            r.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
            r.Headers.TryAddWithoutValidation("X-Constellation-Request", "1");
            r.Content = System.Net.Http.Json.JsonContent.Create(new { plan = "no-such-plan" });
        });
        started.ShouldBe(expected == HttpStatusCode.OK ? HttpStatusCode.NotFound : HttpStatusCode.Unauthorized, name);
    }

    [Fact]
    public async Task ForwardingHeaders_FromAnUnknownProxy_NeverMakeACallerLocal()
    {
        await using var host = Host();
        using var client = host.CreateClient();

        foreach (var header in ApiKeyHandler.ForwardingHeaders)
        {
            var (status, _) = await SendAsync(client, HttpMethod.Get, "/api/plans", r => r.Headers.TryAddWithoutValidation(header, "203.0.113.9"));
            status.ShouldBe(HttpStatusCode.Unauthorized, header);
        }

        (await SendAsync(client, HttpMethod.Get, "/api/plans")).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheJobIsTheVerdict_AFailedGateIsAFailedJob_AndRequeueNeverRunsARunAgain()
    {
        await using var host = Host();
        using var client = host.CreateClient();
        var runs = host.Services.GetRequiredService<RunService>();

        var passed = await StartAsync(client, "quick");
        (await WaitAsync(client, passed, "completed", "failed")).GetProperty("verdict").GetString().ShouldBe("passed");
        var passedJob = runs.Find(passed)!.JobId!;
        (await JobStateAsync(host, passedJob, s => s != "Processing")).ShouldStartWith("Succeeded");

        var failed = await StartAsync(client, "gated");
        var run = await WaitAsync(client, failed, "completed", "failed");
        run.GetProperty("verdict").GetString().ShouldBe("failed");
        var failedState = await JobStateAsync(host, runs.Find(failed)!.JobId!, s => s != "Processing");
        failedState.ShouldStartWith("Failed: verdict failed");
        failedState.ShouldContain($"/runs/{failed}/index.html");

        // Requeue (the dashboard's button) of the finished run: it is not run again, and its record is untouched.
        var json = Path.Combine(_dir, "runs", passed, "run.json");
        var before = await File.ReadAllBytesAsync(json, Ct);
        host.Services.GetRequiredService<IBackgroundJobClient>().Requeue(passedJob).ShouldBeTrue();
        var requeued = await JobStateAsync(host, passedJob, s => s == "Deleted");
        requeued.ShouldContain("a run is written once");
        (await File.ReadAllBytesAsync(json, Ct)).ShouldBe(before);
        runs.Active.ShouldBeEmpty();
    }

    [Fact]
    public async Task ACancelledRun_IsADeletedJob_AndWhoCancelledItIsInRunJson_AndSurvivesARestart()
    {
        string id;
        await using (var host = Host())
        {
            using var client = host.CreateClient();
            id = await StartAsync(client, "long");
            // Two seconds of load journaled before the cancel: a partial run with something in it.
            await WaitUntilAsync(client, id, r => r.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object && p.GetProperty("seconds").GetInt32() >= 2);
            (await SendAsync(client, HttpMethod.Delete, $"/api/runs/{id}", r => r.Headers.Add(CsrfHeaderFilter.HeaderName, "1"))).Status.ShouldBe(HttpStatusCode.Accepted);
            await WaitAsync(client, id, "cancelled");
            (await JobStateAsync(host, host.Services.GetRequiredService<RunService>().Find(id)!.JobId!, s => s != "Processing")).ShouldStartWith("Deleted");
        }

        var record = await Core.Results.RunRecordJson.ReadAsync(Path.Combine(_dir, "runs", id, "run.json"), Ct);
        record.CancelledBy.ShouldBe("local");
        record.StartedBy.ShouldBe("local via api");

        await using var restarted = Host();
        using var again = restarted.CreateClient();
        var (_, body) = await SendAsync(again, HttpMethod.Get, $"/api/runs/{id}");
        var info = JsonSerializer.Deserialize<JsonElement>(body);
        info.GetProperty("startedBy").GetString().ShouldBe("local via api");
        info.GetProperty("cancelledBy").GetString().ShouldBe("local");
        info.GetProperty("verdict").GetString().ShouldBe("cancelled");
    }

    [Fact]
    public async Task PlansAddedChangedAndRemoved_WhileTheServiceRuns_UpdateTheirButtons()
    {
        PlanCatalog.ScanEvery = TimeSpan.FromMilliseconds(300);
        await using var host = Host();
        using var client = host.CreateClient();
        (await SendAsync(client, HttpMethod.Get, "/api/plans")).Status.ShouldBe(HttpStatusCode.OK); // started
        var storage = host.Services.GetRequiredService<JobStorage>();
        async Task<Dictionary<string, string>> ButtonsAsync(Func<Dictionary<string, string>, bool> until)
        {
            for (int i = 0; i < 100; i++)
            {
                using var connection = storage.GetConnection();
                var buttons = connection.GetRecurringJobs().ToDictionary(j => j.Id, j => string.Join(" ", j.Job?.Args ?? []));
                if (until(buttons))
                {
                    return buttons;
                }

                await Task.Delay(100, Ct);
            }

            throw new TimeoutException("the buttons did not change");
        }

        await File.WriteAllTextAsync(Path.Combine(_plans, "added.yaml"), Plan("added", "1s", "error_rate < 50%"), Ct);
        (await ButtonsAsync(b => b.ContainsKey("plan added")))["plan added"].ShouldContain("manual only");

        await File.WriteAllTextAsync(Path.Combine(_plans, "added.yaml"), "name: [broken", Ct);
        (await ButtonsAsync(b => b.GetValueOrDefault("plan added")?.Contains("INVALID", StringComparison.Ordinal) == true))["plan added"].ShouldContain("GET /api/plans lists them");
        var (status, body) = await SendAsync(client, HttpMethod.Post, "/api/runs", r => r.Headers.Add(CsrfHeaderFilter.HeaderName, "1"), JsonContent.Create(new { plan = "added" }));
        status.ShouldBe(HttpStatusCode.UnprocessableEntity, body);

        File.Delete(Path.Combine(_plans, "added.yaml"));
        (await ButtonsAsync(b => !b.ContainsKey("plan added"))).ShouldContainKey("plan quick");
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://example.com:8080", false)]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    public void ListeningBeyondThisMachine_WithoutAUser_RefusesToStart(string url, bool loopback)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = url }).Build();
        var validator = new ServiceOptionsValidator(configuration);

        var result = validator.Validate(null, new ServiceOptions { PlansFolder = _plans });

        result.Succeeded.ShouldBe(loopback, string.Join("; ", result.Failures ?? []));
        if (!loopback)
        {
            result.Failures!.ShouldHaveSingleItem().ShouldContain("listens beyond this machine and no user is configured");
            validator.Validate(null, new ServiceOptions { PlansFolder = _plans, Users = [new UserOptions { Name = "ops", Role = "operator", ApiKeySha256 = ApiKeyHandler.Sha256Hex("k") }] }).Succeeded.ShouldBeTrue();
        }
    }

    [GeneratedRegex("<meta name=\"csrf-header\" content=\"([^\"]+)\"")]
    private static partial Regex CsrfMeta();

    [GeneratedRegex("<meta name=\"csrf-token\" content=\"([^\"]+)\"")]
    private static partial Regex CsrfToken();
}
