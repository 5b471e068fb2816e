using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Cluster;
using Constellation.Testing.FakeKubernetes;

namespace Constellation.LoadRunner.Tests.Cluster;

/// <summary>
/// `constellation cluster …` with fake eksctl and helm executables on PATH (they record their arguments and
/// answer like the real ones; eksctl writes a kubeconfig for the fake Kubernetes API server) and the real
/// KubernetesClient applying the manifests to that server.
/// </summary>
public sealed class ClusterCommandTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-cluster-").FullName;
    private FakeKubernetesServer _server = null!;
    private string _bin = null!;
    private string _kubeconfig = null!;

    private static string Infra => Path.Combine(Constellation.Tests.Repo.Root, "infra");

    private string Calls => File.Exists(Path.Combine(_bin, "calls.log")) ? File.ReadAllText(Path.Combine(_bin, "calls.log")) : string.Empty;

    public async ValueTask InitializeAsync()
    {
        _server = await FakeKubernetesServer.StartAsync();
        _server.Apply(KubeObjects.Node("ip-10-0-1-10", "eu-west-1a", ready: true));
        _server.Apply(KubeObjects.Node("ip-10-0-2-10", "eu-west-1b", ready: true));
        _server.NodeUsage["ip-10-0-1-10"] = ("300m", "1Gi");
        _bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(_bin);
        File.Copy(_server.WriteKubeconfig(Path.Combine(_dir, "fake")), Path.Combine(_bin, "kubeconfig.fake"));
        _kubeconfig = Path.Combine(_dir, "kube", "config");
        Fake("eksctl", """
            case "$1 $2" in
              "get cluster") [ -f "$here/cluster.exists" ] && { echo '[{"Name":"constellation-demo","Status":"ACTIVE"}]'; exit 0; }
                             echo 'Error: unable to describe cluster control plane: ResourceNotFoundException: No cluster found for name: constellation-demo.' >&2; exit 1 ;;
              "create cluster") touch "$here/cluster.exists"; echo '[✔]  EKS cluster "constellation-demo" in "eu-west-1" region is ready' ;;
              "utils write-kubeconfig") while [ $# -gt 0 ]; do [ "$1" = --kubeconfig ] && { mkdir -p "$(dirname "$2")"; cp "$here/kubeconfig.fake" "$2"; }; shift; done
                                        echo 'saved kubeconfig' ;;
              "get nodegroup") echo '[{"Name":"system","DesiredCapacity":2},{"Name":"workers","DesiredCapacity":4}]' ;;
              "delete cluster") rm -f "$here/cluster.exists"; echo '[✔]  all cluster resources were deleted' ;;
              *) echo "fake eksctl: unexpected $*" >&2; exit 2 ;;
            esac
            """);
        Fake("aws", """
            case "$1 $2" in
              "sts get-caller-identity") echo '{"UserId":"AIDAEXAMPLE","Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/ci"}' ;;
              *) echo "fake aws: unexpected $*" >&2; exit 2 ;;
            esac
            """);
        Fake("helm", """
            case "$1" in
              repo) echo "\"$3\" has been added to your repositories" ;;
              upgrade) echo "Release \"$3\" has been upgraded. Happy Helming!" ;;
              *) echo "fake helm: unexpected $*" >&2; exit 2 ;;
            esac
            """);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private void Fake(string tool, string body)
    {
        var path = Path.Combine(_bin, tool);
        File.WriteAllText(path, $"#!/usr/bin/env bash\nhere=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\necho \"{tool} $*\" >> \"$here/calls.log\"\n{body}\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private async Task<(int Code, string Out, string Err)> CliAsync(string[] args, string? path = null, Func<string?>? readLine = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var env = new Dictionary<string, string?> { ["PATH"] = path ?? $"{_bin}:{Environment.GetEnvironmentVariable("PATH")}", ["HOME"] = _dir };
        var ctx = new CliContext(o, e, false, TestContext.Current.CancellationToken, CancellationToken.None) { Environment = n => env.GetValueOrDefault(n), ReadLine = readLine };
        var code = await ConstellationCli.RunAsync(args, ctx);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Up_CreatesInstallsAppliesAndWaits_AndASecondUpKeepsTheCluster()
    {
        var (code, o, e) = await CliAsync(["cluster", "up", "--infra", Infra, "--kubeconfig", _kubeconfig, "--registry", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]);

        code.ShouldBe(ExitCodes.Ok, o + e);
        var calls = Calls.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        calls[0].ShouldBe("aws sts get-caller-identity --output json");
        calls.ShouldContain($"eksctl create cluster -f {Infra}/eksctl/cluster.yaml");
        calls.ShouldContain($"eksctl utils write-kubeconfig --cluster constellation-demo --region eu-west-1 --kubeconfig {_kubeconfig}");
        calls.ShouldContain("helm repo add autoscaler https://kubernetes.github.io/autoscaler --force-update");
        calls.ShouldContain($"helm upgrade --install cluster-autoscaler autoscaler/cluster-autoscaler --version 9.43.2 --namespace kube-system --create-namespace -f {Infra}/helm-values/cluster-autoscaler.yaml --wait --timeout 10m --kubeconfig {_kubeconfig}");
        calls.Count(c => c.StartsWith("helm upgrade --install", StringComparison.Ordinal)).ShouldBe(3);

        // Server-side apply, field manager constellation, namespaces first, images from the registry.
        _server.Applied[0].Resource.ShouldBe("namespaces");
        _server.Applied.ShouldAllBe(a => a.FieldManager == ClusterCommands.FieldManager && a.Force);
        _server.Applied.Select(a => $"{a.Resource}/{a.Name}").ShouldBe(
            ["namespaces/demo", "namespaces/constellation", "clusterroles/constellation-observer", "clusterrolebindings/constellation-observer", "serviceaccounts/constellation-loadrunner",
             "deployments/spin", "services/spin", "poddisruptionbudgets/spin", "horizontalpodautoscalers/spin", "deployments/webapp", "services/webapp", "poddisruptionbudgets/webapp"],
            ignoreOrder: true);
        e.ShouldContain("AWS account 123456789012 as arn:aws:iam::123456789012:user/ci");
        e.ShouldContain("[1/4] creating cluster constellation-demo in eu-west-1");
        e.ShouldContain("metrics are served and every workload is Ready");
        e.ShouldContain("  eksctl: [✔]  EKS cluster \"constellation-demo\" in \"eu-west-1\" region is ready");

        var (code2, _, e2) = await CliAsync(["cluster", "up", "--infra", Infra, "--kubeconfig", _kubeconfig]);
        code2.ShouldBe(ExitCodes.Ok, e2);
        e2.ShouldContain("[1/4] cluster constellation-demo (eu-west-1) exists: kept");
        Calls.Split('\n').Count(c => c.StartsWith("eksctl create cluster", StringComparison.Ordinal)).ShouldBe(1);

        var (code3, status, e3) = await CliAsync(["cluster", "status", "--infra", Infra, "--kubeconfig", _kubeconfig]);
        code3.ShouldBe(ExitCodes.Ok, e3);
        status.ShouldContain("nodes: 2");
        status.ShouldContain("  eu-west-1a: 1/1 Ready (workers 1)");
        status.ShouldContain("deployment demo/spin: 2/2 ready");
        status.ShouldContain("hpa demo/spin: 0 current, 0 desired (2–10)");
        status.ShouldContain("metrics.k8s.io: served");
    }

    [Fact]
    public async Task Up_WaitsForMetricsServer_WithProgress()
    {
        File.WriteAllText(Path.Combine(_bin, "cluster.exists"), string.Empty);
        _server.MetricsUnavailable = true;
        var log = new StringWriter();
        var commands = new ClusterCommands(
            new ClusterOptions
            {
                InfraDirectory = Infra,
                Kubeconfig = _kubeconfig,
                PollInterval = TimeSpan.FromMilliseconds(200),
                WaitTimeout = TimeSpan.FromSeconds(20),
                Environment = new Dictionary<string, string?> { ["PATH"] = $"{_bin}:{Environment.GetEnvironmentVariable("PATH")}" },
            },
            TextWriter.Synchronized(log),
            TimeProvider.System);
        var up = commands.UpAsync(TestContext.Current.CancellationToken);
        for (int i = 0; i < 400 && !log.ToString().Contains("waiting for: metrics.k8s.io (HTTP 503)"); i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        _server.MetricsUnavailable = false;
        await up;

        log.ToString().ShouldContain("waiting for: metrics.k8s.io (HTTP 503)");
        log.ToString().ShouldContain("metrics are served and every workload is Ready");
    }

    [Fact]
    public async Task Down_AsksFirst_RefusesWithoutAnswer_AndReportsWhatItRemoved()
    {
        File.WriteAllText(Path.Combine(_bin, "cluster.exists"), string.Empty);

        var (code, _, e) = await CliAsync(["cluster", "down", "--infra", Infra]);
        code.ShouldBe(ExitCodes.InvalidInput);
        e.ShouldContain("needs confirmation and nobody can answer here: pass --yes");

        (code, _, e) = await CliAsync(["cluster", "down", "--infra", Infra], readLine: () => "no");
        code.ShouldBe(ExitCodes.InvalidInput);
        e.ShouldContain("not confirmed: nothing was deleted");
        Calls.ShouldNotContain("eksctl delete");

        (code, var o, e) = await CliAsync(["cluster", "down", "--infra", Infra], readLine: () => "constellation-demo");
        code.ShouldBe(ExitCodes.Ok, e);
        o.ShouldContain("removed: cluster constellation-demo (eu-west-1)");
        o.ShouldContain("removed: node group workers (4 nodes)");
        Calls.ShouldContain($"eksctl delete cluster -f {Infra}/eksctl/cluster.yaml --wait");

        (code, o, e) = await CliAsync(["cluster", "down", "--infra", Infra, "--yes"]);
        code.ShouldBe(ExitCodes.Ok);
        e.ShouldContain("does not exist: nothing to remove");
    }

    [Fact]
    public async Task AMissingTool_SaysHowToInstallIt()
    {
        var (code, _, e) = await CliAsync(["cluster", "up", "--infra", Infra], path: "/nonexistent");
        code.ShouldBe(ExitCodes.InvalidInput);
        e.ShouldContain("error: eksctl not found on PATH: install it (https://eksctl.io/installation/)");
    }

    [Fact]
    public async Task Deploy_ReappliesTheWorkloadsOnly()
    {
        var (code, _, e) = await CliAsync(["cluster", "deploy", "--infra", Infra, "--kubeconfig", Path.Combine(_bin, "kubeconfig.fake")]);
        code.ShouldBe(ExitCodes.Ok, e);
        Calls.ShouldBeEmpty();
        _server.Applied.Count.ShouldBe(12);
        e.ShouldContain("applied deployment/demo/spin");
    }
}
