using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace Constellation.LoadRunner.Cluster;

/// <summary>Where the infra files are and how to reach the cluster.</summary>
public sealed record ClusterOptions
{
    /// <summary>The infra folder (eksctl/, helm-values/, k8s/). Default: ./infra.</summary>
    public string InfraDirectory { get; init; } = "infra";

    /// <summary>The kubeconfig eksctl writes and the commands use; default $KUBECONFIG, then ~/.kube/config.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>Image registry for the workloads (e.g. ACCOUNT.dkr.ecr.REGION.amazonaws.com); default: the manifests' names.</summary>
    public string? Registry { get; init; }

    /// <summary>How long eksctl may take to create or delete the cluster. Default: 40m.</summary>
    public TimeSpan EksctlTimeout { get; init; } = TimeSpan.FromMinutes(40);

    /// <summary>How long one helm install may take. Default: 10m.</summary>
    public TimeSpan HelmTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long `up` waits for metrics and Ready workloads. Default: 15m.</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How often `up` checks while waiting. Default: 5s.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Environment of the external tools (PATH, AWS_*, KUBECONFIG); default: this process's.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// `constellation cluster up | deploy | status | down`: eksctl for the cluster, helm for the add-ons, and the
/// workloads applied with server-side apply through KubernetesClient (kubectl is not needed). Every step is
/// safe to repeat: an existing cluster is kept, helm upgrades in place, apply is declarative.
/// </summary>
public sealed class ClusterCommands(ClusterOptions options, TextWriter log, TimeProvider time)
{
    public const string FieldManager = "constellation";

    private readonly ExternalTools _tools = new(options.Environment, log);

    public string ClusterFile => Path.Combine(options.InfraDirectory, "eksctl", "cluster.yaml");

    public (string Name, string Region) ReadCluster()
    {
        var root = LoadYaml(ClusterFile);
        var metadata = (YamlMappingNode)root.Children[new YamlScalarNode("metadata")];
        return (((YamlScalarNode)metadata.Children[new YamlScalarNode("name")]).Value!, ((YamlScalarNode)metadata.Children[new YamlScalarNode("region")]).Value!);
    }

    /// <summary>The add-ons from helm-values/versions.yaml: release, repo name and URL, chart, version, namespace, values file.</summary>
    public IReadOnlyList<(string Release, string Repo, string Url, string Chart, string Version, string Namespace, string Values)> ReadCharts()
    {
        var root = LoadYaml(Path.Combine(options.InfraDirectory, "helm-values", "versions.yaml"));
        var charts = (YamlMappingNode)root.Children[new YamlScalarNode("charts")];
        return charts.Children.Select(kv =>
        {
            var c = (YamlMappingNode)kv.Value;
            string V(string key) => ((YamlScalarNode)c.Children[new YamlScalarNode(key)]).Value!;
            return (((YamlScalarNode)kv.Key).Value!, V("repo"), V("url"), V("chart"), V("version"), V("namespace"), Path.Combine(options.InfraDirectory, "helm-values", V("values")));
        }).ToList();
    }

    public async Task UpAsync(CancellationToken ct)
    {
        _tools.Find("eksctl");
        _tools.Find("helm");
        _tools.Find("aws");
        var (name, region) = ReadCluster();

        // Fail before anything is created when there are no usable AWS credentials, and say whose account it is.
        var (_, identity) = await _tools.RunAsync("aws", ["sts", "get-caller-identity", "--output", "json"], TimeSpan.FromMinutes(1), ct, quiet: true).ConfigureAwait(false);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(identity);
            log.WriteLine($"AWS account {doc.RootElement.GetProperty("Account").GetString()} as {doc.RootElement.GetProperty("Arn").GetString()}");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            log.WriteLine("warning: could not read `aws sts get-caller-identity`");
        }

