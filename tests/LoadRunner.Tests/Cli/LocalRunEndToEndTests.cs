using System.Diagnostics;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>The embedded-default path end to end: real SpinService processes launched, loaded, stopped.</summary>
public sealed class LocalRunEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_LaunchedSpinAndWebapp_RampBreaksSpinAndChildrenAreStopped()
    {
        var plan = Path.Combine(_dir, "local-short.yaml");
        await File.WriteAllTextAsync(plan, """
            name: local-short
            targets:
              spin:
                launch: { role: spin, env: { Spin__DefaultMs: "40" }, readyTimeout: 120s }
              webapp:
                launch: { role: webapp, readyTimeout: 120s }
            scenarios:
              - name: spin-ramp
                target: spin
                request: { path: /api/spin, timeout: 5s }
                load:
                  model: open
                  startRate: 10
                  stages: [{ duration: 8s, rate: 200 }]
                  maxInFlight: 100
                stopWhen: ["p95 > 500ms over 2s", "dropped > 5% over 2s"]
              - name: webapp-steady
                target: webapp
                request: { path: / }
                load: { model: open, rate: 20, duration: 4s }
            observe:
              baseline: 1s
              cooldown: 1s
              local: { interval: 500ms }
              probes: [{ target: webapp, rate: 10 }]
            """, TestContext.Current.CancellationToken);
        var o = new StringWriter();
        var e = new StringWriter();

        var code = await ConstellationCli.RunAsync(["run", plan, "-o", _dir, "--run-id", "e2e"], new CliContext(o, e, false, TestContext.Current.CancellationToken, CancellationToken.None));

        code.ShouldBe(ExitCodes.Ok, o + "\n" + e);
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "e2e", "run.json"), TestContext.Current.CancellationToken);
        var spin = record.Scenarios.Single(s => s.Name == "spin-ramp");
        spin.EndReason.ShouldBe(EndReason.Stopped);
        spin.LatencyLimits.ShouldBe([new LatencyLimit("p95 > 500ms over 2s", 500)]);
        spin.BreakingPoint.ShouldNotBeNull().OfferedAtFailure.ShouldBeLessThan(200);
        spin.Totals.Outcomes.Status2xx.ShouldBeGreaterThan(0);
        record.Scenarios.Single(s => s.Name == "webapp-steady").Totals.Outcomes.Status2xx.ShouldBe(80);

        // What the generator spent, per scenario: its CPU split by the requests each started, per 1,000 requests.
        var cost = record.Generator.Cost.ToDictionary(c => c.Scenario);
        cost.Keys.Order().ShouldBe(["spin-ramp", "webapp-steady"]);
        cost["webapp-steady"].Requests.ShouldBe(80);
        cost["spin-ramp"].Requests.ShouldBe(record.Scenarios.Single(s => s.Name == "spin-ramp").Seconds.Sum(x => x.Started));
        cost.Values.ShouldAllBe(c => c.CpuSeconds > 0 && c.CpuMsPer1kRequests > 0);
        var expected = cost["spin-ramp"].CpuSeconds * 1_000_000 / cost["spin-ramp"].Requests; // CpuSeconds is rounded to ms
        cost["spin-ramp"].CpuMsPer1kRequests.ShouldBe(expected, (0.001 * 1_000_000 / cost["spin-ramp"].Requests) + 0.001);
        File.ReadAllText(Path.Combine(_dir, "e2e", "summary.md")).ShouldContain("CPU per 1k requests: spin-ramp ");
        File.ReadAllText(Path.Combine(_dir, "e2e", "logs", "spin.log")).ShouldContain("SPINSERVICE_READY role=spin");

        // The observer ran beside the load: CPU of both targets and the generator, webapp probed from the baseline on.
        var obs = record.Observation.ShouldNotBeNull();
        obs.FromSeconds.ShouldBeLessThan(-0.8);
        obs.ToSeconds.ShouldBeGreaterThan(record.Scenarios.Max(s => s.StartOffsetSeconds + s.DurationSeconds) + 0.8);
        foreach (var name in new[] { "spin", "webapp", "generator" })
        {
            record.Observations.ShouldContain(s => s.Group == "CPU" && s.Name == name && s.Points.Count >= 4, name);
        }

        record.Observations.Single(s => s.Group == "CPU" && s.Name == "spin").Points.Max(p => p.Value).ShouldBeGreaterThan(30); // spin burnt CPU
        var probe = obs.Probes.Single();
        probe.Target.ShouldBe("webapp");
        probe.Samples.ShouldContain(p => p.Seconds < 0);
        probe.Samples.ShouldAllBe(p => p.Ok);
        var control = record.Scaling.ShouldNotBeNull().Control.Single();
        control.BaselineP95Ms.ShouldNotBeNull();
        control.Window.ShouldBe("load");
        File.ReadAllText(Path.Combine(_dir, "e2e", "index.html")).ShouldContain("webapp: control-app latency");

        // Every child was stopped by PID: no SpinService is left listening on the ports the run used.
        foreach (var url in record.Environment.Targets.Values)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            await Should.ThrowAsync<HttpRequestException>(() => http.GetAsync(new Uri(new Uri(url), "/health/live"), TestContext.Current.CancellationToken));
        }

        var pids = System.Text.RegularExpressions.Regex.Matches(e.ToString(), @"started \w+ \(\w+\) pid (\d+)").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        pids.Count.ShouldBe(2);
        pids.ShouldAllBe(pid => !IsRunning(pid));
    }

    private static bool IsRunning(int pid)
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
}
