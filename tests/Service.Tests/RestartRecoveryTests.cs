using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Constellation.Core.Results;

namespace Constellation.Service.Tests;

/// <summary>
/// With Hangfire on a real PostgreSQL (started by scripts/test.sh): the service process is killed mid-run and
/// started again; the interrupted run is marked aborted with the data of its last checkpoint, not lost, and not
/// run again.
/// </summary>
public sealed class RestartRecoveryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-restart-").FullName;
    private Process? _service;

    public void Dispose()
    {
        ServiceProcess.Stop(_service);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task KilledMidRun_TheRunIsMarkedAbortedWithItsData_AfterARestart()
    {
        var ct = TestContext.Current.CancellationToken;
        var connection = Environment.GetEnvironmentVariable("CONSTELLATION_TEST_POSTGRES");
        if (string.IsNullOrEmpty(connection))
        {
            Assert.SkipWhen(Environment.GetEnvironmentVariable("CI") != "true", "no PostgreSQL: run scripts/test.sh, which starts one on loopback");
            Assert.Fail("CONSTELLATION_TEST_POSTGRES is not set; scripts/test.sh should have started PostgreSQL");
        }

        // A database of its own, so earlier runs of this test leave nothing behind.
        var database = "constellation_" + Guid.NewGuid().ToString("n")[..8];
        await using (var admin = new Npgsql.NpgsqlConnection(connection))
        {
            await admin.OpenAsync(ct);
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync(ct);
        }

        var plans = Path.Combine(_dir, "plans");
        var runs = Path.Combine(_dir, "runs");
        await ServiceProcess.WritePlanAsync(plans, "long", "120s", ct);
        int port = ServiceProcess.FreePort();
        var db = new Npgsql.NpgsqlConnectionStringBuilder(connection) { Database = database }.ConnectionString;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Add("X-Constellation-Request", "1");

        _service = ServiceProcess.Start(port, plans, runs, db);
        await ServiceProcess.WaitAsync(async () => (await ServiceProcess.TryGetAsync(http, "/health/ready")) == HttpStatusCode.OK, ct);
        var started = await http.PostAsJsonAsync("/api/runs", new { plan = "long" }, ct);
        started.StatusCode.ShouldBe(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync(ct));
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        var dir = Path.Combine(runs, id);
        await ServiceProcess.WaitAsync(() => Task.FromResult(Reports.Journal.RunJournal.Exists(dir) && Reports.Journal.RunJournal.Entries(dir).OfType<Reports.Journal.JournalSecond>().Count() >= 5), ct);

        _service.Kill(entireProcessTree: true); // a crash: no shutdown, no goodbye
        await _service.WaitForExitAsync(ct);
        File.Exists(Path.Combine(runs, id, "run.json")).ShouldBeFalse();

        _service = ServiceProcess.Start(port, plans, runs, db);
        await ServiceProcess.WaitAsync(async () => (await ServiceProcess.TryGetAsync(http, "/health/ready")) == HttpStatusCode.OK, ct);
        var run = await http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}", ct);
        run.GetProperty("status").GetString().ShouldBe("aborted");
        var record = await RunRecordJson.ReadAsync(Path.Combine(runs, id, "run.json"), ct);
        record.Status.ShouldBe(RunStatus.Aborted);
        record.Error.ShouldNotBeNull().ShouldContain("the run was killed");
        record.Scenarios.Single().Seconds.Count.ShouldBeGreaterThanOrEqualTo(5);
        record.Scenarios.Single().Totals.Outcomes.Status2xx.ShouldBeGreaterThan(50);
        record.StartedBy.ShouldBe("local via api");
        File.ReadAllText(Path.Combine(runs, id, "index.html")).ShouldContain("aborted — the run was killed");

        // Nothing runs again: Hangfire may hand the interrupted job back; the service does not redo a run it did not start.
        var page = await http.GetFromJsonAsync<JsonElement>("/api/runs", ct);
        page.GetProperty("runs").EnumerateArray().ShouldAllBe(r => r.GetProperty("status").GetString() != "running");

        await using var check = new Npgsql.NpgsqlConnection(db);
        await check.OpenAsync(ct);
        await using var jobs = new Npgsql.NpgsqlCommand("SELECT count(*) FROM hangfire.job", check);
        ((long)(await jobs.ExecuteScalarAsync(ct))!).ShouldBeGreaterThanOrEqualTo(1); // the job lived in PostgreSQL
    }
}
