using Constellation.Core.Gate;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Tests;

namespace Constellation.Core.Tests.Results;

public sealed class ScaleReactionTests
{
    [Fact]
    public void Derive_ScriptedReaction_GivesEveryPhaseOfTheStep()
    {
        var r = TestRuns.Reacting().Scaling!.Reactions.ShouldHaveSingleItem();

        r.Scenario.ShouldBe("spin-ramp");
        r.Deployment.ShouldBe("spin");
        r.HpaTarget.ShouldBe(50);
        r.ControlBaselineP95Ms.ShouldBe(10);
        var first = r.Steps[0];
        (first.MetricAbove, first.DesiredRaised, first.PodCreated, first.Pending, first.NodeReady, first.Reaction, first.Recovered, first.ControlRecovered)
            .ShouldBe((10.0, 25.0, 26.0, 39.0, 65.0, 72.0, 50.0, 39.0));
        (first.DesiredBefore, first.DesiredPeak, first.NewPods).ShouldBe((1, 3, 2));
        first.PendingReason.ShouldNotBeNull().ShouldContain("Insufficient cpu");
        first.Unreached.ShouldBeEmpty();
    }

    [Fact]
    public void Derive_AStepWithNothingToReactTo_HasNoScaleOutPhases_AndRecoveredAtOnce()
    {
        var second = TestRuns.Reacting().Scaling!.Reactions.Single().Steps[1];

        (second.StartSeconds, second.EndSeconds, second.DesiredBefore).ShouldBe((100.0, 200.0, 3));
        new[] { second.MetricAbove, second.DesiredRaised, second.PodCreated, second.Pending, second.NodeReady, second.Reaction }.ShouldAllBe(v => v == null);
        (second.Recovered, second.ControlRecovered).ShouldBe((0.0, 0.0));
        second.Unreached.ShouldBeEmpty();
    }

    [Fact]
    public void Stats_OverTheStepsEachPhaseAppliesTo()
    {
        var phases = TestRuns.Reacting().Scaling!.Reactions.Single().Phases.ToDictionary(p => p.Phase);

        phases["reaction"].ShouldBe(new PhaseStats("reaction", 1, 1, 72, 72, 72));
        phases["recovered"].ShouldBe(new PhaseStats("recovered", 2, 2, 0, 50, 50)); // nearest rank: p50 of [0, 50] is 0
        phases.Keys.ShouldBe(ScaleReactionAnalyzer.PhaseNames.Select(p => p.Name));
    }

    [Fact]
    public void APodThatNeverGetsReady_LeavesTheReactionUnreached_AndItsGateFails()
    {
        var run = TestRuns.Reacting(secondPodNeverReady: true);
        var r = run.Scaling!.Reactions.Single();

        r.Steps[0].Reaction.ShouldBeNull();
        r.Steps[0].Unreached.ShouldBe(["reaction"]);
        r.Phases.Single(p => p.Phase == "reaction").ShouldBe(new PhaseStats("reaction", 1, 0, null, null, null));
        GateEvaluator.ScalingValue(run.Scaling, "scale.spin.reaction.p95").ShouldBeNull();
        GateEvaluator.ScalingValue(TestRuns.Reacting().Scaling, "scale.spin.reaction.p95").ShouldBe(72);
        GateEvaluator.ScalingValue(TestRuns.Reacting().Scaling, "scale.spin.node_ready.max").ShouldBe(65);
        GateEvaluator.ScalingValue(TestRuns.Reacting().Scaling, "scale.spin.recovered.p50").ShouldBe(0);
    }

    [Fact]
    public void Derive_WithoutKubernetes_OrAnUnwatchedDeployment_GivesNoReaction()
    {
        var run = TestRuns.Reacting();
        ScaleReactionAnalyzer.Derive(run with { Observation = run.Observation! with { Kubernetes = null } }, []).ShouldBeEmpty();
        ScaleReactionAnalyzer.Derive(run with { Scenarios = [run.Scenarios[0] with { Reaction = run.Scenarios[0].Reaction! with { Deployment = "other" } }] }, []).ShouldBeEmpty();
    }

    [Fact]
    public void Steps_OfEveryShape_AreWhereTheLoadRises()
    {
        LoadStep.Of(new StepsShape(1, 1, TimeSpan.FromSeconds(60), 3, "req/s").Segments()!)
            .ShouldBe([new LoadStep("step 1 (1req/s)", 0, 0, 1), new LoadStep("step 2 (2req/s)", 60, 1, 2), new LoadStep("step 3 (3req/s)", 120, 2, 3)]);

        // Cycles with ramps: the base from nothing, then each ramp up; the ramps down are not steps.
        LoadStep.Of(new CyclesShape(2, 10, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), 2, TimeSpan.FromSeconds(5), "req/s").Segments()!)
            .ShouldBe([new LoadStep("base", 0, 0, 2), new LoadStep("cycle 1 ramp up", 30, 2, 10), new LoadStep("cycle 2 ramp up", 130, 2, 10)]);

        // Stages: a jump (0s stage) and two rising stages in a row are one step each time the load starts to rise.
        LoadStep.Of(new StagesShape(0, [new Stage(TimeSpan.FromSeconds(10), 5, "warm"), new Stage(TimeSpan.FromSeconds(10), 8), new Stage(TimeSpan.FromSeconds(20), 8), new Stage(TimeSpan.Zero, 20, "spike"), new Stage(TimeSpan.FromSeconds(30), 20), new Stage(TimeSpan.FromSeconds(10), 0)]).Segments())
            .ShouldBe([new LoadStep("warm", 0, 0, 8), new LoadStep("spike", 40, 8, 20)]);
    }

    [Theory]
    [InlineData("scale.spin.reaction.p95 < 90s", null)]
    [InlineData("scale.spin.node_ready.p95 < 120s", null)]
    [InlineData("scale.spin.recovered.max < 3m", null)]
    [InlineData("scale.spin.control_recovered.p50 <= 30s", null)]
    [InlineData("scale.spin.reaction.p99 < 90s", "STAT one of p50, p95, max")]
    [InlineData("scale.spin.warmup.p95 < 90s", "PHASE one of metric_above")]
    public void Thresholds_NameAPhaseAndAStatistic(string text, string? error)
    {
        var ok = ThresholdParser.TryParse(text, out var t, out var message);
        if (error is null)
        {
            ok.ShouldBeTrue(message?.Message);
            t!.Unit.ShouldBe(ThresholdUnit.Seconds);
        }
        else
        {
            ok.ShouldBeFalse();
            message!.Message.ShouldContain(error);
        }
    }
}
