using System.Diagnostics;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Runs.Distributed;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Distributed;

/// <summary>
/// `run --agents N` end to end: real agent processes (this build's constellation.dll), a folder exchange, a real
/// Kestrel target on loopback, and the coordinator merging their seconds.
/// </summary>
public sealed class DistributedRunTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-agents-").FullName;
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<string> PlanAsync(string scenarios)
    {
        var path = Path.Combine(_dir, $"plan-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, $"""
            name: distributed
            targets:
              web: {"{"} baseUrl: "{_target.BaseUrl}" {"}"}
            scenarios:
            {scenarios}
            """, TestContext.Current.CancellationToken);
        return path;
    }

    private async Task<(int Code, RunRecord Record, string Log)> RunAsync(string plan, string runId, params string[] extra)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await ConstellationCli.RunAsync(["run", plan, "-o", _dir, "--run-id", runId, "-q", .. extra], new CliContext(o, e, false, TestContext.Current.CancellationToken, CancellationToken.None));
        var json = Path.Combine(_dir, runId, "run.json");
        File.Exists(json).ShouldBeTrue($"{o}\n{e}");
        return (code, await RunRecordJson.ReadAsync(json, TestContext.Current.CancellationToken), $"{o}\n{e}");
    }

    [Fact]
    public async Task TwoAgents_AtATotalRate_SendExactlyWhatOneProcessSends()
    {
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 150, duration: 4s }
              - name: users
                target: web
                request: { path: /ok }
                load: { model: closed, users: 5, duration: 3s, thinkTime: 20ms }
            """);

        var (oneCode, one, oneLog) = await RunAsync(plan, "one");
        var (twoCode, two, twoLog) = await RunAsync(plan, "two", "--agents", "2");

        oneCode.ShouldBe(ExitCodes.Ok, oneLog);
        twoCode.ShouldBe(ExitCodes.Ok, twoLog);
        one.Distribution.ShouldBeNull();
        var steadyOne = one.Scenarios.Single(s => s.Name == "steady");
        var steadyTwo = two.Scenarios.Single(s => s.Name == "steady");
        steadyOne.Seconds.Sum(s => s.Started).ShouldBe(600);
        steadyTwo.Seconds.Sum(s => s.Started).ShouldBe(600); // the same arrivals, dealt out between the agents
        steadyTwo.Totals.Outcomes.Status2xx.ShouldBe(steadyOne.Totals.Outcomes.Status2xx);
        steadyTwo.Seconds.Take(4).Select(s => s.Offered).ShouldBe(steadyOne.Seconds.Take(4).Select(s => s.Offered));
        two.Scenarios.Single(s => s.Name == "users").Seconds.Take(3).ShouldAllBe(s => s.Offered == 5); // 3 + 2 users
        steadyTwo.Totals.LatencyHistogram.ShouldNotBeNull();
        Histograms.Decode(steadyTwo.Totals.LatencyHistogram!).TotalCount.ShouldBe(600);

        var d = two.Distribution.ShouldNotBeNull();
        d.Mode.ShouldBe("local");
        d.Degraded.ShouldBeFalse();
        d.Agents.Select(a => a.State).ShouldBe([AgentState.Completed, AgentState.Completed]);
        d.Agents.Select(a => a.Share).ShouldBe([0.5, 0.5]);
        d.Agents.Sum(a => a.Requests).ShouldBe(two.Scenarios.Sum(s => s.Totals.Requests));
        two.Gate.ShouldBeNull();
        File.ReadAllText(Path.Combine(_dir, "two", "summary.md")).ShouldContain("## Agents");
        File.ReadAllText(Path.Combine(_dir, "two", "index.html")).ShouldContain("<h2>Agents</h2>");
        File.Exists(Path.Combine(_dir, "two", "agents", AgentProtocol.AssignmentKey)).ShouldBeFalse(); // it carried the plan's headers
        File.ReadAllText(Path.Combine(_dir, "two", "logs", "agent-1.log")).ShouldContain("agent 1: done");
    }

    [Fact]
    public async Task UnequalWeights_SplitTheArrivalsByWeight()
    {
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 120, duration: 3s }
            """);

        var (code, record, log) = await RunAsync(plan, "weighted", "--agent-weights", "2,1");

        code.ShouldBe(ExitCodes.Ok, log);
        record.Scenarios.Single().Seconds.Sum(s => s.Started).ShouldBe(360);
        record.Distribution.ShouldNotBeNull().Agents.Select(a => a.Requests).ShouldBe([240L, 120L]);
    }

    [Theory]
    [InlineData("KILL")] // the OOM killer: no result at all
    [InlineData("TERM")] // a pod evicted: the agent stops early and writes what it did
    public async Task AnAgentKilledMidRun_IsAMissingShare_AndTheRunIsInvalid(string signal)
    {
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 100, duration: 10s }
            """);
        var run = RunAsync(plan, "killed", "--agents", "2");

        // Once agent 1 has streamed three seconds, kill it.
        var seconds = Path.Combine(_dir, "killed", "agents", "agent-1", "seconds");
        var deadline = Stopwatch.StartNew();
        while (!(Directory.Exists(seconds) && Directory.GetFiles(seconds, "*.json").Length >= 3))
        {
            deadline.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60), "agent 1 never streamed three seconds");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        var status = AgentProtocol.Deserialize<AgentStatus>(await File.ReadAllBytesAsync(Path.Combine(_dir, "killed", "agents", AgentProtocol.StatusKey(1)), TestContext.Current.CancellationToken));
        using (var kill = Process.Start("kill", ["-" + signal, status.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            kill.ExitCode.ShouldBe(0);
        }

        var (code, record, log) = await run;

        code.ShouldBe(ExitCodes.RunInvalid, log);
        var d = record.Distribution.ShouldNotBeNull();
        d.Degraded.ShouldBeTrue();
        d.Agents[0].State.ShouldBe(AgentState.Completed);
        d.Agents[1].State.ShouldBe(AgentState.Failed);
        var missing = d.MissingShare["steady"];
        missing.ShouldBeInRange(0.05, 0.45); // half the load for the seconds after the kill
        d.Problems.Single().ShouldStartWith("agent 1 (50% of the load) failed after second ");
        record.Gate.ShouldNotBeNull().Verdict.ShouldBe(GateResult.Invalid);
        record.Gate.InvalidReasons.ShouldContain(r => r.Contains("agent 1", StringComparison.Ordinal));
        var sent = record.Scenarios.Single().Seconds.Sum(s => s.Started);
        sent.ShouldBeLessThan(1000);
        sent.ShouldBeGreaterThanOrEqualTo(500); // agent 0 sent all of its half
        ((1000 - sent) / 1000.0).ShouldBe(missing, 0.05); // what is missing is what was not sent
        File.ReadAllText(Path.Combine(_dir, "killed", "summary.md")).ShouldContain("Degraded");
        log.ShouldContain("DEGRADED: agent 1");
    }

    [Fact]
    public async Task ABreakingPoint_IsFoundOnTheMergedView_AndStopsEveryAgent()
    {
        // The target fails once it has served 240 requests in all: 120 from each agent, so only the merged view
        // sees the error rate at once; both agents must stop.
        var plan = await PlanAsync("""
              - name: ramp
                target: web
                request: { path: "/fail-after?n=240" }
                load: { model: open, rate: 100, duration: 12s }
                stopWhen: ["error_rate > 5% over 1s"]
            """);

        var (code, record, log) = await RunAsync(plan, "broke", "--agents", "2");

        code.ShouldBe(ExitCodes.Ok, log);
        var s = record.Scenarios.Single();
        s.EndReason.ShouldBe(EndReason.Stopped);
        var bp = s.BreakingPoint.ShouldNotBeNull();
        bp.Condition.ShouldBe("error_rate > 5% over 1s");
        bp.ElapsedSeconds.ShouldBeLessThan(6);
        s.Seconds.Where(x => x.Second > (int)bp.ElapsedSeconds).ShouldAllBe(x => x.Offered == 0);
        s.Seconds.Sum(x => x.Started).ShouldBeLessThan(800); // nowhere near the 1200 planned: both stopped
        record.Distribution.ShouldNotBeNull().Agents.ShouldAllBe(a => a.State == AgentState.Completed && a.Requests > 100);
        log.ShouldContain("on the merged view of all agents; telling the agents to stop it");
        log.ShouldContain("ramp broke at");
    }

    [Fact]
    public async Task AnAbortOnFailThreshold_IsJudgedOnTheMergedView_AndStopsEveryAgent()
    {
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 40, duration: 30s }
                thresholds: [{ threshold: "p(95) < 1us", abortOnFail: true, delayAbortEval: 2s }]
            """);

        var (code, record, log) = await RunAsync(plan, "aborted", "--agents", "2");

        code.ShouldBe(ExitCodes.ThresholdsFailed, log);
        var s = record.Scenarios.Single();
        s.EndReason.ShouldBe(EndReason.Aborted);
        s.Seconds.Count.ShouldBeLessThan(12); // a 30 s plan stopped soon after its 2 s grace
        record.Gate.ShouldNotBeNull().AbortedBy.ShouldNotBeNull();
        var d = record.Distribution.ShouldNotBeNull();
        d.Degraded.ShouldBeFalse(); // the coordinator stopped them: nothing is missing
        d.Agents.ShouldAllBe(a => a.State == AgentState.Completed && a.Requests > 20);
        log.ShouldContain("threshold lost, run stopped early (abortOnFail)");
    }

    [Fact]
    public async Task BadAgentOptions_AreInvalidInput()
    {
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 1, duration: 1s }
            """);
        var e = new StringWriter();
        async Task<int> Run(params string[] args) => await ConstellationCli.RunAsync(["run", plan, "-o", _dir, .. args], new CliContext(new StringWriter(), e, false, TestContext.Current.CancellationToken, CancellationToken.None));

        (await Run("--agents", "2", "--agent-weights", "1,1,1")).ShouldBe(ExitCodes.InvalidInput);
        e.ToString().ShouldContain("--agents 2 but --agent-weights gives 3 weights");
        (await Run("--agent-weights", "2,x")).ShouldBe(ExitCodes.InvalidInput);
        (await Run("--agents", "2", "--agents-on", "kubernetes")).ShouldBe(ExitCodes.InvalidInput);
        e.ToString().ShouldContain("--agents-on kubernetes needs somewhere the agent pods and this coordinator both reach");
        (await Run("--agents", "2", "--agents-on", "kubernetes", "--exchange", _dir)).ShouldBe(ExitCodes.InvalidInput);
        e.ToString().ShouldContain("needs an S3 exchange");
        (await Run("--agents", "2", "--exchange", "s3://")).ShouldBe(ExitCodes.InvalidInput);
        (await Run("--agents", "2", "--exchange", "s3:///x")).ShouldBe(ExitCodes.InvalidInput);
        e.ToString().ShouldContain("--exchange: an S3 exchange is s3://BUCKET/PREFIX");
        (await Run("--agents", "2", "--agent-prefix", "/nonexistent/bin --flag")).ShouldBe(ExitCodes.InvalidInput);
        e.ToString().ShouldContain("--agent-prefix: '/nonexistent/bin' is not a program");
        (await Run("--agents", "-1")).ShouldBe(ExitCodes.InvalidInput);
        e.ToString().ShouldContain("--agents must be from 1 to 100, got -1");
        e.ToString().ShouldNotContain("Parameter");
        Directory.GetDirectories(_dir).ShouldBeEmpty(); // nothing ran, nothing was journaled
    }

    [Fact]
    public async Task SecondCtrlC_TheAgentsCutTheirRequestsOff_AndTheyAreCountedAsCancelled()
    {
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: "/slow?ms=8000", timeout: 2m }
                load: { model: open, rate: 10, duration: 30s }
            """);
        using var cancel = new CancellationTokenSource();
        using var abort = new CancellationTokenSource();
        var e = new StringWriter();
        var run = ConstellationCli.RunAsync(["run", plan, "-o", _dir, "--run-id", "aborted", "-q", "--agents", "1", "--agent-start-lead", "1s"], new CliContext(new StringWriter(), e, false, cancel.Token, abort.Token));
        await Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken);
        await cancel.CancelAsync(); // first Ctrl+C: stop sending, wait for the in-flight requests (which hang)
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        await abort.CancelAsync(); // second: cut them off

        var clock = Stopwatch.StartNew();
        var code = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        code.ShouldBe(ExitCodes.Interrupted, e.ToString());
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), e.ToString()); // the agents' grace is 3 s
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "aborted", "run.json"), TestContext.Current.CancellationToken);
        var s = record.Scenarios.ShouldHaveSingleItem();
        s.EndReason.ShouldBe(EndReason.Cancelled);
        s.Totals.Outcomes.Cancelled.ShouldBeGreaterThan(10); // every request sent was in flight
        record.Distribution.ShouldNotBeNull().Agents.ShouldHaveSingleItem().State.ShouldNotBe(AgentState.Failed);
    }

    [Fact]
    public async Task AnS3ExchangeThatNeverAnswers_TheRunFailsAndSaysWhy_NeverLooksKilled()
    {
        var ct = TestContext.Current.CancellationToken;
        using var silent = new Constellation.Tests.SilentServer();
        var plan = await PlanAsync("""
              - name: steady
                target: web
                request: { path: /ok }
                load: { model: open, rate: 5, duration: 2s }
            """);
        var saved = new[] { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED" }.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        var clock = Stopwatch.StartNew();
        try
        {
            var (code, record, log) = await RunAsync(plan, "silent-exchange", "--agents", "1", "--exchange", "s3://exchange/x", "--s3-endpoint", silent.Url.ToString(), "--s3-timeout", "300ms");

            code.ShouldBe(ExitCodes.RuntimeError, log);
            record.Status.ShouldBe(RunStatus.Failed);
            record.Error.ShouldNotBeNull().ShouldContain("S3 exchange");
            record.Error.ShouldNotContain("killed");
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var (k, v) in saved)
            {
                Environment.SetEnvironmentVariable(k, v);
            }
        }
    }
}
