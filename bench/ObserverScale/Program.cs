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

var inv = CultureInfo.InvariantCulture;
int seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(a => int.Parse(a, inv)).FirstOrDefault(60);
const int Nodes = 200, Pods = 2000, ChurnPerSecond = 20;
const string Ns = "bench";

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
    Workloads = [new WorkloadSpec { Namespace = Ns, Deployment = "churn", Hpa = "churn" }],
    EventNamespaces = [Ns],
    MetricsInterval = TimeSpan.FromSeconds(15),
};
var sampler = new KubernetesSampler(spec, KubernetesSampler.ConfigFrom(spec), TimeProvider.System, new Constellation.Core.Logging.PlainTextLogger(Console.Error));
var observer = new RunObserver([sampler], [], TimeProvider.System, new Constellation.Core.Logging.PlainTextLogger(Console.Error));

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
        s.Apply(KubeObjects.Node($"node-{i}", zones[i % 4], ready: true, instanceType: "m5.xlarge"));
        s.NodeUsage[$"node-{i}"] = ("1500m", "6Gi");
    }

    s.Apply(KubeObjects.Deployment("churn", Pods, Pods, Ns));
    s.Apply(KubeObjects.Hpa("churn", Pods, Pods, 60, Ns));
    int next = 0;
    var live = new Queue<string>();
    for (; next < Pods; next++)
    {
        s.Apply(KubeObjects.Pod($"churn-{next}", "churn", $"node-{next % Nodes}", scheduled: true, ready: true, ns: Ns));
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
            s.Apply(KubeObjects.Pod(name, "churn", $"node-{t % Nodes}", scheduled: true, ready: true, ns: Ns));
        }

        foreach (var name in pendingSchedule)
        {
            s.Apply(KubeObjects.Pod(name, "churn", $"node-{t % Nodes}", scheduled: true, ns: Ns));
        }

        pendingReady = pendingSchedule;
        pendingSchedule = [];
        for (int i = 0; i < ChurnPerSecond; i++, next++)
        {
            var name = $"churn-{next}";
            s.Apply(KubeObjects.Pod(name, "churn", pendingMessage: "0/200 nodes are available", ns: Ns));
            pendingSchedule.Add(name);
            live.Enqueue(name);
            var old = live.Dequeue();
            s.Delete("pods", "bench", old);
            s.PodUsage.Remove($"bench/{old}");
            s.PodUsage[$"bench/{name}"] = ("200m", "120Mi");
            if (i % 2 == 0)
            {
                s.Apply(KubeObjects.Event("Scheduled", $"Successfully assigned bench/{name}", "Pod", name, ns: Ns));
            }
        }

        for (int i = 0; i < ChurnPerSecond; i++)
        {
            var n = ((t * ChurnPerSecond) + i) % Nodes;
            s.Apply(KubeObjects.Node($"node-{n}", zones[n % 4], ready: true, instanceType: "m5.xlarge"));
        }

        s.Apply(KubeObjects.Deployment("churn", Pods, Pods - 40 + (t % 3), Ns));
        s.Apply(KubeObjects.Hpa("churn", Pods, Pods, 55 + (t % 10), Ns));
        await Task.Delay(1000);
    }
}
