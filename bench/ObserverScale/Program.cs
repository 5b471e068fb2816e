// The Kubernetes sampler's own cost while a large cluster churns: a fake API server (a child process, so its
// CPU is not counted) holds 200 nodes in 4 zones and a 2,000-pod deployment, and every second replaces 20 pods
// (created Pending, scheduled, Ready, deleted), updates 20 nodes' status, the deployment, the HPA and posts
// events. The sampler watches it all and polls metrics.k8s.io every 15 s. Reported: the sampler process's CPU
// (% of one core) and peak resident memory, against the goals (under 5%, under 150 MB), and the watch events
// it processed per second.
//
//   dotnet run -c Release --project bench/ObserverScale [-- --seconds 60]
using System.Diagnostics;
using System.Globalization;
using Constellation.Core.Plans;
using Constellation.Observer;
using Constellation.Testing.FakeKubernetes;
using k8s.Models;

var inv = CultureInfo.InvariantCulture;
int seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(a => int.Parse(a, inv)).FirstOrDefault(60);
const int Nodes = 200, Pods = 2000, ChurnPerSecond = 20;

if (args.Contains("--server"))
{
    await ServeAsync(seconds + 30);
    return 0;
}

// The server runs in a child process: only the sampler's work counts against this process.
var self = Environment.ProcessPath!;
var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
if (Path.GetFileNameWithoutExtension(self) == "dotnet")
{
    psi.ArgumentList.Add(typeof(Program).Assembly.Location);
}

psi.ArgumentList.Add("--server");
psi.ArgumentList.Add("--seconds");
psi.ArgumentList.Add(seconds.ToString(inv));
using var server = Process.Start(psi)!;
var kubeconfig = (await server.StandardOutput.ReadLineAsync())!;
await server.StandardOutput.ReadLineAsync(); // "ready": the cluster is populated and churning
Console.Error.WriteLine($"fake cluster up ({Nodes} nodes, {Pods} pods, {ChurnPerSecond} pods replaced per second); observing for {seconds} s");

var spec = new KubernetesSamplerSpec
{
    Kubeconfig = kubeconfig,
    Workloads = [new WorkloadSpec { Namespace = "bench", Deployment = "churn", Hpa = "churn" }],
    EventNamespaces = ["bench"],
    MetricsInterval = TimeSpan.FromSeconds(15),
};
var sampler = new KubernetesSampler(spec, KubernetesSampler.ConfigFrom(spec), TimeProvider.System, Console.Error);
var observer = new RunObserver([sampler], [], TimeProvider.System, Console.Error);

var before = Cpu();
var wall = Stopwatch.StartNew();
var start = TimeProvider.System.GetUtcNow();
observer.Start();

// Warm-up (first list of 2,000 pods and 200 nodes, JIT) is part of the run: a real observer pays it too. The
// steady-state CPU is measured separately over the second half.
await Task.Delay(TimeSpan.FromSeconds(seconds / 2.0));
var half = Cpu();
var halfWall = wall.Elapsed;
await Task.Delay(TimeSpan.FromSeconds(seconds / 2.0));
var after = Cpu();
var elapsed = wall.Elapsed;
var observed = await observer.StopAsync(start, CancellationToken.None);
server.Kill();

var hwmMb = PeakRssMb();
var samples = observed.Observation.Samplers.Single().Samples;
double cpuAll = (after - before) / elapsed.TotalSeconds * 100;
double cpuSteady = (after - half) / (elapsed - halfWall).TotalSeconds * 100;
var k8s = observed.Observation.Kubernetes!;
var report = string.Create(inv, $"""
    # Observer scale benchmark — {DateTime.UnixEpoch.AddSeconds(start.ToUnixTimeSeconds()):yyyy-MM-dd HH:mm} UTC

    Kubernetes sampler against the fake API server (child process): {Nodes} nodes in 4 zones, a {Pods}-pod deployment,
    {ChurnPerSecond} pods replaced per second (each: ADDED Pending → scheduled → Ready → DELETED), {ChurnPerSecond} node
    status updates, deployment + HPA updates and {ChurnPerSecond / 2} events per second; metrics.k8s.io polled every 15 s.
    Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}. One run of {seconds} s.

    | measure | value | goal |
    |---|---:|---:|
    | sampler CPU, whole run (incl. first lists, JIT) | {cpuAll:0.00}% of one core | < 5% |
    | sampler CPU, second half (steady churn) | {cpuSteady:0.00}% of one core | < 5% |
    | peak resident memory (VmHWM) | {hwmMb:0} MB | < 150 MB |
    | watch events + list items processed | {samples:N0} ({samples / elapsed.TotalSeconds:0} /s) | |
    | pods tracked at the end | {k8s.Pods.Count:N0} | |
    | nodes tracked | {k8s.Nodes.Count} | |
    | gaps | {observed.Observation.Gaps.Count} | 0 |

    """);
Console.WriteLine(report);
var results = Path.Combine(FindRoot(), "bench", "results");
Directory.CreateDirectory(results);
var file = Path.Combine(results, $"observer-scale-{DateTime.UnixEpoch.AddSeconds(start.ToUnixTimeSeconds()):yyyyMMdd-HHmmss}.md");
File.WriteAllText(file, report);
Console.Error.WriteLine($"written: {file}");
return 0;

static double Cpu()
{
    var stat = File.ReadAllText("/proc/self/stat");
    var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture)) / 100.0;
}

static double PeakRssMb()
{
    var line = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
}

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Constellation.sln")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? Directory.GetCurrentDirectory();
}

