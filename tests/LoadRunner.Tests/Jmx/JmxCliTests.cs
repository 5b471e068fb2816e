using System.Diagnostics;
using Constellation.LoadRunner.Tests.Support;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Jmx;

/// <summary>import-jmx and export-jtl from the command line; converted plans run against loopback.</summary>
public sealed class JmxCliTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-jmx-").FullName;
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(args);

    private static string Example(string name) => Path.Combine(Repo.Root, "examples", "jmeter", name);

    [Fact]
    public async Task Unsupported_ExitsWithTheImportCode_ListsEveryElement_AndWritesNothing_UnlessAllowPartial()
    {
        var plan = Path.Combine(_dir, "partial.yaml");

        var (code, _, err) = await Cli("import-jmx", Example("unsupported.jmx"), "-o", plan);

        code.ShouldBe(ExitCodes.ImportIncomplete);
        File.Exists(plan).ShouldBeFalse();
        err.ShouldContain("not converted: Checkout journey / shoppers / login / token [RegexExtractor]: a Regular Expression Extractor needs a reference name and a regular expression");
        err.ShouldContain("not converted: Checkout journey / shoppers / if logged in [IfController]");
        err.ShouldContain("note: Checkout journey / InfluxDB [BackendListener]: listener replaced");
        err.ShouldContain("Re-run with --allow-partial");

        (code, var output, _) = await Cli("import-jmx", Example("unsupported.jmx"), "-o", plan, "--allow-partial");

        code.ShouldBe(ExitCodes.Ok);
        output.ShouldContain($"wrote {plan}: 1 scenario(s), 1 target(s)");
        var (invalid, _, why) = await Cli("validate", plan);
        invalid.ShouldBe(ExitCodes.InvalidInput); // its CSV Data Set's file is not beside the plan
        why.ShouldContain("scenarios[0].data.file: no such file");
        File.Copy(Example("users.csv"), Path.Combine(_dir, "users.csv"));
        (await Cli("validate", plan)).Code.ShouldBe(ExitCodes.Ok);
        (await Cli("import-jmx", Example("unsupported.jmx"), "-o", plan, "--allow-partial")).Code.ShouldBe(ExitCodes.InvalidInput); // exists: --force
    }

    [Fact]
    public async Task PropertyFiles_AreRead_AndMinusJWins()
    {
        var props = Path.Combine(_dir, "demo.properties");
        await File.WriteAllTextAsync(props, "host=127.0.0.3\nport=9000\nspinMs=300\n", TestContext.Current.CancellationToken);

        var (code, yaml, err) = await Cli("import-jmx", Example("spin-ramp.jmx"), "-q", props, "-Jport=9100");

        code.ShouldBe(ExitCodes.Ok, err);
        yaml.ShouldContain("baseUrl: http://127.0.0.3:9100");
        yaml.ShouldContain("path: /api/spin?ms=300");
    }

    [Fact]
    public async Task BadInput_Exits2()
    {
        var notJmx = Path.Combine(_dir, "x.jmx");
        await File.WriteAllTextAsync(notJmx, "<html/>", TestContext.Current.CancellationToken);

        var (code, _, err) = await Cli("import-jmx", notJmx);
        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("expected <jmeterTestPlan>");

        (code, _, err) = await Cli("import-jmx", Example("spin-ramp.jmx"), "-J", "novalue");
        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("-J takes name=value");

        (code, _, err) = await Cli("import-jmx", Example("spin-ramp.jmx"), "--stop-when", "p95 > soon");
        code.ShouldBe(ExitCodes.InvalidInput);
    }

    [Fact]
    public async Task SpinRamp_Converted_RunsOnLoopback_WithJMetersThreadsPerSecond_AndExportsAJtl()
    {
        var plan = Path.Combine(_dir, "spin.yaml");
        int port = _target.BaseUrl.Port;

        var (code, output, err) = await Cli("import-jmx", Example("spin-ramp.jmx"), "-o", plan, "-Jhost=127.0.0.1", $"-Jport={port}", "-J", "spinMs=1", "--stop-when", "error_rate > 50% over 2s");

        code.ShouldBe(ExitCodes.Ok, err);
        output.ShouldContain("spin ramp: closed, peak 12 users, 9s, GET http://127.0.0.1:");
        (code, _, err) = await Cli("run", plan, "--output", _dir, "--run-id", "jmx", "-q");
        code.ShouldBe(ExitCodes.Ok, err);

        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "jmx", "run.json"), TestContext.Current.CancellationToken);
        var spin = record.Scenarios.Single(s => s.Name == "spin ramp");
        var jmeter = JmeterSchedule.Stepping(threads: 12, delay: 0, inCount: 3, burst: 0, inPeriod: 1, outCount: 12, outPeriod: 1, flight: 2, rampUp: 1);
        foreach (var second in spin.Seconds.Where(s => s.Second < 9))
        {
            // The run planned, each second, the users JMeter runs at that second's middle (within one during a ramp).
            second.Offered.ShouldBe(jmeter.At(second.Second + 0.5), 1, $"second {second.Second}");
        }

        spin.Seconds.Where(s => s.Second is 1 or 3 or 5).Select(s => s.Offered).ShouldBe([3.0, 6.0, 9.0]); // the holds
        spin.Seconds.Where(s => s.Second is 7 or 8).Select(s => s.Offered).ShouldBe([12.0, 12.0]); // the flight time
        spin.Totals.Outcomes.Status2xx.ShouldBeGreaterThan(100);
        spin.Totals.Outcomes.Errors.ShouldBe(0); // expect: status 200 and body contains "spun" — both hold
        record.Scenarios.Single(s => s.Name == "webapp control").Totals.Outcomes.Status2xx.ShouldBeGreaterThan(20);

        (code, output, _) = await Cli("export-jtl", Path.Combine(_dir, "jmx"));
        code.ShouldBe(ExitCodes.Ok);
        var jtl = Path.Combine(_dir, "jmx", "results.jtl");
        output.ShouldContain($"wrote {jtl}");
        var lines = await File.ReadAllLinesAsync(jtl, TestContext.Current.CancellationToken);
        lines[0].ShouldBe(JtlWriter.Header);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        rows.ShouldAllBe(r => r.Length == 19);
        int count = Array.IndexOf(JtlWriter.Header.Split(','), "SampleCount");
        rows.Where(r => r[2] == "spin ramp").Sum(r => long.Parse(r[count], System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(spin.Totals.Outcomes.Completed);
        rows.Select(r => long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture)).ShouldBeInOrder();
        rows.ShouldAllBe(r => r[7] == "true");
    }

    /// <summary>
    /// The same .jmx in Debian's JMeter 2.13 and, converted, in Constellation, against one loopback target: the
    /// loop-count thread group sends exactly threads × loops in both; the timed one about as many.
    /// </summary>
    /// <summary>
    /// Runs a .jmx in Debian's JMeter 2.13 (non-GUI, with the repo's permissive launcher) against the test target and
    /// returns its JTL's samples (fields split on commas). JMeter 2.13 exits 0 when it cannot load the plan or a
    /// sampler: the results file and its log are checked, not only its exit code.
    /// </summary>
    private async Task<List<string[]>> RunJMeterAsync(string jmx, string name, params string[] properties)
    {
        const string home = "/usr/share/jmeter";
        // The HTTP sampler is in jmeter-http, a Recommends of jmeter that --no-install-recommends leaves out.
        bool installed = File.Exists(Path.Combine(home, "bin", "ApacheJMeter.jar")) && File.Exists(Path.Combine(home, "lib", "ext", "ApacheJMeter_http.jar")) && File.Exists("/usr/bin/javac");
        Assert.SkipWhen(!installed && Environment.GetEnvironmentVariable("CI") != "true", "Debian's jmeter, jmeter-http and a JDK are not installed (scripts/test.sh installs them)");
        installed.ShouldBeTrue("scripts/test.sh installs jmeter, jmeter-http and openjdk-17-jdk-headless");
        var jtl = Path.Combine(_dir, $"{name}.jtl");
        var log = Path.Combine(_dir, $"{name}.log");
        var launcher = Path.Combine(Constellation.Tests.Repo.Root, "tests", "LoadRunner.Tests", "Jmx", "jmeter", "PermissiveJMeter.java");
        var psi = new ProcessStartInfo("java")
        {
            ArgumentList = { $"-Djmeter.home={home}", "-cp", $"{home}/bin/ApacheJMeter.jar:{home}/lib/*:{home}/lib/ext/*", launcher, "-n", "-t", jmx, $"-Jport={_target.BaseUrl.Port}", "-l", jtl, "-j", log },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        foreach (var p in properties)
        {
            psi.ArgumentList.Add($"-J{p}");
        }

        using (var jmeter = Process.Start(psi)!)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            limit.CancelAfter(TimeSpan.FromMinutes(2));
            var stdout = jmeter.StandardOutput.ReadToEndAsync(limit.Token);
            var stderr = jmeter.StandardError.ReadToEndAsync(limit.Token);
            await jmeter.WaitForExitAsync(limit.Token);
            jmeter.ExitCode.ShouldBe(0, await stdout + await stderr);
        }

        if (!File.Exists(jtl))
        {
            var tail = File.Exists(log) ? string.Join("\n", (await File.ReadAllLinesAsync(log, TestContext.Current.CancellationToken)).TakeLast(15)) : "(no jmeter.log either)";
            Assert.Fail($"JMeter exited 0 but wrote no results ({jtl}); the end of its log:\n{tail}");
        }

        return [.. (await File.ReadAllLinesAsync(jtl, TestContext.Current.CancellationToken)).Select(l => l.Split(',')).Where(f => f.Length > 7 && f[0] != "timeStamp")];
    }

    [Fact]
    public async Task SameJmx_InJMeterAndConverted_SendsTheSameRequests()
    {
        int port = _target.BaseUrl.Port;
        var jmx = Example("webapp-steady.jmx");

        long before = _target.Requests;
        var samples = await RunJMeterAsync(jmx, "jmeter");
        long jmeterSent = _target.Requests - before;
        long jmeterHome = _target.RequestsByPath.GetValueOrDefault("/");
        var jmeterByLabel = samples.GroupBy(f => f[2]).ToDictionary(g => g.Key, g => g.LongCount());
        samples.ShouldAllBe(f => f[7] == "true");

        var plan = Path.Combine(_dir, "steady.yaml");
        (await Cli("import-jmx", jmx, "-o", plan, $"-Jport={port}")).Code.ShouldBe(ExitCodes.Ok);
        before = _target.Requests;
        var (code, _, err) = await Cli("run", plan, "--output", _dir, "--run-id", "steady", "-q");
        code.ShouldBe(ExitCodes.Ok, err);
        long oursSent = _target.Requests - before;
        long oursHome = _target.RequestsByPath.GetValueOrDefault("/") - jmeterHome;
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "steady", "run.json"), TestContext.Current.CancellationToken);
        var ours = record.Scenarios.ToDictionary(s => s.Name, s => s.Totals);

        // The loop-count group: 3 threads × 5 loops × 2 samplers (index.html then /), in both.
        jmeterByLabel["index.html x5"].ShouldBe(15);
        jmeterByLabel["home x5"].ShouldBe(15);
        jmeterHome.ShouldBe(15);
        ours["static page x5"].Requests.ShouldBe(30);
        oursHome.ShouldBe(15);
        ours["static page x5"].Outcomes.Errors.ShouldBe(0);
        ours["static page"].Outcomes.Errors.ShouldBe(0);
        double ratio = ours["static page"].Requests / (double)jmeterByLabel["index.html"];
        ratio.ShouldBeInRange(0.75, 1.33, $"Constellation sent {ours["static page"].Requests}, JMeter {jmeterByLabel["index.html"]}");
        jmeterSent.ShouldBe(samples.Count);
        oursSent.ShouldBe(ours.Values.Sum(t => t.Requests));
        TestContext.Current.TestOutputHelper?.WriteLine($"JMeter: {string.Join(", ", jmeterByLabel.Select(p => $"{p.Key} {p.Value}"))}; Constellation: {string.Join(", ", ours.Select(p => $"{p.Key} {p.Value.Requests}"))}");
    }

    /// <summary>
    /// A Constant Throughput Timer in "all active threads" mode (calcMode 1) on 2 of a test's 6 threads, in Debian's
    /// JMeter 2.13 and converted: JMeter shares the 1200/min among all 6 threads, so the timed group sends a third of
    /// it (6.7/s), and so must the converted plan (the importer once gave it the whole 20/s).
    /// </summary>
    [Fact]
    public async Task ThroughputTimerInAllActiveThreadsMode_TwoGroups_ConvertedSendsJMetersRate()
    {
        var jmx = Example("two-groups-throughput.jmx");
        var samples = await RunJMeterAsync(jmx, "ctt");
        var timed = samples.Where(f => f[2] == "timed").Select(f => long.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        double jmeterRate = timed.Count / 15.0; // the group's scheduler duration

        var plan = Path.Combine(_dir, "ctt.yaml");
        (await Cli("import-jmx", jmx, "-o", plan, $"-Jport={_target.BaseUrl.Port}")).Code.ShouldBe(ExitCodes.Ok);
        var (code, _, err) = await Cli("run", plan, "--output", _dir, "--run-id", "ctt", "-q");
        code.ShouldBe(ExitCodes.Ok, err);
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "ctt", "run.json"), TestContext.Current.CancellationToken);
        double oursRate = record.Scenarios.Single(s => s.Name == "timed").Totals.Requests / 15.0;

        jmeterRate.ShouldBeInRange(20.0 / 3 * 0.9, 20.0 / 3 * 1.1, $"JMeter itself: {timed.Count} timed samples in 15 s");
        (oursRate / jmeterRate).ShouldBeInRange(0.95, 1.05, $"Constellation {oursRate:0.##}/s, JMeter {jmeterRate:0.##}/s");
    }

    /// <summary>
    /// A login journey — a CSV Data Set's user logs in, a Regular Expression Extractor takes the token, the HTTP
    /// Cookie Manager keeps the session cookie — in Debian's JMeter 2.13 and converted, against a loopback server
    /// that refuses /account without that cookie and that token: both read every account, without an error.
    /// </summary>
    [Fact]
    public async Task ALoginJourney_InJMeterAndConverted_ReadsTheSameAccounts()
    {
        var jmx = Example("login-journey.jmx");
        File.Copy(Example("users.csv"), Path.Combine(_dir, "users.csv"));
        var samples = await RunJMeterAsync(jmx, "journey");
        var jmeterAccounts = _target.AccountsRead.ToDictionary(kv => kv.Key, kv => kv.Value);
        samples.Count.ShouldBe(12); // 3 threads × 2 loops × 2 samplers
        samples.ShouldAllBe(f => f[7] == "true");
        jmeterAccounts.ShouldBe(new Dictionary<string, long> { ["ann"] = 2, ["bob"] = 2, ["cid"] = 2 }, ignoreOrder: true);

        var plan = Path.Combine(_dir, "journey.yaml");
        var (importCode, _, importErr) = await Cli("import-jmx", jmx, "-o", plan, $"-Jport={_target.BaseUrl.Port}");
        importCode.ShouldBe(ExitCodes.Ok, importErr);
        var yaml = await File.ReadAllTextAsync(plan, TestContext.Current.CancellationToken);
        yaml.ShouldContain("cookies: {clearEachIteration: true}");
        yaml.ShouldContain("${data.user}");
        yaml.ShouldContain("Bearer ${vars.token}");
        var (code, _, err) = await Cli("run", plan, "--output", _dir, "--run-id", "journey", "-q");
        code.ShouldBe(ExitCodes.Ok, err);
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "journey", "run.json"), TestContext.Current.CancellationToken);

        record.Scenarios.Single().Requests.Select(r => (r.Name, r.Totals.Requests, r.Totals.Outcomes.Errors)).ShouldBe([("login", 6L, 0L), ("account", 6L, 0L)]);
        _target.AccountsRead.ToDictionary(kv => kv.Key, kv => kv.Value - jmeterAccounts.GetValueOrDefault(kv.Key)).ShouldBe(jmeterAccounts, ignoreOrder: true);
    }
}
