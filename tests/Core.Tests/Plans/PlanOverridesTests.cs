using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Plans;

/// <summary>A plan with a run's overrides is a plan like any other: judged again, and written as it runs.</summary>
public sealed class PlanOverridesTests
{
    private static Plan Steps() => PlanLoader.Parse("""
        name: steps
        targets: { web: { baseUrl: "http://127.0.0.1:9/" } }
        scenarios:
          - { name: closed, target: web, load: { model: closed, steps: { from: 2, step: 2, every: 10s, to: 10 } } }
          - { name: open, target: web, startAfter: 5s, load: { model: open, rate: 100, duration: 60s } }
        """).Plan!;

    [Fact]
    public void Cap_AndMultiply_TheTextReadsBackToTheSameCurves()
    {
        var applied = PlanOverrides.Apply(Steps(), TimeSpan.FromSeconds(25), 1.5);

        var closed = applied.Scenarios[0].Load;
        closed.Duration.ShouldBe(TimeSpan.FromSeconds(25));
        closed.Segments.Select(s => s.To).ShouldBe([3.0, 6.0, 9.0]); // 2, 4, 6 users × 1.5
        applied.Scenarios[1].Load.Duration.ShouldBe(TimeSpan.FromSeconds(20)); // 25 s minus its 5 s start
        applied.Scenarios[1].Load.Segments[0].To.ShouldBe(150);
        applied.SourceText.ShouldNotBeNull().ShouldStartWith("# plan 'steps' with overrides for this run: every scenario capped at 25s, rates and users × 1.5");
        var again = PlanLoader.Parse(applied.SourceText);
        again.Errors.ShouldBeEmpty(applied.SourceText);
        again.Plan!.Scenarios.Select(s => s.Load.Segments.Where(x => x.Duration > TimeSpan.Zero).Select(x => (x.Duration, x.From, x.To)))
            .ShouldBe(applied.Scenarios.Select(s => s.Load.Segments.Where(x => x.Duration > TimeSpan.Zero).Select(x => (x.Duration, x.From, x.To))));
    }

    [Fact]
    public void AMultiplierBeyondTheLimits_IsAValidationError_NotASilentCap()
    {
        var plan = PlanLoader.Parse("""
            name: big
            targets: { web: { baseUrl: "http://127.0.0.1:9/" } }
            scenarios: [{ name: s, target: web, load: { model: open, rate: 200000, duration: 10s } }]
            """).Plan!;

        var checkedPlan = PlanLoader.Check(PlanOverrides.Apply(plan, null, 10));

        checkedPlan.IsValid.ShouldBeFalse();
        checkedPlan.Errors.ShouldContain(e => e.Path.StartsWith("scenarios[0].load", StringComparison.Ordinal));
    }
}
