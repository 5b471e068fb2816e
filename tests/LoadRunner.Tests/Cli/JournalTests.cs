using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;
using Constellation.Reports.Journal;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// A run is never lost: every run keeps a journal; run.json is built from it, `report RUN-DIR` builds the same bytes
/// again, a `constellation run` killed with SIGKILL leaves an aborted record and no target running, and a killed
/// coordinator's agents stop on their own and leave their counts.
/// </summary>
public sealed partial class JournalTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-journal-").FullName;
    private readonly List<Process> _processes = [];
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes.Where(p => !p.HasExited))
        {
            p.Kill(entireProcessTree: true);
        }

        await _target.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Report_RebuildsACompletedRunFromItsJournal_ByteForByte()
    {
        var plan = Path.Combine(_dir, "rebuild.yaml");
        await File.WriteAllTextAsync(plan, $$"""
            name: rebuild
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            observe:
              probes: [{ target: web, path: /ok, rate: 5 }]
            scenarios:
              - name: steady
                target: web
                request: { path: /ok, headers: { Authorization: "Bearer s3cret" } }
                load: { model: open, rate: 40, duration: 3s }
                thresholds: ["p(95) < 1s", "error_rate < 1% over any 2s"]
              - name: ramp
                target: web
                request: { path: "/fail-after?n=60" }
                load: { model: open, startRate: 10, stages: [{ duration: 4s, rate: 80 }] }
                stopWhen: ["error_rate > 20% over 1s"]
            thresholds: ["p(99) < 2s"]
            """, TestContext.Current.CancellationToken);

        var (code, _, err) = await CliRunner.RunAsync("run", plan, "-o", _dir, "--run-id", "rebuilt", "-q", "--tag", "nightly");
        code.ShouldBe(ExitCodes.Ok, err);
        var dir = Path.Combine(_dir, "rebuilt");
        File.Exists(Path.Combine(dir, "journal", "run.jsonl")).ShouldBeTrue();
        File.Exists(Path.Combine(dir, "journal", "steady.latency.hlog")).ShouldBeTrue();
        File.Exists(Path.Combine(dir, "journal", "ramp.service.hlog")).ShouldBeTrue();
        (await CliRunner.RunAsync("runs", "tag", "rebuilt", "promoted-later", "-o", _dir)).Code.ShouldBe(ExitCodes.Ok);
        var live = await File.ReadAllBytesAsync(Path.Combine(dir, "run.json"), TestContext.Current.CancellationToken);
        var record = RunRecordJson.Deserialize(System.Text.Encoding.UTF8.GetString(live));
        record.Scenarios.Single(s => s.Name == "ramp").BreakingPoint.ShouldNotBeNull();
        record.Gate.ShouldNotBeNull().Thresholds.Count.ShouldBe(3);
        record.Observation.ShouldNotBeNull().Probes.ShouldHaveSingleItem().Samples.ShouldNotBeEmpty();
        record.Tags.ShouldBe(["nightly", "promoted-later"]);
        record.Stores.ShouldHaveSingleItem().Store.ShouldBe("local");
        record.PlanText.ShouldNotBeNull().ShouldNotContain("s3cret");

        File.Delete(Path.Combine(dir, "run.json"));
        (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        err.ShouldContain("rebuilt the record of rebuilt from its journal: completed");
        var rebuilt = await File.ReadAllBytesAsync(Path.Combine(dir, "run.json"), TestContext.Current.CancellationToken);
        rebuilt.ShouldBe(live, "run.json rebuilt from the journal differs from the one the run wrote");
    }

    [Fact]
    public async Task Run_WithAnS3ThatNeverAnswers_FinishesAndRecordsWhyTheStoreFailed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var silent = new Constellation.Tests.SilentServer();
        var plan = Path.Combine(_dir, "s3.yaml");
        await File.WriteAllTextAsync(plan, $$"""
            name: s3
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            scenarios:
              - { name: steady, target: web, request: { path: /ok }, load: { model: open, rate: 20, duration: 1s } }
            """, ct);

        // Credentials from the environment, so the AWS SDK never looks further (EC2's metadata address is not loopback).
        var saved = new[] { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED" }.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        var clock = Stopwatch.StartNew();
        int code;
        string output, err;
        try
        {
            (code, output, err) = await CliRunner.RunAsync("run", plan, "-o", _dir, "--run-id", "s3", "-q", "--s3-bucket", "runs", "--s3-endpoint", silent.Url.ToString(), "--s3-timeout", "500ms");
        }
        finally
        {
            foreach (var (k, v) in saved)
            {
                Environment.SetEnvironmentVariable(k, v);
            }
        }

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30));
        code.ShouldBe(ExitCodes.Ok, err); // the local store has the run
        output.ShouldContain("NOT stored: s3://runs/");
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "s3", "run.json"), ct);
        var s3 = record.Stores.Single(s => s.Store == "s3");
        s3.Ok.ShouldBeFalse();
        s3.Error.ShouldNotBeNull().ShouldContain("no answer within 500ms in 4 attempts");
        err.ShouldContain("warning: could not store the run in s3://runs/");
    }

    [Fact]
    public async Task IntervalLogs_AreReadByHdrHistogramsOwnLogProcessor()
    {
        var ct = TestContext.Current.CancellationToken;
        const string jar = "/usr/share/java/hdrhistogram.jar";
        bool installed = File.Exists(jar) && File.Exists("/usr/bin/java");
        Assert.SkipWhen(!installed && Environment.GetEnvironmentVariable("CI") != "true", "Debian's libhdrhistogram-java and a JRE are not installed (scripts/test.sh installs them)");
        installed.ShouldBeTrue("scripts/test.sh installs libhdrhistogram-java");
        var plan = Path.Combine(_dir, "hlog.yaml");
        await File.WriteAllTextAsync(plan, $$"""
            name: hlog
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            scenarios:
              - { name: steady, target: web, request: { path: /ok }, load: { model: open, rate: 50, duration: 2s } }
            """, ct);
        (await CliRunner.RunAsync("run", plan, "-o", _dir, "--run-id", "hlog", "-q")).Code.ShouldBe(ExitCodes.Ok);
        var totals = (await RunRecordJson.ReadAsync(Path.Combine(_dir, "hlog", "run.json"), ct)).Scenarios.Single().Totals.Latency;

        var output = Path.Combine(_dir, "processed");
        var psi = new ProcessStartInfo("java") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-cp", jar, "org.HdrHistogram.HistogramLogProcessor", "-i", Path.Combine(_dir, "hlog", "journal", "steady.latency.hlog"), "-o", output, "-outputValueUnitRatio", "1000" })
        {
            psi.ArgumentList.Add(a);
        }

        using (var java = Process.Start(psi)!)
        {
            var err = java.StandardError.ReadToEndAsync(ct);
            await java.StandardOutput.ReadToEndAsync(ct);
            await java.WaitForExitAsync(ct);
            java.ExitCode.ShouldBe(0, await err);
        }

        // "#[Max     =        2.871, Total count    =          100]" and "#[Mean    =        0.627, ...]", in ms.
        var summary = await File.ReadAllTextAsync(output + ".hgrm", ct);
        var count = System.Text.RegularExpressions.Regex.Match(summary, @"Total count\s+=\s+(\d+)").Groups[1].Value;
        var max = System.Text.RegularExpressions.Regex.Match(summary, @"Max\s+=\s+([\d.]+)").Groups[1].Value;
        var mean = System.Text.RegularExpressions.Regex.Match(summary, @"Mean\s+=\s+([\d.]+)").Groups[1].Value;
        long.Parse(count, CultureInfo.InvariantCulture).ShouldBe(totals.Count);
        double.Parse(max, CultureInfo.InvariantCulture).ShouldBe(totals.MaxMs, 0.001);
        double.Parse(mean, CultureInfo.InvariantCulture).ShouldBe(totals.MeanMs, 0.001);
    }

    [Fact]
    public async Task KilledRun_ItsTargetIsGoneWithin5s_AndTheJournalBecomesAnAbortedRun()
    {
        var ct = TestContext.Current.CancellationToken;
        var plan = Path.Combine(_dir, "killed.yaml");
        await File.WriteAllTextAsync(plan, """
            name: killed
            targets:
              web: { launch: { role: webapp, readyTimeout: 120s } }
            scenarios:
              - name: steady
                target: web
                load: { model: open, rate: 20, duration: 60s }
            """, ct);
        var (process, stderr) = Start("run", plan, "-o", _dir, "--run-id", "killed");
        var dir = Path.Combine(_dir, "killed");
        await WaitAsync(() => JournaledSeconds(dir) >= 3, TimeSpan.FromSeconds(120));
        int target = int.Parse(TargetPid().Match(stderr.ToString()).Groups[1].Value, CultureInfo.InvariantCulture);

        process.Kill(); // SIGKILL: no handler runs, nothing is written at the end
        await process.WaitForExitAsync(ct);
        int journaled = JournaledSeconds(dir);

        var gone = Stopwatch.StartNew();
        await WaitAsync(() => !Alive(target), TimeSpan.FromSeconds(5));
        TestContext.Current.TestOutputHelper?.WriteLine($"the launched target was gone {gone.ElapsedMilliseconds} ms after the kill");
        File.Exists(Path.Combine(dir, "run.json")).ShouldBeFalse();
        var (_, list, _) = await CliRunner.RunAsync("runs", "list", "-o", _dir);
        list.ShouldContain("aborted");
        list.ShouldContain("killed");

        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        var record = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), ct);
        record.Status.ShouldBe(RunStatus.Aborted);
        record.Error.ShouldNotBeNull().ShouldContain("killed");
        var steady = record.Scenarios.Single();
        steady.EndReason.ShouldBe(EndReason.Aborted);
        steady.Seconds.Count.ShouldBe(journaled);
        steady.Totals.Outcomes.Status2xx.ShouldBeGreaterThanOrEqualTo(20 * (journaled - 1));
        (await File.ReadAllTextAsync(Path.Combine(dir, "index.html"), ct)).ShouldContain("aborted");
    }

    [Fact]
    public async Task KilledCoordinator_ItsTwoAgentsStopWithin15s_AndTheirCountsAreRecovered()
    {
        var ct = TestContext.Current.CancellationToken;
        var plan = Path.Combine(_dir, "coordinator.yaml");
        await File.WriteAllTextAsync(plan, $$"""
            name: coordinator
            targets:
              web: { baseUrl: "{{_target.BaseUrl}}" }
            scenarios:
              - name: steady
                target: web
                request: { path: /ok, headers: { Authorization: "Bearer agent-s3cret" } }
                load: { model: open, rate: 40, duration: 60s }
            """, ct);
        var (process, _) = Start("run", plan, "-o", _dir, "--run-id", "coordinator", "--agents", "2");
        var dir = Path.Combine(_dir, "coordinator");
        await WaitAsync(() => JournaledSeconds(dir) >= 3, TimeSpan.FromSeconds(120));
        var exchange = Path.Combine(dir, "agents");
        var assignment = await File.ReadAllTextAsync(Path.Combine(exchange, "assignment.json"), ct);
        assignment.ShouldNotContain("agent-s3cret"); // secrets reach the agents through their environment only
        var agents = Enumerable.Range(0, 2).Select(i => JsonDocument.Parse(File.ReadAllText(Path.Combine(exchange, $"agent-{i}", "status.json"))).RootElement.GetProperty("pid").GetInt32()).ToList();

        process.Kill();
        await process.WaitForExitAsync(ct);
        var gone = Stopwatch.StartNew();
        await WaitAsync(() => agents.All(pid => !Alive(pid)), TimeSpan.FromSeconds(15));
        TestContext.Current.TestOutputHelper?.WriteLine($"both agents were gone {gone.ElapsedMilliseconds} ms after the coordinator's kill");
        long served = _target.Requests;
        await Task.Delay(1500, ct);
        _target.Requests.ShouldBe(served, "no load after the agents stopped");

        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        err.ShouldContain("the run's coordinator was killed");
        var record = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), ct);
        record.Status.ShouldBe(RunStatus.Aborted);
        var d = record.Distribution.ShouldNotBeNull();
        d.Agents.Select(a => a.State).ShouldBe([AgentState.Orphaned, AgentState.Orphaned]);
        d.Agents.Sum(a => a.Requests).ShouldBe(served, "every request the target served is counted by an agent");
        record.Scenarios.Single().Totals.Requests.ShouldBe(served, "the agents' last seconds are merged into the record");
        Directory.Exists(exchange).ShouldBeFalse();
    }

    private (Process Process, System.Text.StringBuilder Stderr) Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "constellation.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["CI"] = "true";
        var process = Process.Start(psi)!;
        _processes.Add(process);
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return (process, stderr);
    }

    private static int JournaledSeconds(string dir)
    {
        try
        {
            return RunJournal.Exists(dir) ? RunJournal.Entries(dir).OfType<JournalSecond>().Count(s => s.Scenarios.Count > 0) : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                condition().ShouldBeTrue($"not within {limit.TotalSeconds:0} s");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"started web \(webapp\) pid (\d+)")]
    private static partial System.Text.RegularExpressions.Regex TargetPid();
}
