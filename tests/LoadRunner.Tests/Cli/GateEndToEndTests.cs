using System.Xml.Linq;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// The CI gate's self-test: constellation runs a local plan (SpinService launched on loopback) whose thresholds
/// pass, one whose thresholds must fail (exit 99, JUnit failures with the observed values, the step summary), and
/// one that aborts early on a lost threshold.
/// </summary>
public sealed class GateEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-gate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Plan(string name, string webappThresholds, string runThresholds = "[]", string duration = "4s") => $$"""
        name: {{name}}
        targets:
          webapp: { launch: { role: webapp, readyTimeout: 120s } }
        scenarios:
          - name: webapp-steady
            target: webapp
            request: { path: / }
            load:
              model: open
              stages: [{ name: warm-up, duration: 1s, rate: 20 }, { name: steady, duration: {{duration}}, rate: 20 }]
            thresholds: {{webappThresholds}}
        thresholds: {{runThresholds}}
        """;

    private async Task<(int Code, string Out, string Err, RunRecord Record)> RunAsync(string planText, string runId, Dictionary<string, string>? env = null)
    {
        var plan = Path.Combine(_dir, runId + ".yaml");
        await File.WriteAllTextAsync(plan, planText, TestContext.Current.CancellationToken);
        var o = new StringWriter();
        var e = new StringWriter();
        var ctx = new CliContext(o, e, false, TestContext.Current.CancellationToken, CancellationToken.None) { Environment = name => env?.GetValueOrDefault(name) };
        var code = await ConstellationCli.RunAsync(["run", plan, "-o", _dir, "--run-id", runId, "-q"], ctx);
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, runId, "run.json"), TestContext.Current.CancellationToken);
        return (code, o.ToString(), e.ToString(), record);
    }

    [Fact]
    public async Task PassingThresholds_Exit0_WithATestCaseEach()
    {
        var (code, o, e, record) = await RunAsync(
            Plan("gate-pass", """["p(95) < 2s", "error_rate < 1%", "rate >= 10/s during stage \"steady\"", "dropped == 0"]""", """["p(99) < 5s over any 2s"]"""),
            "pass");

        code.ShouldBe(ExitCodes.Ok, o + e);
        record.Gate!.Verdict.ShouldBe(GateResult.Passed);
        record.Gate.Thresholds.Count.ShouldBe(5);
        var junit = XDocument.Load(Path.Combine(_dir, "pass", "junit.xml"));
        var cases = junit.Descendants("testcase").Where(c => ((string)c.Attribute("classname")!).Contains(".thresholds.")).ToList();
        cases.Count.ShouldBe(5);
        cases.ShouldAllBe(c => !c.Elements("failure").Any());
        junit.Root!.Attribute("failures")!.Value.ShouldBe("0");
        File.ReadAllText(Path.Combine(_dir, "pass", "summary.md")).ShouldContain("| ✓ passed | webapp-steady | `p(95) < 2s` |");
        e.ShouldContain("gate: passed");
    }

    [Fact]
    public async Task FailingThresholds_Exit99_JUnitCarriesTheObservedValues_AndTheStepSummaryIsAppended()
    {
        var stepSummary = Path.Combine(_dir, "step-summary.md");
        await File.WriteAllTextAsync(stepSummary, "earlier step\n", TestContext.Current.CancellationToken);
        var (code, o, e, record) = await RunAsync(
            Plan("gate-fail", """["p(95) < 1us", "rate >= 1000/s", "error_rate < 1%"]"""),
            "fail",
            new Dictionary<string, string> { ["GITHUB_STEP_SUMMARY"] = stepSummary });

        code.ShouldBe(ExitCodes.ThresholdsFailed, o + e);
        record.Gate!.Verdict.ShouldBe(GateResult.Failed);
        var junit = XDocument.Load(Path.Combine(_dir, "fail", "junit.xml"));
        junit.Root!.Attribute("failures")!.Value.ShouldBe("2");
        var failures = junit.Descendants("failure").Select(f => (string)f.Attribute("message")!).ToList();
        failures.ShouldContain(m => m.StartsWith("p(95) < 1us: observed ") && m.EndsWith("s"));
        failures.ShouldContain(m => m.StartsWith("rate >= 1000/s: observed ") && m.Contains("/s"));
        var summary = File.ReadAllText(Path.Combine(_dir, "fail", "summary.md"));
        summary.ShouldContain("- Gate: **failed** ✗");
        summary.ShouldContain("| ✗ failed | webapp-steady | `p(95) < 1us` |");
        summary.ShouldContain("| ✓ passed | webapp-steady | `error_rate < 1%` | 0% |");
        var appended = File.ReadAllText(stepSummary);
        appended.ShouldStartWith("earlier step\n");
        appended.ShouldContain("## Thresholds");
        File.ReadAllText(Path.Combine(_dir, "fail", "index.html")).ShouldContain("✗ failed");
        e.ShouldContain("threshold FAILED: [webapp-steady] p(95) < 1us");
    }

    [Fact]
    public async Task AbortOnFail_StopsTheRunEarly_AndKeepsWhatWasMeasured()
    {
        var (code, o, e, record) = await RunAsync(
            Plan("gate-abort", """[{ threshold: "p(95) < 1us", abortOnFail: true, delayAbortEval: 2s }]""", duration: "30s"),
            "abort");

        code.ShouldBe(ExitCodes.ThresholdsFailed, o + e);
        record.Gate!.AbortedBy.ShouldNotBeNull().ShouldStartWith("webapp-steady: p(95) < 1us (observed ");
        var s = record.Scenarios.Single();
        s.EndReason.ShouldBe(EndReason.Aborted);
        s.Seconds.Count.ShouldBeLessThan(10); // a 31 s plan stopped after its 2 s grace
        s.Totals.Outcomes.Status2xx.ShouldBeGreaterThan(20);
        e.ShouldContain("threshold lost, run stopped early (abortOnFail)");
        var junit = XDocument.Load(Path.Combine(_dir, "abort", "junit.xml"));
        junit.Descendants("testcase").ShouldContain(c => (string)c.Attribute("name")! == "abortOnFail");
    }

    [Fact]
    public async Task RegressionThresholds_UseTheLatestPassedRunOfThePlan()
    {
        var plan = Plan("gate-regress", """["p(95) regression < 1000%", "p(95) < 2s"]""", duration: "2s") + "\nbaseline: latest-passed\n";
        var (code1, _, e1, first) = await RunAsync(plan, "first");
        code1.ShouldBe(ExitCodes.Ok, e1);
        first.Gate!.Thresholds[0].Skipped.ShouldBeTrue();
        e1.ShouldContain("baseline: no run in");

        var (code2, _, e2, second) = await RunAsync(plan, "second");
        code2.ShouldBe(ExitCodes.Ok, e2);
        second.Gate!.BaselineRunId.ShouldBe("first");
        var regression = second.Gate.Thresholds[0];
        regression.Skipped.ShouldBeFalse();
        regression.Passed.ShouldBeTrue();
        regression.Detail.ShouldNotBeNull().ShouldContain("in baseline first");
    }

    [Fact]
    public async Task InvalidThresholds_AreAllReportedWithPositions_Exit2()
    {
        var plan = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(plan, Plan("bad", """["p(95) < 500", "rate > 5 per second", "p(95) < 1s during stage \"cruise\""]"""), TestContext.Current.CancellationToken);
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await ConstellationCli.RunAsync(["validate", plan], new CliContext(o, e, false, TestContext.Current.CancellationToken, CancellationToken.None));

        code.ShouldBe(ExitCodes.InvalidInput);
        var err = e.ToString();
        err.ShouldContain("scenarios[0].thresholds[0]: column 9: a duration needs a unit");
        err.ShouldContain("scenarios[0].thresholds[1]: column 8: expected a rate such as 5/s");
        err.ShouldContain("no stage named \"cruise\" in scenario webapp-steady (stages: warm-up, steady)");
    }
}
