using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;

namespace Constellation.Runs.Distributed;

/// <summary>Where an agent is, as its launcher sees it.</summary>
public enum AgentProcessState
{
    /// <summary>Not running yet (a pod being scheduled, an image being pulled).</summary>
    Starting,
    Running,

    /// <summary>Ended; <see cref="AgentProcessInfo.ExitCode"/> says how.</summary>
    Exited,
}

public sealed record AgentProcessInfo(AgentProcessState State, int? ExitCode = null, string? Reason = null);

/// <summary>Starts a distributed run's agents and says whether each is still there.</summary>
public interface IAgentLauncher : IAsyncDisposable
{
    /// <summary>local or kubernetes.</summary>
    string Mode { get; }

    /// <summary>
    /// Starts <paramref name="agents"/> agents that read their assignment from <paramref name="exchange"/>, with
    /// <paramref name="secrets"/> in their environment (never in the exchange). <paramref name="deadline"/> bounds
    /// their life even if nothing stops them (a Job's activeDeadlineSeconds).
    /// </summary>
    Task StartAsync(string runId, int agents, string exchange, IReadOnlyDictionary<string, string> secrets, TimeSpan deadline, CancellationToken ct);

    AgentProcessInfo StateOf(int index);

    /// <summary>Ends whatever still runs (kills processes, deletes the Job).</summary>
    Task StopAsync(CancellationToken ct);
}

/// <summary>
/// Agents as processes on this machine: <c>dotnet constellation.dll agent --exchange DIR --index I</c>, each with
/// its output in logs/agent-I.log; optionally each pinned to its own core (taskset), and optionally started
/// through a command prefix ({index} is replaced by the agent's index: nice, numactl, a cgroup wrapper).
/// </summary>
public sealed class LocalAgentLauncher(string logDirectory, bool pin, ILogger log, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? prefix = null) : IAgentLauncher
{
    private readonly List<(Process Process, StreamWriter Log)> _agents = [];

    public string Mode => "local";

