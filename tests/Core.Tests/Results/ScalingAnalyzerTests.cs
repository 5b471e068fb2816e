using Constellation.Core.Results;
using Constellation.Tests;

namespace Constellation.Core.Tests.Results;

public sealed class ScalingAnalyzerTests
{
    [Fact]
    public void Derive_ScriptedScaleOut_GivesTheScriptsTimes()
    {
        var m = ScalingAnalyzer.Derive(TestRuns.Observed())!;

        m.LoadStartSeconds.ShouldBe(0);
        m.LoadEndSeconds.ShouldBe(20);
        var spin = m.Workloads.Single();
        spin.InitialDesired.ShouldBe(2);
        spin.InitialReady.ShouldBe(2);
        spin.FirstDesiredIncreaseSeconds.ShouldBe(3);
        spin.FirstNewPodReadySeconds.ShouldBe(6);
        spin.PeakReplicas.ShouldBe(6);
        spin.PeakDesired.ShouldBe(6);
        spin.PeakSeconds.ShouldBe(9);
        spin.LongestPendingSeconds!.Value.ShouldBe(4.0, 1e-9);
        spin.LongestPendingPod.ShouldBe("spin-6");
        spin.LongestPendingReason.ShouldBe("Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.");
        spin.LongestPendingUnfinished.ShouldBeFalse();
        spin.ScaleInStartSeconds.ShouldBe(2);
        spin.ScaleInSeconds.ShouldBe(4);

        var nodes = m.Nodes!;
        nodes.InitialReady.ShouldBe(2);
        nodes.PeakReady.ShouldBe(3);
        nodes.FirstNewNodeReadySeconds.ShouldBe(8);
        nodes.PeakPerZone.ShouldBe(new Dictionary<string, int> { ["eu-west-1a"] = 2, ["eu-west-1b"] = 1 });
        nodes.NodeMinutes.ShouldBe(Math.Round(((2 * 35) + 20) / 60.0, 2));
        nodes.ScaleInSeconds.ShouldBe(8);

        var control = m.Control.Single();
        control.Window.ShouldBe("scale-out");
        control.WindowFromSeconds.ShouldBe(3);
        control.WindowToSeconds.ShouldBe(9);
        control.BaselineSamples.ShouldBe(5);
        control.BaselineP95Ms.ShouldBe(2);
        control.WindowSamples.ShouldBe(7);
        control.WindowErrors.ShouldBe(1);
        control.WindowP95Ms.ShouldBe(5);
        control.P95DeltaPercent.ShouldBe(150);

        m.GapSeconds.ShouldBe(2);
        m.Notes.ShouldContain(n => n.Contains("missed 2 s") && n.Contains("503"));
        m.GeneratorSaturated.ShouldBeFalse();
    }

    [Fact]
    public void Derive_NoObservation_IsNull() => ScalingAnalyzer.Derive(TestRuns.Sample()).ShouldBeNull();

    [Fact]
    public void Derive_NothingScaled_UsesTheLoadWindow_AndSaysWhatIsMissing()
    {
        var run = TestRuns.Observed();
        var obs = run.Observation! with
        {
            FromSeconds = 0,
            ToSeconds = 20,
            Gaps = [],
            Kubernetes = run.Observation!.Kubernetes! with
            {
                Workloads = [new WorkloadTimeline("demo", "spin", "spin", [new ReplicaPoint(0, 2, 2)])],
                Pods = [],
                Nodes = [],
            },
        };
        run = run with { Observation = obs, Generator = run.Generator with { Bottleneck = true } };

        var m = ScalingAnalyzer.Derive(run)!;
        var spin = m.Workloads.Single();
        spin.FirstDesiredIncreaseSeconds.ShouldBeNull();
        spin.PeakSeconds.ShouldBeNull();
        spin.ScaleInSeconds.ShouldBeNull();
        spin.LongestPendingSeconds.ShouldBeNull();
        m.Nodes.ShouldBeNull();
        var control = m.Control.Single();
        control.Window.ShouldBe("load");
        control.BaselineP95Ms.ShouldBeNull();
        control.P95DeltaPercent.ShouldBeNull();
        m.GeneratorSaturated.ShouldBeTrue();
        m.Notes.ShouldContain(n => n.Contains("no calm baseline"));
        m.Notes.ShouldContain(n => n.Contains("generator was saturated"));
    }

    [Fact]
    public void Derive_StillPendingAtTheEnd_IsALowerBound()
    {
        var run = TestRuns.Observed();
        var k8s = run.Observation!.Kubernetes!;
        var pods = k8s.Pods.Select(p => p.Name == "spin-6" ? p with { ScheduledSeconds = null, ReadySeconds = null, DeletedSeconds = null } : p).ToList();
        run = run with { Observation = run.Observation with { Kubernetes = k8s with { Pods = pods } } };

        var spin = ScalingAnalyzer.Derive(run)!.Workloads.Single();
        spin.LongestPendingSeconds!.Value.ShouldBe(30 - 3.2, 1e-9);
        spin.LongestPendingUnfinished.ShouldBeTrue();
    }

    [Fact]
    public void Derive_ObserverStoppedWithTheLoad_NotesThatScaleInWasNotSeen()
    {
        var run = TestRuns.Observed();
        run = run with { Observation = run.Observation! with { ToSeconds = 20 } };
        ScalingAnalyzer.Derive(run)!.Notes.ShouldContain(n => n.Contains("scale-in not observed"));
    }

    [Fact]
    public void Percentile_IsNearestRank()
    {
        ScalingAnalyzer.Percentile([], 95).ShouldBeNull();
        ScalingAnalyzer.Percentile([5], 95).ShouldBe(5);
        ScalingAnalyzer.Percentile([.. Enumerable.Range(1, 100).Select(i => (double)i)], 95).ShouldBe(95);
        ScalingAnalyzer.Percentile([.. Enumerable.Range(1, 100).Select(i => (double)i)], 100).ShouldBe(100);
    }

    [Fact]
    public void RunJson_RoundTrips_TheObservation()
    {
        var run = TestRuns.Observed();
        var back = RunRecordJson.Deserialize(RunRecordJson.Serialize(run));
        back.Observation!.Kubernetes!.Pods.Count.ShouldBe(6);
        back.Observation.Probes.Single().Samples.Count.ShouldBe(35);
        back.Scaling!.Workloads.Single().PeakSeconds.ShouldBe(9);
        back.Events[0].Object.ShouldBe("horizontalpodautoscaler/demo/spin");
        RunRecordJson.Serialize(back).ShouldBe(RunRecordJson.Serialize(run));
    }
}
