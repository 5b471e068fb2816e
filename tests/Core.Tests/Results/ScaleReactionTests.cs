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
            .ShouldBe((10.0, 25.0, 26.0, 39.0, 65.0, 72.0, 50.0, 40.0)); // the control app: the first probe after its last slow window
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
    public void AReactionSlowerThanTheSteps_IsFollowedPastTheNextStep_AndTheNextStepOwesNothingWhileItsCapacityComes()
    {
        var run = WithSteps(TestRuns.Reacting(), new LoadStep("step 1", 0, 0, 5), new LoadStep("step 2", 30, 5, 10));
        var steps = ScaleReactionAnalyzer.Derive(run, run.Scaling!.Control).Single().Steps;

        // Step 1's pods are Ready at 72 s and their node at 65 s, well after step 2 began at 30 s: still step 1's.
        (steps[0].EndSeconds, steps[0].NodeReady, steps[0].Reaction, steps[0].Pending).ShouldBe((30.0, 65.0, 72.0, 39.0));

        // Recovery is judged within the step: p95 over its limit until 50 s, the control app slow until 40 s — the
        // next step's load began before either was back, so neither was reached.
        steps[0].Unreached.ShouldBe(["recovered", "control_recovered"]);

        // Step 2: the metric is over target (90%, then 70%) but a desired pod is not Ready yet: the HPA owes no rise.
        (steps[1].DesiredBefore, steps[1].DesiredRaised, steps[1].Reaction).ShouldBe((3, null, null));
        steps[1].Unreached.ShouldBeEmpty();
    }

    [Fact]
    public void AnHpaOverTargetWithAllItsPodsReady_OwesARise_UnlessItIsAtItsMaximum()
    {
        var run = TestRuns.Reacting();
        var w = run.Observation!.Kubernetes!.Workloads[0];
        var hot = w with { Replicas = [.. w.Replicas, new ReplicaPoint(140, 3, 3, 80)] }; // step 2: 80% with 3 of 3 Ready, no rise
        var owed = Reanalyse(run, hot).Steps[1];
        owed.Unreached.ShouldBe(["desired_raised"]);

        var atMax = Reanalyse(run, hot with { HpaMax = 3 }).Steps[1];
        (atMax.DesiredRaised, atMax.Unreached.Count).ShouldBe((null, 0));

        var withinTolerance = Reanalyse(run, w with { Replicas = [.. w.Replicas, new ReplicaPoint(140, 3, 3, 54)] }).Steps[1];
        withinTolerance.Unreached.ShouldBeEmpty(); // 54% of a 50% target is within the HPA's 10%
    }

    [Fact]
    public void ALoadThatEndsOverItsLimit_HasNothingToRecoverFrom()
    {
        var run = TestRuns.Reacting();
        var scenario = run.Scenarios[0];
        var slowEnd = scenario with
        {
            Seconds = [.. scenario.Seconds.Take(150), .. scenario.Seconds.Skip(150).Select(s => s with { Latency = s.Latency with { P95Ms = 900 } })],
            DurationSeconds = 200,
        };
        run = run with { Scenarios = [slowEnd], Observation = run.Observation! with { ToSeconds = 260 } };

        var r = ScaleReactionAnalyzer.Derive(run, run.Scaling!.Control).Single();

        (r.Steps[1].Recovered, r.Steps[1].LoadEndedOver, r.Steps[1].Unreached.Count).ShouldBe((null, true, 0));
        r.Notes.ShouldContain(n => n.Contains("step 2 (step 2): the load ended while the p95 was over its limit"));
    }

    [Fact]
    public void APodHeldBackForAnotherReason_NeedsNoNode_AndANodeOfAnotherWorkloadIsNotOurs()
    {
        var run = TestRuns.Reacting();
        var k8s = run.Observation!.Kubernetes!;
        var pods = k8s.Pods.Select(p => p.Name == "spin-b" ? p with { PendingReason = "Unschedulable: 0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.", Node = "n1" } : p).ToList();
        run = run with { Observation = run.Observation with { Kubernetes = k8s with { Pods = pods } } };

        var first = ScaleReactionAnalyzer.Derive(run, run.Scaling!.Control).Single().Steps[0];

        first.NodeReady.ShouldBeNull(); // n2 was created in the window, but no new spin pod landed on it
        first.Unreached.ShouldBeEmpty();
    }

    [Fact]
    public void TwoScenariosOnOneDeployment_EachStepEndsAtTheNextStepOfEither()
    {
        var run = TestRuns.Reacting();
        var later = run.Scenarios[0] with { Name = "later", StartOffsetSeconds = 150, DurationSeconds = 40, Reaction = run.Scenarios[0].Reaction! with { Steps = [new LoadStep("spike", 0, 0, 20)] } };
        run = run with { Scenarios = [run.Scenarios[0], later] };

        var reactions = ScaleReactionAnalyzer.Derive(run, run.Scaling!.Control);

        reactions.Select(r => r.Scenario).ShouldBe(["spin-ramp", "later"]);
        reactions[0].Steps[1].EndSeconds.ShouldBe(150); // not the end of observing: "later" steps up at 150 s
        reactions[0].Notes.ShouldContain(n => n.Contains("other scenarios load this deployment too"));
    }

    [Theory]
    [InlineData("scale.spin.reaction.p95 change < 20%")]
    [InlineData("scale.spin.reaction.max regression < 20%")]
    public void AChangeOrRegressionThreshold_FailsARunWithAStepThatDidNotReachThePhase(string threshold)
    {
        var plan = PlanLoader.Parse($$"""
            name: nightly
            targets: { spin: { baseUrl: "http://127.0.0.1:5000" } }
            scenarios:
              - { name: spin-ramp, target: spin, load: { model: open, rate: 5, duration: 200s } }
            thresholds: ["{{threshold}}"]
            baseline: latest-passed
            observe: { kubernetes: { workloads: [{ namespace: demo, deployment: spin, hpa: spin }] } }
            """).Plan.ShouldNotBeNull();
        var run = TestRuns.Reacting(secondPodNeverReady: true);

        var gate = GateEvaluator.Evaluate(run, plan, baseline: TestRuns.Reacting(), history: (_, _) => null)!;

        gate.Verdict.ShouldBe(GateResult.Failed);
        var result = gate.Thresholds.Single();
        (result.Passed, result.Skipped, result.Observed).ShouldBe((false, false, "not reached"));
        result.Detail.ShouldNotBeNull().ShouldContain("spin-ramp step 1 did not reach reaction");
    }

    private static RunRecord WithSteps(RunRecord run, params LoadStep[] steps) =>
        run with { Scenarios = [run.Scenarios[0] with { Reaction = run.Scenarios[0].Reaction! with { Steps = steps } }] };

    private static ScaleReaction Reanalyse(RunRecord run, WorkloadTimeline w)
    {
        run = run with { Observation = run.Observation! with { Kubernetes = run.Observation.Kubernetes! with { Workloads = [w] } } };
        return ScaleReactionAnalyzer.Derive(run, run.Scaling!.Control).Single();
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