    public Task StartAsync(string runId, int agents, string exchange, IReadOnlyDictionary<string, string> secrets, TimeSpan deadline, CancellationToken ct)
    {
        Directory.CreateDirectory(logDirectory);
        var (host, dll) = Command();
        var taskset = pin ? FindOnPath("taskset") : null;
        if (pin && taskset is null)
        {
            log.NoTaskset();
        }

        for (int i = 0; i < agents; i++)
        {
            var index = i.ToString(CultureInfo.InvariantCulture);
            var command = new List<string>();
            command.AddRange((prefix ?? []).Select(p => p.Replace("{index}", index, StringComparison.Ordinal)));
            if (taskset is not null)
            {
                command.AddRange([taskset, "-c", (i % System.Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture)]);
            }

            command.Add(host);
            command.AddRange(dll);
            // --watch-stdin: the agent stops when this process's end of the pipe closes — also when it is killed.
            command.AddRange(["agent", "--exchange", exchange, "--index", index, "--watch-stdin"]);
            var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in command.Skip(1))
            {
                info.ArgumentList.Add(a);
            }

            foreach (var (k, v) in (environment ?? new Dictionary<string, string>()).Concat(secrets))
            {
                info.Environment[k] = v;
            }

            var writer = new StreamWriter(Path.Combine(logDirectory, $"agent-{i}.log")) { AutoFlush = true };
            var process = new Process { StartInfo = info, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => Write(writer, e.Data);
            process.ErrorDataReceived += (_, e) => Write(writer, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _agents.Add((process, writer));
        }

        log.LocalAgentsStarted(agents, taskset is null ? string.Empty : ", each pinned to one core", logDirectory);
        return Task.CompletedTask;
    }

    /// <summary>Kills agent <paramref name="index"/> at once (tests use it to lose an agent mid-run).</summary>
    public void Kill(int index) => _agents[index].Process.Kill(entireProcessTree: true);

    /// <summary>The process id of agent <paramref name="index"/>.</summary>
    public int ProcessId(int index) => _agents[index].Process.Id;

    public AgentProcessInfo StateOf(int index)
    {
        var p = _agents[index].Process;
        return p.HasExited ? new AgentProcessInfo(AgentProcessState.Exited, p.ExitCode, p.ExitCode == 0 ? null : $"exited with code {p.ExitCode}") : new AgentProcessInfo(AgentProcessState.Running);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        foreach (var (p, _) in _agents.Where(a => !a.Process.HasExited))
        {
            p.Kill(entireProcessTree: true);
        }

        foreach (var (p, w) in _agents)
        {
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
            await w.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var (p, w) in _agents)
        {
            p.Dispose();
            await w.DisposeAsync().ConfigureAwait(false);
        }

        _agents.Clear();
    }

    private static void Write(StreamWriter writer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (writer)
        {
            writer.WriteLine(line);
        }
    }

    /// <summary>Overrides where the constellation CLI (constellation.dll) is found for local agents.</summary>
    public const string CliPathVariable = "CONSTELLATION_CLI";

    /// <summary>How to start the tool again: the dotnet host and the CLI's assembly (an agent is the same program).</summary>
    private static (string Host, IReadOnlyList<string> Prefix) Command()
    {
        var dll = Local.SiblingBuild.Find("Constellation.LoadRunner", "constellation.dll", CliPathVariable, message => new InvalidOperationException(message));
        var host = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h
            : System.Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p
            : "dotnet";
        return (host, [dll]);
    }

    private static string? FindOnPath(string name) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>What the Kubernetes agents look like beyond the manifest: image, resources, namespace.</summary>
public sealed record KubernetesAgentOptions
{
    /// <summary>The Job manifest (an Indexed Job template): infra/k8s/loadrunner/agents-job.yaml.</summary>
    public required string Manifest { get; init; }

    public string? Kubeconfig { get; init; }
    public string? Context { get; init; }

    /// <summary>Use the pod's service account (the coordinator itself runs in the cluster).</summary>
    public bool InCluster { get; init; }

    /// <summary>Default: the manifest's.</summary>
    public string? Namespace { get; init; }

    /// <summary>Default: the manifest's.</summary>
    public string? Image { get; init; }

    /// <summary>CPU request and limit of each agent, e.g. "2"; default: the manifest's.</summary>
    public string? Cpu { get; init; }

    /// <summary>Memory request and limit of each agent, e.g. "1Gi"; default: the manifest's.</summary>
    public string? Memory { get; init; }

    /// <summary>Extra environment for the agents (AWS_REGION, the S3 endpoint).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Agents as a Kubernetes Indexed Job created through KubernetesClient (server-side apply) from the manifest in
/// infra/k8s/: completions = parallelism = N, one pod per index, each reading its index from
/// JOB_COMPLETION_INDEX. The pods are polled to tell a failed agent from a slow one; the Job is deleted at the end.
/// </summary>
public sealed class KubernetesJobLauncher(KubernetesAgentOptions options, ILogger log, TimeProvider time) : IAgentLauncher
{
    public const string FieldManager = "constellation";
    private const string IndexLabel = "batch.kubernetes.io/job-completion-index";

    private readonly Dictionary<int, AgentProcessInfo> _states = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopPolling = new();
    private IKubernetes? _client;
    private Task? _poller;
    private string _namespace = "default";
    private string? _secretName;

    /// <summary>How long one Kubernetes API call may take before it is given up (and retried where that helps).</summary>
    public TimeSpan ApiTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public string Mode => "kubernetes";

    /// <summary>The Job's name, once created.</summary>
    public string? JobName { get; private set; }

    /// <summary>How long a finished Job (and its pods' logs) stays before Kubernetes deletes it, if the coordinator could not.</summary>
    public static readonly TimeSpan TimeToLiveAfterFinished = TimeSpan.FromHours(1);

    /// <summary>
    /// The Indexed Job for a run: the manifest with the run's name, size, exchange, image and resources, a deadline
    /// (activeDeadlineSeconds) and a time to live, and the run's secrets from a Kubernetes Secret (envFrom).
    /// </summary>
    public static V1Job BuildJob(string manifestYaml, string runId, int agents, string exchange, KubernetesAgentOptions options, TimeSpan? deadline = null, string? secretName = null)
    {
        var job = KubernetesYaml.LoadAllFromString(manifestYaml).OfType<V1Job>().SingleOrDefault()
            ?? throw new InvalidOperationException("the agents manifest must hold exactly one batch/v1 Job");
        var suffix = new string([.. runId.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '-')]).Trim('-');
        var name = $"constellation-agents-{suffix}";
        job.Metadata.Name = name.Length > 63 ? name[..63].TrimEnd('-') : name;
        job.Metadata.GenerateName = null;
        job.Metadata.NamespaceProperty = options.Namespace ?? job.Metadata.NamespaceProperty ?? "default";
        job.Metadata.Labels ??= new Dictionary<string, string>();
        job.Metadata.Labels["constellation.dev/run-id"] = Label(runId);
        job.Spec.CompletionMode = "Indexed";
        job.Spec.Completions = agents;
        job.Spec.Parallelism = agents;
        job.Spec.BackoffLimit = 0; // a restarted agent would miss the common start: it fails and its share is reported missing
        if (deadline is { } d)
        {
            job.Spec.ActiveDeadlineSeconds = (long)Math.Ceiling(d.TotalSeconds); // no agent outlives its run, whatever happens to the coordinator
        }

        job.Spec.TtlSecondsAfterFinished = (int)TimeToLiveAfterFinished.TotalSeconds;
        var pod = job.Spec.Template.Spec;
        pod.RestartPolicy = "Never";
        var container = pod.Containers.FirstOrDefault(c => c.Name == "agent") ?? pod.Containers[0];
        if (options.Image is { } image)
        {
            container.Image = image;
        }

        container.Args = ["agent", "--exchange", exchange];
        container.Env ??= [];
        container.Env = [.. container.Env.Where(e => e.Name != "JOB_COMPLETION_INDEX" && !options.Environment.ContainsKey(e.Name))];
        container.Env.Add(new V1EnvVar { Name = "JOB_COMPLETION_INDEX", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = $"metadata.annotations['{IndexLabel}']" } } });
        foreach (var (k, v) in options.Environment)
        {
            container.Env.Add(new V1EnvVar { Name = k, Value = v });
        }

        if (secretName is not null)
        {
            container.EnvFrom = [.. container.EnvFrom ?? [], new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = secretName } }];
        }

        container.Resources ??= new V1ResourceRequirements();
        container.Resources.Requests ??= new Dictionary<string, ResourceQuantity>();
        container.Resources.Limits ??= new Dictionary<string, ResourceQuantity>();
        if (options.Cpu is { } cpu)
        {
            container.Resources.Requests["cpu"] = new ResourceQuantity(cpu);
            container.Resources.Limits["cpu"] = new ResourceQuantity(cpu);
        }

        if (options.Memory is { } memory)
        {
            container.Resources.Requests["memory"] = new ResourceQuantity(memory);
            container.Resources.Limits["memory"] = new ResourceQuantity(memory);
        }

        return job;
    }

    public async Task StartAsync(string runId, int agents, string exchange, IReadOnlyDictionary<string, string> secrets, TimeSpan deadline, CancellationToken ct)
    {
        var manifest = await File.ReadAllTextAsync(options.Manifest, ct).ConfigureAwait(false);
        var job = BuildJob(manifest, runId, agents, exchange, options, deadline);
        _namespace = job.Metadata.NamespaceProperty;
        JobName = job.Metadata.Name;
        var config = options.InCluster ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig, options.Context);
        _client = new Kubernetes(config);
        for (int i = 0; i < agents; i++)
        {
            _states[i] = new AgentProcessInfo(AgentProcessState.Starting);
        }

        if (secrets.Count > 0)
        {
            // The run's secrets reach the pods as a Secret (envFrom), never through the exchange.
            _secretName = $"{JobName}-secrets"[..Math.Min(JobName.Length + 8, 253)];
            job = BuildJob(manifest, runId, agents, exchange, options, deadline, _secretName);
            var secret = new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta { Name = _secretName, NamespaceProperty = _namespace, Labels = job.Metadata.Labels },
                Type = "Opaque",
                StringData = secrets.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            };
            using var secretDeadline = WithApiTimeout(ct);
            await _client.CoreV1.PatchNamespacedSecretAsync(
                new V1Patch(KubernetesJson.Serialize(secret), V1Patch.PatchType.ApplyPatch), _secretName, _namespace, fieldManager: FieldManager, force: true, cancellationToken: secretDeadline.Token).ConfigureAwait(false);
        }

        using var jobDeadline = WithApiTimeout(ct);
        await _client.BatchV1.PatchNamespacedJobAsync(
            new V1Patch(KubernetesJson.Serialize(job), V1Patch.PatchType.ApplyPatch), JobName, _namespace, fieldManager: FieldManager, force: true, cancellationToken: jobDeadline.Token).ConfigureAwait(false);
        log.JobCreated(_namespace, JobName, agents, job.Spec.Template.Spec.Containers[0].Image);
        _poller = Task.Run(() => PollPodsAsync(_stopPolling.Token), CancellationToken.None);
    }

    public AgentProcessInfo StateOf(int index)
    {
        lock (_lock)
        {
            return _states.GetValueOrDefault(index) ?? new AgentProcessInfo(AgentProcessState.Starting);
        }
    }

    public async Task StopAsync(CancellationToken ct)
    {
        await _stopPolling.CancelAsync().ConfigureAwait(false);
        if (_poller is not null)
        {
            await _poller.ConfigureAwait(false);
        }

        if (_client is null || JobName is null)
        {
            return;
        }

        try
        {
            using var deleteDeadline = WithApiTimeout(ct);
            await _client.BatchV1.DeleteNamespacedJobAsync(JobName, _namespace, propagationPolicy: "Background", cancellationToken: deleteDeadline.Token).ConfigureAwait(false);
            log.JobDeleted(_namespace, JobName);
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            log.JobNotDeleted(_namespace, JobName, e.Message);
        }

        if (_secretName is not null)
        {
            try
            {
                using var deleteDeadline = WithApiTimeout(ct);
                await _client.CoreV1.DeleteNamespacedSecretAsync(_secretName, _namespace, cancellationToken: deleteDeadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException)
            {
                log.JobNotDeleted(_namespace, _secretName, e.Message);
            }

            _secretName = null;
        }

        JobName = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _client?.Dispose();
        _stopPolling.Dispose();
    }

    private async Task PollPodsAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var listDeadline = WithApiTimeout(stop);
                var pods = await _client!.CoreV1.ListNamespacedPodAsync(_namespace, labelSelector: $"job-name={JobName}", cancellationToken: listDeadline.Token).ConfigureAwait(false);
                lock (_lock)
                {
                    foreach (var pod in pods.Items)
                    {
                        if (pod.Metadata.Labels?.TryGetValue(IndexLabel, out var text) != true || !int.TryParse(text, CultureInfo.InvariantCulture, out var index))
                        {
                            continue;
                        }

                        var terminated = pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated;
                        _states[index] = pod.Status?.Phase switch
                        {
                            "Succeeded" => new AgentProcessInfo(AgentProcessState.Exited, 0),
                            "Failed" => new AgentProcessInfo(AgentProcessState.Exited, terminated?.ExitCode ?? 1, $"pod {pod.Metadata.Name} failed: {terminated?.Reason ?? pod.Status?.Reason ?? "unknown"}{(terminated?.Message is { } m ? " — " + m : string.Empty)}"),
                            "Running" => new AgentProcessInfo(AgentProcessState.Running),
                            _ => new AgentProcessInfo(AgentProcessState.Starting),
                        };
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(2), time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException)
            {
                log.PodListFailed(e.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private CancellationTokenSource WithApiTimeout(CancellationToken ct)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(ApiTimeout);
        return deadline;
    }

    private static string Label(string value)
    {
        var v = new string([.. value.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')]);
        return v.Length > 63 ? v[..63] : v;
    }
}
