using Constellation.Core.Plans;
using Constellation.Observer.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;

namespace Constellation.Observer.Tests;

/// <summary>The cluster timeline alone: fed objects as the watches would, on a fake clock, with no API server.</summary>
public sealed class ClusterTimelineTests
{
    private static readonly WorkloadSpec Spin = new() { Namespace = "demo", Deployment = "spin", Hpa = "spin" };
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly ObservationRecorder _recorder;
    private readonly ClusterTimeline _timeline;

    public ClusterTimelineTests()
    {
        _recorder = new ObservationRecorder(_time);
        _timeline = new ClusterTimeline([Spin], _recorder);
    }

    [Fact]
    public void ScaleOut_PodLivesAndReplicaPoints_AreTimedAsSeen()
    {
        _timeline.Deployment(WatchEventType.Modified, Deployment(replicas: 1, ready: 1));
        At(10);
        _timeline.Hpa(Hpa(desired: 3, utilization: 180));
        At(11);
        var pod = Pod("spin-a", "uid-a");
        _timeline.Pod(WatchEventType.Added, pod, Spin);
        At(12);
        pod.Status = new V1PodStatus { Conditions = [Condition("PodScheduled", "False", "Unschedulable", "0/2 nodes are available")] };
        _timeline.Pod(WatchEventType.Modified, pod, Spin);
        At(40);
        pod.Spec = new V1PodSpec { NodeName = "node-b" };
        pod.Status = new V1PodStatus { Conditions = [Condition("PodScheduled", "True")] };
        _timeline.Pod(WatchEventType.Modified, pod, Spin);
        At(45);
        pod.Status.Conditions.Add(Condition("Ready", "True"));
        _timeline.Pod(WatchEventType.Modified, pod, Spin);
        _timeline.Deployment(WatchEventType.Modified, Deployment(replicas: 3, ready: 2));
        At(45.5);
        _timeline.Deployment(WatchEventType.Modified, Deployment(replicas: 3, ready: 2)); // nothing new: no point

        var snapshot = _timeline.Snapshot();
        var p = snapshot.Pods.ShouldHaveSingleItem();
        (p.CreatedSeconds, p.ScheduledSeconds, p.ReadySeconds, p.DeletedSeconds, p.Node).ShouldBe((11.0, (double?)40, (double?)45, (double?)null, "node-b"));
        p.PendingReason.ShouldBe("Unschedulable: 0/2 nodes are available");
        snapshot.Workloads.ShouldHaveSingleItem().Replicas.ShouldBe([new(0, 1, 1), new(10, 3, 1, 180), new(45, 3, 2, 180)]);
        _recorder.Build(_time.GetUtcNow().AddSeconds(-45.5)).Series.ShouldContain(s => s.Group == "HPA metric" && s.Points.Single().Value == 180);
    }

    [Fact]
    public void PodsRelisted_OneMissing_WasDeletedInTheGap()
    {
        _timeline.PodsListed(Spin, [Pod("spin-a", "uid-a"), Pod("spin-b", "uid-b")]);
        At(30);
        _timeline.PodsListed(Spin, [Pod("spin-a", "uid-a")]);

        var pods = _timeline.Snapshot().Pods;
        pods.Single(p => p.Name == "spin-a").DeletedSeconds.ShouldBeNull();
        pods.Single(p => p.Name == "spin-b").DeletedSeconds.ShouldBe(30);
    }

    [Fact]
    public void Nodes_ReadyIsNewsOnlyForANodeThatJoinedWhileWatched()
    {
        _timeline.NodesListed([Node("old", ready: true)]);
        At(20);
        var joining = Node("new", ready: false);
        _timeline.Node(WatchEventType.Added, joining);
        At(55);
        _timeline.Node(WatchEventType.Modified, Node("new", ready: true));
        At(90);
        _timeline.NodesListed([Node("new", ready: true)]); // "old" went while nobody watched

        var nodes = _timeline.Snapshot().Nodes;
        nodes.Single(n => n.Name == "new").ShouldSatisfyAllConditions(n => n.CreatedSeconds.ShouldBe(20), n => n.ReadySeconds.ShouldBe(55), n => n.NodeGroup.ShouldBe("spot"), n => n.Zone.ShouldBe("eu-west-1a"));
        nodes.Single(n => n.Name == "old").GoneSeconds.ShouldBe(90);
        var events = _recorder.Build(_time.GetUtcNow().AddSeconds(-90)).Events;
        events.Select(e => (e.Seconds, e.Kind)).ShouldBe([(55.0, "NodeReady"), (90.0, "NodeRemoved")]);
    }