        if (await ClusterExistsAsync(name, region, ct).ConfigureAwait(false))
        {
            log.WriteLine($"[1/4] cluster {name} ({region}) exists: kept");
        }
        else
        {
            log.WriteLine($"[1/4] creating cluster {name} in {region} with eksctl (15–25 minutes)");
            await _tools.RunAsync("eksctl", ["create", "cluster", "-f", ClusterFile], options.EksctlTimeout, ct).ConfigureAwait(false);
        }

        await _tools.RunAsync("eksctl", ["utils", "write-kubeconfig", "--cluster", name, "--region", region, .. KubeconfigArgs()], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);

        var charts = ReadCharts();
        log.WriteLine($"[2/4] installing {charts.Count} add-ons with helm: {string.Join(", ", charts.Select(c => $"{c.Release} {c.Version}"))}");
        foreach (var repo in charts.Select(c => (c.Repo, c.Url)).Distinct())
        {
            await _tools.RunAsync("helm", ["repo", "add", repo.Repo, repo.Url, "--force-update"], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
        }

        await _tools.RunAsync("helm", ["repo", "update"], TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
        foreach (var c in charts)
        {
            await _tools.RunAsync(
                "helm",
                ["upgrade", "--install", c.Release, c.Chart, "--version", c.Version, "--namespace", c.Namespace, "--create-namespace", "-f", c.Values, "--wait", "--timeout", $"{(int)options.HelmTimeout.TotalMinutes}m", .. KubeconfigArgs()],
                options.HelmTimeout + TimeSpan.FromMinutes(1),
                ct).ConfigureAwait(false);
        }

        log.WriteLine("[3/4] applying the workloads (server-side apply)");
        using var client = Client();
        await ApplyAsync(client, ct).ConfigureAwait(false);
        log.WriteLine("[4/4] waiting for metrics.k8s.io and Ready workloads");
        await WaitReadyAsync(client, ct).ConfigureAwait(false);
        log.WriteLine($"cluster {name} is up: run `constellation run plans/eks-nightly.yaml`");
    }

    public async Task DeployAsync(CancellationToken ct)
    {
        using var client = Client();
        await ApplyAsync(client, ct).ConfigureAwait(false);
    }

    /// <summary>Nodes per zone, deployments, HPAs and whether metrics are served, as text.</summary>
    public async Task<string> StatusAsync(CancellationToken ct)
    {
        using var client = Client();
        var sb = new System.Text.StringBuilder();
        var nodes = await client.CoreV1.ListNodeAsync(cancellationToken: ct).ConfigureAwait(false);
        sb.AppendLine(CultureInfo.InvariantCulture, $"nodes: {nodes.Items.Count}");
        static string Label(V1Node n, string key) => n.Metadata.Labels is { } l && l.TryGetValue(key, out var v) ? v : "-";
        foreach (var zone in nodes.Items.GroupBy(n => Label(n, "topology.kubernetes.io/zone")).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            int ready = zone.Count(n => n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
            var groups = string.Join(", ", zone.GroupBy(n => Label(n, "eks.amazonaws.com/nodegroup")).Select(g => $"{g.Key} {g.Count()}"));
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {zone.Key}: {ready}/{zone.Count()} Ready ({groups})");
        }

        foreach (var ns in WorkloadNamespaces())
        {
            var deployments = await client.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: ct).ConfigureAwait(false);
            foreach (var d in deployments.Items)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"deployment {ns}/{d.Metadata.Name}: {d.Status?.ReadyReplicas ?? 0}/{d.Spec?.Replicas ?? 0} ready");
            }

            var hpas = await client.AutoscalingV2.ListNamespacedHorizontalPodAutoscalerAsync(ns, cancellationToken: ct).ConfigureAwait(false);
            foreach (var h in hpas.Items)
            {
                var cpu = h.Status?.CurrentMetrics?.FirstOrDefault()?.Resource?.Current?.AverageUtilization;
                sb.AppendLine(CultureInfo.InvariantCulture, $"hpa {ns}/{h.Metadata.Name}: {h.Status?.CurrentReplicas ?? 0} current, {h.Status?.DesiredReplicas ?? 0} desired ({h.Spec.MinReplicas}–{h.Spec.MaxReplicas}), cpu {(cpu is null ? "unknown" : cpu + "%")}");
            }
        }

