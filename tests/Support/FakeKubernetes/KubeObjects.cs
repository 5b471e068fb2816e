using k8s.Models;

namespace Constellation.Testing.FakeKubernetes;

/// <summary>Builders for the objects tests and benchmarks put on the fake API server (namespace "demo" unless told).</summary>
public static class KubeObjects
{
    public const string Ns = "demo";

    public static V1Node Node(string name, string zone, bool ready, string group = "workers", string instanceType = "m5.large") => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = new Dictionary<string, string>
            {
                ["topology.kubernetes.io/zone"] = zone,
                ["node.kubernetes.io/instance-type"] = instanceType,
                ["eks.amazonaws.com/capacityType"] = "ON_DEMAND",
                ["eks.amazonaws.com/nodegroup"] = group,
            },
        },
        Status = new V1NodeStatus { Conditions = [new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = FakeKubernetesServer.Now() }] },
    };

    public static V1Pod Pod(string name, string app, string? node = null, bool scheduled = false, bool ready = false, string? pendingMessage = null, DateTime? created = null, string ns = Ns)
    {
        var now = FakeKubernetesServer.Now();
        var conditions = new List<V1PodCondition>();
        if (scheduled)
        {
            conditions.Add(new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = now });
        }
        else if (pendingMessage is not null)
        {
            conditions.Add(new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = pendingMessage, LastTransitionTime = now });
        }

        conditions.Add(new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = now });
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["app"] = app }, CreationTimestamp = created, Uid = $"uid-{name}" },
            Spec = new V1PodSpec { NodeName = node, Containers = [new V1Container { Name = "app", Image = "spin:1" }] },
            Status = new V1PodStatus { Phase = ready ? "Running" : "Pending", Conditions = conditions },
        };
    }

    public static V1Deployment Deployment(string name, int replicas, int ready, string ns = Ns) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["app"] = name } },
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec(),
        },
        Status = new V1DeploymentStatus { Replicas = replicas, ReadyReplicas = ready, AvailableReplicas = ready },
    };

    public static V2HorizontalPodAutoscaler Hpa(string name, int desired, int current, int cpuPercent, string ns = Ns) => new()
    {
        ApiVersion = "autoscaling/v2",
        Kind = "HorizontalPodAutoscaler",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V2HorizontalPodAutoscalerSpec { MaxReplicas = 10, MinReplicas = 2, ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = name } },
        Status = new V2HorizontalPodAutoscalerStatus
        {
            CurrentReplicas = current,
            DesiredReplicas = desired,
            CurrentMetrics = [new V2MetricStatus { Type = "Resource", Resource = new V2ResourceMetricStatus { Name = "cpu", Current = new V2MetricValueStatus { AverageUtilization = cpuPercent } } }],
        },
    };

    private static int _events;

    public static Corev1Event Event(string reason, string message, string kind, string name, string type = "Normal", string? uid = null, string ns = Ns)
    {
        var now = FakeKubernetesServer.Now();
        var id = Interlocked.Increment(ref _events);
        return new Corev1Event
        {
            ApiVersion = "v1",
            Kind = "Event",
            Metadata = new V1ObjectMeta { Name = $"{name}.{id:x8}", NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference { Kind = kind, Name = name, NamespaceProperty = ns, Uid = uid },
            Reason = reason,
            Message = message,
            Type = type,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
    }
}
