using System.Diagnostics;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace Constellation.LoadRunner.Tests.Cluster;

/// <summary>The infra files load with KubernetesClient's typed loader and keep the invariants the scale test relies on.</summary>
public sealed class InfraManifestTests
{
    private static readonly string Root = Constellation.Tests.Repo.Root;
    private static readonly string Infra = Path.Combine(Root, "infra");

    private static List<object> All() => Directory.GetFiles(Path.Combine(Infra, "k8s"), "*.yaml", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(f) != "kustomization.yaml")
        .SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), strict: true))
        .ToList();

    [Fact]
    public void Spin_RequestsEqualLimits_SoTheHpaCpuSignalMeansSomething()
    {
        var spin = All().OfType<V1Deployment>().Single(d => d.Metadata.Name == "spin");
        var c = spin.Spec.Template.Spec.Containers.Single();
        c.Resources.Requests["cpu"].ShouldBe(c.Resources.Limits["cpu"]);
        c.Resources.Requests["memory"].ShouldBe(c.Resources.Limits["memory"]);
    }

    [Fact]
    public void Deployments_HaveProbes_RunNonRoot_ReadOnly_SpreadOverZones_AndPinnedImages()
    {
        var deployments = All().OfType<V1Deployment>().ToList();
        deployments.Select(d => d.Metadata.Name).ShouldBe(["spin", "webapp"], ignoreOrder: true);
        foreach (var d in deployments)
        {
            var pod = d.Spec.Template.Spec;
            d.Spec.Selector.MatchLabels.ShouldAllBe(kv => d.Spec.Template.Metadata.Labels[kv.Key] == kv.Value, d.Metadata.Name);
            pod.SecurityContext.RunAsNonRoot.ShouldBe(true);
            pod.TopologySpreadConstraints.ShouldContain(t => t.TopologyKey == "topology.kubernetes.io/zone");
            foreach (var c in pod.Containers)
            {
                c.ReadinessProbe.ShouldNotBeNull(d.Metadata.Name);
                c.LivenessProbe.ShouldNotBeNull(d.Metadata.Name);
                c.SecurityContext.ReadOnlyRootFilesystem.ShouldBe(true);
                c.SecurityContext.AllowPrivilegeEscalation.ShouldBe(false);
                c.Resources.Requests.ShouldContainKey("cpu");
            }
        }
    }

    [Fact]
    public void NoImageIsLatestOrUntagged()
    {
        var images = All().SelectMany(o => o switch
        {
            V1Deployment d => d.Spec.Template.Spec.Containers.Select(c => c.Image),
            V1Job j => j.Spec.Template.Spec.Containers.Select(c => c.Image),
            V1CronJob cj => cj.Spec.JobTemplate.Spec.Template.Spec.Containers.Select(c => c.Image),
            _ => [],
        }).ToList();
        images.Count.ShouldBeGreaterThanOrEqualTo(4);
        images.ShouldAllBe(i => i.Contains(':') && !i.EndsWith(":latest"));
        foreach (var dockerfile in new[] { "src/SpinService/Dockerfile", "src/LoadRunner/Dockerfile" })
        {
            var text = File.ReadAllText(Path.Combine(Root, dockerfile));
            text.ShouldNotContain(":latest");
            text.ShouldContain("USER 10001:10001");
            text.Split('\n').Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ShouldBe(2, $"{dockerfile} is multi-stage");
        }
    }

    [Fact]
    public void Services_AndBudgets_SelectTheirDeployments_AndTheHpaTargetsSpin()
    {
        var all = All();
        var deployments = all.OfType<V1Deployment>().ToList();
        bool Selects(IDictionary<string, string> selector) => deployments.Any(d => selector.All(kv => d.Spec.Template.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value));
        all.OfType<V1Service>().Select(s => Selects(s.Spec.Selector)).ShouldAllBe(ok => ok);
        all.OfType<V1PodDisruptionBudget>().Count().ShouldBe(2);
        all.OfType<V1PodDisruptionBudget>().Select(p => Selects(p.Spec.Selector.MatchLabels)).ShouldAllBe(ok => ok);
        var hpa = all.OfType<V2HorizontalPodAutoscaler>().Single();
        hpa.Spec.ScaleTargetRef.Kind.ShouldBe("Deployment");
        hpa.Spec.ScaleTargetRef.Name.ShouldBe("spin");
        hpa.Metadata.NamespaceProperty.ShouldBe(deployments.Single(d => d.Metadata.Name == "spin").Metadata.NamespaceProperty);
        hpa.Spec.Metrics.Single().Resource.Name.ShouldBe("cpu");
        hpa.Spec.Behavior.ScaleUp.ShouldNotBeNull();
        hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds.ShouldBe(300);
    }

    [Fact]
    public void ObserverRbac_IsReadOnly_AndCoversWhatTheObserverWatches()
    {
        var role = All().OfType<V1ClusterRole>().Single(r => r.Metadata.Name == "constellation-observer");
        role.Rules.SelectMany(r => r.Verbs).Distinct().ShouldBeSubsetOf(["get", "list", "watch"]);
        foreach (var resource in new[] { "pods", "nodes", "events", "deployments", "horizontalpodautoscalers" })
        {
            role.Rules.ShouldContain(r => r.Resources.Contains(resource) && r.Verbs.Contains("watch"), resource);
        }

        role.Rules.ShouldContain(r => r.ApiGroups.Contains("metrics.k8s.io"));
        var binding = All().OfType<V1ClusterRoleBinding>().Single();
        binding.RoleRef.Name.ShouldBe(role.Metadata.Name);
        All().OfType<V1CronJob>().Single().Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName.ShouldBe(binding.Subjects.Single().Name);
    }

    [Fact]
    public void Eksctl_TwoZones_Oidc_AnAutoscaledWorkerGroup_AndLeastPrivilegeS3()
    {
        var cluster = Load(Path.Combine(Infra, "eksctl", "cluster.yaml"));
        ((YamlSequenceNode)cluster["availabilityZones"]).Children.Count.ShouldBeGreaterThanOrEqualTo(2);
        ((YamlScalarNode)((YamlMappingNode)cluster["iam"])["withOIDC"]).Value.ShouldBe("true");
        var groups = ((YamlSequenceNode)cluster["managedNodeGroups"]).Children.Cast<YamlMappingNode>().ToList();
        var workers = groups.Single(g => ((YamlScalarNode)g["name"]).Value == "workers");
        int min = int.Parse(((YamlScalarNode)workers["minSize"]).Value!), max = int.Parse(((YamlScalarNode)workers["maxSize"]).Value!);
        max.ShouldBeGreaterThan(min);
        ((YamlScalarNode)workers["propagateASGTags"]).Value.ShouldBe("true");
        var tags = (YamlMappingNode)workers["tags"];
        tags.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ShouldContain("k8s.io/cluster-autoscaler/enabled");
        tags.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ShouldContain("k8s.io/cluster-autoscaler/constellation-demo");
        var text = File.ReadAllText(Path.Combine(Infra, "eksctl", "cluster.yaml"));
        text.ShouldContain("autoScaler: true");
        text.ShouldContain("arn:aws:s3:::constellation-demo-runs/constellation/runs/*");
        text.ShouldNotContain("s3:*");
    }

    [Fact]
    public void HelmVersions_ArePinned_AndEveryValuesFileExists()
    {
        var commands = new Constellation.LoadRunner.Cluster.ClusterCommands(new() { InfraDirectory = Infra }, TextWriter.Null, TimeProvider.System);
        var charts = commands.ReadCharts();
        charts.Select(c => c.Release).ShouldBe(["metrics-server", "cluster-autoscaler", "kube-prometheus-stack"]);
        charts.ShouldAllBe(c => System.Text.RegularExpressions.Regex.IsMatch(c.Version, @"^\d+\.\d+\.\d+$"));
        charts.ShouldAllBe(c => File.Exists(c.Values));
        File.ReadAllText(Path.Combine(Infra, "helm-values", "cluster-autoscaler.yaml")).ShouldContain("clusterName: constellation-demo");
        File.ReadAllText(Path.Combine(Infra, "helm-values", "cluster-autoscaler.yaml")).ShouldContain("balance-similar-node-groups: true");
    }

    [Fact]
    public void Yamllint_Passes()
    {
        var yamllint = new[] { "/usr/bin/yamllint", "/usr/local/bin/yamllint" }.FirstOrDefault(File.Exists);
        if (yamllint is null)
        {
            Assert.SkipWhen(Environment.GetEnvironmentVariable("CI") != "true", "yamllint is not installed (scripts/test.sh installs Debian's)");
            Assert.Fail("yamllint is not installed; scripts/test.sh should have installed it");
        }

        var psi = new ProcessStartInfo(yamllint, ["-s", "-c", Path.Combine(Infra, ".yamllint"), Infra, Path.Combine(Root, "plans")]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.ShouldBe(0, output);
    }

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }
}