    [Fact]
    public void Events_OnlyInterestingOnes_AndFailedSchedulingExplainsAPendingPod()
    {
        _timeline.Pod(WatchEventType.Added, Pod("spin-a", "uid-a"), Spin);
        At(5);
        _timeline.Event(WatchEventType.Added, Event("Pulled", "uid-a"));
        _timeline.Event(WatchEventType.Added, Event("FailedScheduling", "uid-a", "0/3 nodes: Insufficient cpu"));
        _timeline.Event(WatchEventType.Deleted, Event("TriggeredScaleUp", "uid-a"));

        _timeline.Snapshot().Pods.Single().PendingReason.ShouldBe("FailedScheduling: 0/3 nodes: Insufficient cpu");
        _recorder.Build(_time.GetUtcNow().AddSeconds(-5)).Events.ShouldHaveSingleItem().Kind.ShouldBe("FailedScheduling");
    }

    [Fact]
    public void ObjectsOfOtherWorkloads_AreIgnored()
    {
        _timeline.Deployment(WatchEventType.Modified, new V1Deployment { Metadata = new V1ObjectMeta { Name = "webapp", NamespaceProperty = "demo" }, Spec = new V1DeploymentSpec { Replicas = 9 } });
        _timeline.Hpa(new V2HorizontalPodAutoscaler { Metadata = new V1ObjectMeta { Name = "spin", NamespaceProperty = "other" }, Status = new V2HorizontalPodAutoscalerStatus { DesiredReplicas = 9 } });

        _timeline.Snapshot().Workloads.Single().Replicas.ShouldBeEmpty();
    }

    private void At(double seconds) => _time.SetUtcNow(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero).AddSeconds(seconds));

    private DateTime UtcNow => _time.GetUtcNow().UtcDateTime;

    private static V1Deployment Deployment(int replicas, int ready) => new()
    {
        Metadata = new V1ObjectMeta { Name = "spin", NamespaceProperty = "demo" },
        Spec = new V1DeploymentSpec { Replicas = replicas, Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "spin" } } },
        Status = new V1DeploymentStatus { ReadyReplicas = ready },
    };

    private static V2HorizontalPodAutoscaler Hpa(int desired, int utilization) => new()
    {
        Metadata = new V1ObjectMeta { Name = "spin", NamespaceProperty = "demo" },
        Status = new V2HorizontalPodAutoscalerStatus
        {
            DesiredReplicas = desired,
            CurrentMetrics = [new V2MetricStatus { Type = "Resource", Resource = new V2ResourceMetricStatus { Name = "cpu", Current = new V2MetricValueStatus { AverageUtilization = utilization } } }],
        },
    };

    private V1Pod Pod(string name, string uid) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "demo", Uid = uid, CreationTimestamp = UtcNow },
        Status = new V1PodStatus { Conditions = [] },
    };

    private V1Node Node(string name, bool ready) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            CreationTimestamp = UtcNow,
            Labels = new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = "eu-west-1a", ["eks.amazonaws.com/nodegroup"] = "spot" },
        },
        Status = new V1NodeStatus { Conditions = [new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = UtcNow }] },
    };

    private V1PodCondition Condition(string type, string status, string? reason = null, string? message = null) =>
        new() { Type = type, Status = status, Reason = reason, Message = message, LastTransitionTime = UtcNow };

    private Corev1Event Event(string reason, string podUid, string? message = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"{reason}.1", NamespaceProperty = "demo" },
        Reason = reason,
        Message = message,
        LastTimestamp = UtcNow,
        InvolvedObject = new V1ObjectReference { Kind = "Pod", NamespaceProperty = "demo", Name = "spin-a", Uid = podUid },
    };
}