        sb.AppendLine($"metrics.k8s.io: {await MetricsStateAsync(client).ConfigureAwait(false)}");
        return sb.ToString();
    }

    /// <summary>Deletes the cluster (everything in it goes with it) and says what was removed.</summary>
    public async Task<IReadOnlyList<string>> DownAsync(CancellationToken ct)
    {
        _tools.Find("eksctl");
        var (name, region) = ReadCluster();
        if (!await ClusterExistsAsync(name, region, ct).ConfigureAwait(false))
        {
            log.WriteLine($"cluster {name} ({region}) does not exist: nothing to remove");
            return [];
        }

        var removed = new List<string> { $"cluster {name} ({region})" };
        var (code, groups) = await _tools.RunAsync("eksctl", ["get", "nodegroup", "--cluster", name, "--region", region, "-o", "json"], TimeSpan.FromMinutes(2), ct, check: false, quiet: true).ConfigureAwait(false);
        if (code == 0)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(groups);
                removed.AddRange(doc.RootElement.EnumerateArray().Select(g => $"node group {g.GetProperty("Name").GetString()} ({g.GetProperty("DesiredCapacity").GetInt32()} nodes)"));
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
            {
                log.WriteLine($"warning: could not read eksctl's node groups: {e.Message}");
            }
        }