static async Task ServeAsync(int lifetimeSeconds)
{
    await using var s = await FakeKubernetesServer.StartAsync();
    var dir = Directory.CreateTempSubdirectory("observer-scale-").FullName;
    string[] zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"];
    for (int i = 0; i < Nodes; i++)
    {
        s.Apply(Node($"node-{i}", zones[i % 4], true));
        s.NodeUsage[$"node-{i}"] = ("1500m", "6Gi");
    }

    s.Apply(Deployment(Pods, Pods));
    s.Apply(Hpa(Pods, 60));
    int next = 0;
    var live = new Queue<string>();
    for (; next < Pods; next++)
    {
        s.Apply(Pod($"churn-{next}", $"node-{next % Nodes}", scheduled: true, ready: true));
        s.PodUsage[$"bench/churn-{next}"] = ("200m", "120Mi");
        live.Enqueue($"churn-{next}");
    }

    Console.WriteLine(s.WriteKubeconfig(dir));
    Console.WriteLine("ready");
    var pendingSchedule = new List<string>();
    var pendingReady = new List<string>();
    for (int t = 0; t < lifetimeSeconds; t++)
    {
        // Pods: the ones created a second ago get scheduled, the ones scheduled become Ready, 20 new ones arrive, 20 old ones go.
        foreach (var name in pendingReady)
        {
            s.Apply(Pod(name, $"node-{t % Nodes}", scheduled: true, ready: true));
        }

        foreach (var name in pendingSchedule)
        {
            s.Apply(Pod(name, $"node-{t % Nodes}", scheduled: true, ready: false));
        }

        pendingReady = pendingSchedule;
        pendingSchedule = [];
        for (int i = 0; i < ChurnPerSecond; i++, next++)
        {
            var name = $"churn-{next}";
            s.Apply(Pod(name, null, scheduled: false, ready: false));
            pendingSchedule.Add(name);
            live.Enqueue(name);
            var old = live.Dequeue();
            s.Delete("pods", "bench", old);
            s.PodUsage.Remove($"bench/{old}");
            s.PodUsage[$"bench/{name}"] = ("200m", "120Mi");
            if (i % 2 == 0)
            {
                s.Apply(Event("Scheduled", $"Successfully assigned bench/{name}", name));
            }
        }

        for (int i = 0; i < ChurnPerSecond; i++)
        {
            var n = ((t * ChurnPerSecond) + i) % Nodes;
            s.Apply(Node($"node-{n}", zones[n % 4], true));
        }

        s.Apply(Deployment(Pods, Pods - 40 + (t % 3)));
        s.Apply(Hpa(Pods, 55 + (t % 10)));
        await Task.Delay(1000);
    }
}

static V1Node Node(string name, string zone, bool ready) => new()
{
    ApiVersion = "v1",
    Kind = "Node",
    Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = zone, ["eks.amazonaws.com/nodegroup"] = "workers", ["node.kubernetes.io/instance-type"] = "m5.xlarge" } },
    Status = new V1NodeStatus { Conditions = [new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = FakeKubernetesServer.Now(), LastHeartbeatTime = FakeKubernetesServer.Now() }] },
};

static V1Pod Pod(string name, string? node, bool scheduled, bool ready) => new()
{
    ApiVersion = "v1",
    Kind = "Pod",
    Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "bench", Labels = new Dictionary<string, string> { ["app"] = "churn" }, Uid = "uid-" + name },
    Spec = new V1PodSpec { NodeName = node, Containers = [new V1Container { Name = "app", Image = "spin:1" }] },
    Status = new V1PodStatus
    {
        Phase = ready ? "Running" : "Pending",
        Conditions =
        [
            new V1PodCondition { Type = "PodScheduled", Status = scheduled ? "True" : "False", Reason = scheduled ? null : "Unschedulable", LastTransitionTime = FakeKubernetesServer.Now() },
            new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False", LastTransitionTime = FakeKubernetesServer.Now() },
        ],
    },
};

static V1Deployment Deployment(int replicas, int ready) => new()
{
    ApiVersion = "apps/v1",
    Kind = "Deployment",
    Metadata = new V1ObjectMeta { Name = "churn", NamespaceProperty = "bench" },
    Spec = new V1DeploymentSpec { Replicas = replicas, Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "churn" } }, Template = new V1PodTemplateSpec() },
    Status = new V1DeploymentStatus { ReadyReplicas = ready, Replicas = replicas },
};

static V2HorizontalPodAutoscaler Hpa(int desired, int cpu) => new()
{
    ApiVersion = "autoscaling/v2",
    Kind = "HorizontalPodAutoscaler",
    Metadata = new V1ObjectMeta { Name = "churn", NamespaceProperty = "bench" },
    Spec = new V2HorizontalPodAutoscalerSpec { MaxReplicas = 3000, ScaleTargetRef = new V2CrossVersionObjectReference { Kind = "Deployment", Name = "churn" } },
    Status = new V2HorizontalPodAutoscalerStatus { DesiredReplicas = desired, CurrentReplicas = desired, CurrentMetrics = [new V2MetricStatus { Type = "Resource", Resource = new V2ResourceMetricStatus { Name = "cpu", Current = new V2MetricValueStatus { AverageUtilization = cpu } } }] },
};

static Corev1Event Event(string reason, string message, string pod) => new()
{
    ApiVersion = "v1",
    Kind = "Event",
    Metadata = new V1ObjectMeta { Name = $"{pod}.{Guid.NewGuid():n}", NamespaceProperty = "bench" },
    InvolvedObject = new V1ObjectReference { Kind = "Pod", Name = pod, NamespaceProperty = "bench" },
    Reason = reason,
    Message = message,
    Type = "Normal",
    LastTimestamp = FakeKubernetesServer.Now(),
};
