using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Plans;

public sealed class PlanLoaderTests
{
    [Fact]
    public void Parse_FullPlan_BuildsTargetsScenariosAndCurves()
    {
        var result = PlanLoader.Parse("""
            name: demo
            targets:
              spin: { launch: { role: spin, env: { Spin__DefaultMs: "50" } } }
              web: { baseUrl: "http://127.0.0.1:8080/base" }
            scenarios:
              - name: ramp
                target: spin
                request: { method: post, path: /api/spin, body: "{}", headers: { X-Test: "1" }, timeout: 2s }
                load:
                  model: open
                  startRate: 5
                  stages: [{ duration: 10s, rate: 50, name: up }, { duration: 5s, rate: 50 }]
                  maxInFlight: 20
                stopWhen: ["p95 > 1s over 5s"]
              - name: steps
                target: web
                startAfter: 2s
                load: { model: open, steps: { from: 10, step: 10, every: 5s, to: 30 } }
              - name: users
                target: web
                load: { model: closed, users: 4, duration: 30s, thinkTime: 100ms }
            """);

        result.Errors.ShouldBeEmpty();
        var plan = result.Plan!;
        plan.Targets["spin"].Launch!.Env["Spin__DefaultMs"].ShouldBe("50");
        plan.Targets["web"].BaseUrl!.ToString().ShouldBe("http://127.0.0.1:8080/base");
        var ramp = plan.Scenarios[0];
        ramp.Request.Method.ShouldBe("POST");
        ramp.Request.Timeout.ShouldBe(TimeSpan.FromSeconds(2));
        ramp.Load.Segments.Select(s => (s.From, s.To)).ShouldBe([(5.0, 50.0), (50.0, 50.0)]);
        ramp.Load.MaxInFlight.ShouldBe(20);
        ramp.StopWhen.Single().Text.ShouldBe("p95 > 1s over 5s");
        var steps = plan.Scenarios[1];
        steps.Load.Segments.Select(s => s.From).ShouldBe([10.0, 20.0, 30.0]);
        steps.Load.Duration.ShouldBe(TimeSpan.FromSeconds(15));
        steps.StartAfter.ShouldBe(TimeSpan.FromSeconds(2));
        plan.Scenarios[2].Load.Model.ShouldBe(LoadModel.Closed);
        plan.Scenarios[2].Load.ThinkTime.ShouldBe(TimeSpan.FromMilliseconds(100));
        plan.MaxDuration.ShouldBe(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Parse_Cycles_StepUpAndDownCountTimes_WithNamedStages()
    {
        var result = PlanLoader.Parse("""
            name: cycles
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: jumps, target: web, load: { model: open, cycles: { base: 5, peak: 40, baseFor: 60s, peakFor: 30s, count: 2 } } }
              - { name: ramps, target: web, load: { model: closed, cycles: { base: 1, peak: 4, baseFor: 10s, peakFor: 5s, count: 1, ramp: 2s } } }
            """);

        result.Errors.ShouldBeEmpty();
        var jumps = result.Plan!.Scenarios[0].Load;
        jumps.Segments.Select(s => (s.Duration.TotalSeconds, s.From, s.To, s.Name)).ShouldBe([
            (60.0, 5.0, 5.0, "base"),
            (30.0, 40.0, 40.0, "cycle 1 up"),
            (60.0, 5.0, 5.0, "cycle 1 down"),
            (30.0, 40.0, 40.0, "cycle 2 up"),
            (60.0, 5.0, 5.0, "cycle 2 down")]);
        jumps.Duration.ShouldBe(TimeSpan.FromSeconds(240));
        jumps.Curve.ValueAt(TimeSpan.FromSeconds(59.9)).ShouldBe(5);
        jumps.Curve.ValueAt(TimeSpan.FromSeconds(60.1)).ShouldBe(40); // a jump: each step up is one reaction to measure
        var ramps = result.Plan.Scenarios[1].Load;
        ramps.Segments.Select(s => s.Name).ShouldBe(["base", "cycle 1 ramp up", "cycle 1 up", "cycle 1 ramp down", "cycle 1 down"]);
        ramps.Curve.ValueAt(TimeSpan.FromSeconds(11)).ShouldBe(2.5);
    }

    [Theory]
    [InlineData("cycles: { base: 5, peak: 5, baseFor: 10s, peakFor: 10s, count: 2 }", "scenarios[0].load.cycles.peak: must be above base (5), got 5")]
    [InlineData("cycles: { base: -1, peak: 5, baseFor: 10s, peakFor: 10s, count: 2 }", "scenarios[0].load.cycles.base: must be >= 0, got -1")]
    [InlineData("cycles: { base: 1, peak: 5, baseFor: 0s, peakFor: 10s, count: 2 }", "scenarios[0].load.cycles.baseFor: must be > 0, got 0s")]
    [InlineData("cycles: { base: 1, peak: 5, baseFor: 10s, peakFor: 10s, count: 2.5 }", "scenarios[0].load.cycles.count: must be a whole number from 1 to 1000, got 2.5")]
    [InlineData("cycles: { base: 1, peak: 5, baseFor: 10s, count: 2 }", "scenarios[0].load.cycles.peakFor: is required")]
    [InlineData("cycles: { base: 1, peak: 5, baseFor: 10s, peakFor: 10s, count: 2, every: 3s }", "scenarios[0].load.cycles.every: unknown key")]
    [InlineData("rate: 5, duration: 10s, cycles: { base: 1, peak: 5, baseFor: 10s, peakFor: 10s, count: 2 }", "takes one load shape, got rate and cycles")]
    public void Parse_Cycles_Mistakes_SayWhere(string shape, string expected)
    {
        var result = PlanLoader.Parse($$"""
            name: bad
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, load: { model: open, {{shape}} } }
            """);

        result.Errors.Select(e => e.ToString()).ShouldContain(e => e.Contains(expected, StringComparison.Ordinal), string.Join("\n", result.Errors));
    }

    [Fact]
    public void Parse_ManyMistakes_ReportsEveryOneWithItsPath()
    {
        var result = PlanLoader.Parse("""
            targets:
              a: { baseUrl: "ftp://x", launch: { role: spin } }
              b: { }
            scenarios:
              - name: one
                target: a
                request: { method: BREW, path: nope }
                load: { model: closed, rate: 5, users: 2, duration: -1s }
              - name: one
                target: a
                load: { model: sideways }
            extra: true
            """);

        result.IsValid.ShouldBeFalse();
        var messages = result.Errors.Select(e => e.ToString()).ToList();
        messages.ShouldContain(m => m.StartsWith("name: is required", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("targets.a.baseUrl: must be an absolute http", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("targets.a: takes baseUrl or launch, not both", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("targets.b: needs either baseUrl or launch", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].request.method: must be one of", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].request.path: must start with /", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].load.rate: does not apply to the closed model", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].load.duration: must be > 0", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[1].name: 'one' is used by another scenario", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[1].load.model: must be open (arrival rate) or closed", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("extra: unknown key", StringComparison.Ordinal));
        result.Errors.ShouldAllBe(e => e.Line > 0);
    }

    [Fact]
    public void Parse_BrokenYaml_ReportsTheLine()
    {
        var result = PlanLoader.Parse("name: x\nscenarios: [\n");

        result.IsValid.ShouldBeFalse();
        result.Errors.Single().Path.ShouldBe("(yaml)");
    }

    [Fact]
    public void Parse_TooLong_IsRejected()
    {
        var result = PlanLoader.Parse("""
            name: forever
            targets: { t: { baseUrl: "http://127.0.0.1:1" } }
            scenarios:
              - { name: s, target: t, load: { model: open, rate: 1, duration: 25h } }
            """);

        result.Errors.ShouldContain(e => e.Message.Contains("longer than the limit of 24h", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ExpectIterationsAndJumps_AreRead()
    {
        var result = PlanLoader.Parse("""
            name: jmx
            targets: { t: { baseUrl: "http://127.0.0.1:1" } }
            scenarios:
              - name: s
                target: t
                request: { path: /api/spin, expect: { status: 200, bodyContains: spun, bodyNotContains: [error, fail] } }
                load:
                  model: closed
                  stages: [{ duration: 0s, users: 5 }, { duration: 10s, users: 5 }, { duration: 0s, users: 10 }, { duration: 10s, users: 10 }]
                  iterations: 3
                  thinkTime: 100ms
                  thinkTimeMax: 300ms
            """);

        result.Errors.ShouldBeEmpty();
        var s = result.Plan!.Scenarios[0];
        s.Request.Expect!.Status.ShouldBe([200]);
        s.Request.Expect.BodyContains.ShouldBe(["spun"]);
        s.Request.Expect.BodyNotContains.ShouldBe(["error", "fail"]);
        s.Load.Iterations.ShouldBe(3);
        s.Load.ThinkTimeMax.ShouldBe(TimeSpan.FromMilliseconds(300));
        s.Load.Duration.ShouldBe(TimeSpan.FromSeconds(20));
        var curve = s.Load.Curve;
        curve.ValueAt(TimeSpan.Zero).ShouldBe(5);
        curve.ValueAt(TimeSpan.FromSeconds(9.9)).ShouldBe(5);
        curve.ValueAt(TimeSpan.FromSeconds(10)).ShouldBe(10);
    }

    [Fact]
    public void Parse_BadExpectAndIterations_AreReportedWithTheirPaths()
    {
        var result = PlanLoader.Parse("""
            name: bad
            targets: { t: { baseUrl: "http://127.0.0.1:1" } }
            scenarios:
              - name: a
                target: t
                request: { expect: { status: [200, 404], bodyContains: "" } }
                load: { model: closed, users: 2, duration: 5s, iterations: 0, thinkTime: 2s, thinkTimeMax: 1s }
              - name: b
                target: t
                request: { expect: {} }
                load: { model: open, stages: [{ duration: 0s, rate: 5 }], iterations: 2 }
            """);

        var messages = result.Errors.Select(e => e.ToString()).ToList();
        messages.ShouldContain(m => m.StartsWith("scenarios[0].request.expect.status[1]: must be a status from 100 to 399", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].request.expect.bodyContains: must not hold an empty text", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].load.iterations: must be a whole number >= 1", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[0].load.thinkTimeMax: must be >= thinkTime", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[1].request.expect: needs at least one of status", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[1].load.stages: must last longer than 0s", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[1].load.iterations: does not apply to the open model", StringComparison.Ordinal));
    }

    private const string Journey = """
        name: journey
        targets: { t: { baseUrl: "http://127.0.0.1:1" } }
        scenarios:
          - name: shop
            target: t
            requests:
              - { name: login, method: POST, path: /login, body: "{}", expect: { status: 200 } }
              - { name: catalog, path: /catalog }
            load: { model: closed, users: 2, duration: 5s, iterations: 3 }
        """;

    [Fact]
    public void Parse_ASequenceOfRequests_InOrder()
    {
        var result = PlanLoader.Parse(Journey);

        result.Errors.ShouldBeEmpty();
        var shop = result.Plan!.Scenarios[0];
        shop.Sequence.Select(r => (r.Name, r.Method, r.Path)).ShouldBe([("login", "POST", "/login"), ("catalog", "GET", "/catalog")]);
        shop.Sequence[0].Expect!.Status.ShouldBe([200]);
        shop.Request.ShouldBe(shop.Sequence[0]);
    }

    [Fact]
    public void Parse_ASequenceOfRequests_RunsInEitherModel_AndIsNotARequestToo()
    {
        var result = PlanLoader.Parse(Journey + "\n" + """
              - name: open
                target: t
                requests: [{ path: /a }, { path: /b }]
                load: { model: open, rate: 5, duration: 5s }
              - name: both
                target: t
                request: { path: /a }
                requests: [{ path: /b, nmae: x }]
                load: { model: closed, users: 1, duration: 1s }
            """);

        var messages = result.Errors.Select(e => e.ToString()).ToList();
        messages.ShouldNotContain(m => m.StartsWith("scenarios[1]", StringComparison.Ordinal)); // in the open model an arrival is a journey
        messages.ShouldContain(m => m.StartsWith("scenarios[2]: takes request or requests, not both", StringComparison.Ordinal));
        messages.ShouldContain(m => m.StartsWith("scenarios[2].requests[0].nmae: unknown key", StringComparison.Ordinal));
        messages.Count.ShouldBe(2);
    }
}