        log.WriteLine($"deleting cluster {name} in {region} with eksctl (10–15 minutes)");
        await _tools.RunAsync("eksctl", ["delete", "cluster", "-f", ClusterFile, "--wait"], options.EksctlTimeout, ct).ConfigureAwait(false);
        return removed;
    }

    /// <summary>Server-side applies every manifest in infra/k8s/ (not its subfolders) with field manager "constellation".</summary>
    public async Task<IReadOnlyList<string>> ApplyAsync(IKubernetes client, CancellationToken ct)
    {
        var applied = new List<string>();
        foreach (var obj in LoadManifests())
        {
            var json = KubernetesJson.Serialize(obj);
            var patch = new V1Patch(json, V1Patch.PatchType.ApplyPatch);
            var meta = ((IKubernetesObject<V1ObjectMeta>)obj).Metadata;
            string ns = meta.NamespaceProperty ?? "default", name = meta.Name;
            Task task = obj switch
            {
                V1Namespace => client.CoreV1.PatchNamespaceAsync(patch, name, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1ServiceAccount => client.CoreV1.PatchNamespacedServiceAccountAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1Service => client.CoreV1.PatchNamespacedServiceAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1ConfigMap => client.CoreV1.PatchNamespacedConfigMapAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1Deployment => client.AppsV1.PatchNamespacedDeploymentAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V2HorizontalPodAutoscaler => client.AutoscalingV2.PatchNamespacedHorizontalPodAutoscalerAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1PodDisruptionBudget => client.PolicyV1.PatchNamespacedPodDisruptionBudgetAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1ClusterRole => client.RbacAuthorizationV1.PatchClusterRoleAsync(patch, name, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1ClusterRoleBinding => client.RbacAuthorizationV1.PatchClusterRoleBindingAsync(patch, name, fieldManager: FieldManager, force: true, cancellationToken: ct),
                V1CronJob => client.BatchV1.PatchNamespacedCronJobAsync(patch, name, ns, fieldManager: FieldManager, force: true, cancellationToken: ct),
                _ => throw new InvalidOperationException($"cannot apply a {obj.GetType().Name} ({name}): not a kind infra/k8s is expected to hold"),
            };
            await task.ConfigureAwait(false);
            var what = $"{((IKubernetesObject)obj).Kind.ToLowerInvariant()}/{(meta.NamespaceProperty is null ? string.Empty : meta.NamespaceProperty + "/")}{name}";
            log.WriteLine($"  applied {what}");
            applied.Add(what);
        }

        return applied;
    }

    /// <summary>The typed objects of infra/k8s/*.yaml, images pointed at the registry when one is given.</summary>
    public IReadOnlyList<object> LoadManifests()
    {
        var dir = Path.Combine(options.InfraDirectory, "k8s");
        var objects = new List<object>();
        foreach (var file in Directory.GetFiles(dir, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").Order(StringComparer.Ordinal))
        {
            objects.AddRange(KubernetesYaml.LoadAllFromString(File.ReadAllText(file)));
        }

        if (options.Registry is { Length: > 0 } registry)
        {
            foreach (var d in objects.OfType<V1Deployment>())
            {
                foreach (var c in d.Spec.Template.Spec.Containers)
                {
                    c.Image = $"{registry.TrimEnd('/')}/{c.Image}";
                }
            }
        }

        // Namespaces first, so the namespaced objects have somewhere to go.
        return [.. objects.OrderBy(o => o is V1Namespace ? 0 : 1)];
    }

    private async Task WaitReadyAsync(IKubernetes client, CancellationToken ct)
    {
        var deadline = time.GetTimestamp() + (long)(options.WaitTimeout.TotalSeconds * time.TimestampFrequency);
        var deployments = LoadManifests().OfType<V1Deployment>().Select(d => (d.Metadata.NamespaceProperty ?? "default", d.Metadata.Name)).ToList();
        string last = string.Empty;
        while (true)
        {
            var metrics = await MetricsStateAsync(client).ConfigureAwait(false);
            var waiting = new List<string>();
            if (metrics != "served")
            {
                waiting.Add($"metrics.k8s.io ({metrics})");
            }

            foreach (var (ns, name) in deployments)
            {
                try
                {
                    var d = await client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: ct).ConfigureAwait(false);
                    if ((d.Status?.ReadyReplicas ?? 0) < (d.Spec?.Replicas ?? 1))
                    {
                        waiting.Add($"{ns}/{name} {d.Status?.ReadyReplicas ?? 0}/{d.Spec?.Replicas ?? 1} ready");
                    }
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    waiting.Add($"{ns}/{name} not found");
                }
            }

            if (waiting.Count == 0)
            {
                log.WriteLine("  metrics are served and every workload is Ready");
                return;
            }

            var now = string.Join(", ", waiting);
            if (now != last)
            {
                log.WriteLine($"  waiting for: {now}");
                last = now;
            }

            if (time.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"not ready after {Core.Text.Durations.Format(options.WaitTimeout)}: {now}");
            }

            await Task.Delay(options.PollInterval, time, ct).ConfigureAwait(false);
        }
    }

    private static async Task<string> MetricsStateAsync(IKubernetes client)
    {
        try
        {
            var m = await client.GetKubernetesNodesMetricsAsync().ConfigureAwait(false);
            return (m.Items?.Any() ?? false) ? "served" : "no node metrics yet";
        }
        catch (HttpOperationException e)
        {
            return $"HTTP {(int)e.Response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
    }

    private async Task<bool> ClusterExistsAsync(string name, string region, CancellationToken ct)
    {
        var (code, _) = await _tools.RunAsync("eksctl", ["get", "cluster", "--name", name, "--region", region, "-o", "json"], TimeSpan.FromMinutes(2), ct, check: false, quiet: true).ConfigureAwait(false);
        return code == 0;
    }

    private IEnumerable<string> WorkloadNamespaces() =>
        LoadManifests().OfType<V1Deployment>().Select(d => d.Metadata.NamespaceProperty ?? "default").Distinct(StringComparer.Ordinal);

    private string[] KubeconfigArgs() => options.Kubeconfig is { } k ? ["--kubeconfig", k] : [];

    private Kubernetes Client()
    {
        var path = options.Kubeconfig
            ?? (options.Environment.TryGetValue("KUBECONFIG", out var env) ? env : null)
            ?? System.Environment.GetEnvironmentVariable("KUBECONFIG");
        return new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(path));
    }

    private static YamlMappingNode LoadYaml(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found (run from the repository root, or pass --infra DIR)", path);
        }

        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }
}
