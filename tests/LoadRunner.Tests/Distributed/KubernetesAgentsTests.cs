using System.Diagnostics;
using Amazon.Runtime;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Distributed;
using Constellation.Runs;
using Constellation.Tests;
using Constellation.Testing.FakeKubernetes;
using k8s;
using k8s.Models;

namespace Constellation.LoadRunner.Tests.Distributed;

/// <summary>
/// Agents as a Kubernetes Indexed Job: the coordinator creates the Job through the real KubernetesClient against
/// the fake API server; a stand-in kubelet in the test starts one agent process per index with the pod's args and
/// environment (JOB_COMPLETION_INDEX as Kubernetes sets it) and reports the pods' phases back to the API server.
/// The exchange is S3 (s3rver) when scripts/test.sh started one, a folder otherwise.
/// </summary>
public sealed class KubernetesAgentsTests : IAsyncLifetime
{
    private static readonly BasicAWSCredentials S3rverCredentials = new("S3RVER", "S3RVER");
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-k8s-agents-").FullName;
    private FakeKubernetesServer _server = null!;
    private TestTarget _target = null!;

    private static string Manifest => Path.Combine(Constellation.Tests.Repo.Root, "infra", "k8s", "loadrunner", "agents-job.yaml");

    public async ValueTask InitializeAsync()
    {
        _server = await FakeKubernetesServer.StartAsync();
        _target = await TestTarget.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TheJob_IsTheManifestSizedForTheRun()
    {
        var options = new KubernetesAgentOptions { Manifest = Manifest, Cpu = "3", Memory = "2Gi", Image = "registry.example/loadrunner:1.2", Environment = new Dictionary<string, string> { ["AWS_REGION"] = "eu-central-1" } };

        var job = KubernetesJobLauncher.BuildJob(File.ReadAllText(Manifest), "20261125-020000-Nightly-ab12", 4, "s3://runs/constellation/runs/r/agents", options);

        job.Metadata.Name.ShouldBe("constellation-agents-20261125-020000-nightly-ab12");
        job.Metadata.NamespaceProperty.ShouldBe("constellation");
        job.Spec.CompletionMode.ShouldBe("Indexed");
        job.Spec.Completions.ShouldBe(4);
        job.Spec.Parallelism.ShouldBe(4);
        job.Spec.BackoffLimit.ShouldBe(0);
        var container = job.Spec.Template.Spec.Containers.Single();
        container.Image.ShouldBe("registry.example/loadrunner:1.2");
        container.Args.ShouldBe(["agent", "--exchange", "s3://runs/constellation/runs/r/agents"]);
        container.Env.Single(e => e.Name == "JOB_COMPLETION_INDEX").ValueFrom.FieldRef.FieldPath.ShouldBe("metadata.annotations['batch.kubernetes.io/job-completion-index']");
        container.Env.Single(e => e.Name == "AWS_REGION").Value.ShouldBe("eu-central-1"); // the option replaces the manifest's
        container.Resources.Requests["cpu"].ToString().ShouldBe("3");
        container.Resources.Limits["memory"].ToString().ShouldBe("2Gi");

        var defaults = KubernetesJobLauncher.BuildJob(File.ReadAllText(Manifest), "r", 2, "s3://b/p", new KubernetesAgentOptions { Manifest = Manifest });
        defaults.Spec.Template.Spec.Containers.Single().Resources.Requests["cpu"].ToString().ShouldBe("2"); // the manifest's own
        defaults.Spec.Template.Spec.Containers.Single().Image.ShouldBe("constellation/loadrunner:0.1.0");
    }

    [Fact]
    public async Task ARunOnAnIndexedJob_CreatesTheJob_MergesItsAgents_AndDeletesIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var endpoint = Environment.GetEnvironmentVariable("CONSTELLATION_TEST_S3_ENDPOINT");
        var prefix = $"agents-{Guid.NewGuid():N}";
        Func<string, string, IExchange> exchange = string.IsNullOrEmpty(endpoint)
            ? (_, _) => new FolderExchange(Path.Combine(_dir, "exchange"))
            : (_, _) => new S3Exchange(Reports.Stores.S3Clients.Create("us-east-1", new Uri(endpoint), S3rverCredentials), "constellation-test", prefix);
        var environment = new Dictionary<string, string>();
        if (!string.IsNullOrEmpty(endpoint))
        {
            environment["CONSTELLATION_S3_ENDPOINT"] = endpoint;
        }

        var kubeconfig = _server.WriteKubeconfig(Path.Combine(_dir, "kube"));
        var options = new KubernetesAgentOptions { Manifest = Manifest, Kubeconfig = kubeconfig, Namespace = "load", Cpu = "1", Memory = "512Mi", Environment = environment };
        var plan = PlanLoader.Parse($"""
            name: on-kubernetes
            targets:
              web: {"{"} baseUrl: "{_target.BaseUrl}" {"}"}
            scenarios:
              - name: steady
                target: web
                request: {"{"} path: /ok, headers: {"{"} Authorization: "Bearer k8s-s3cret" {"}"} {"}"}
                load: {"{"} model: open, rate: 90, duration: 3s {"}"}
            """).Plan!;
        using var kubelet = new StandInKubelet(_server, kubeconfig, _dir);
        var kubeletTask = kubelet.RunAsync(ct);

        var outcome = await new RunPipeline(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).RunAsync(
            plan,
            new RunOptions
            {
                OutputRoot = _dir,
                RunId = "k8s-run",
                Agents = new AgentRunOptions
                {
                    Distribution = new DistributionOptions { Weights = [1, 1, 1], StartLead = TimeSpan.FromSeconds(8) },
                    Launcher = _ => new KubernetesJobLauncher(options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System),
                    Exchange = exchange,
                },
            },
            ct);
        await kubelet.StopAsync();
        await kubeletTask;

        var record = outcome.Record;
        record.Status.ShouldBe(RunStatus.Completed, record.Error);
        record.Scenarios.Single().Seconds.Sum(s => s.Started).ShouldBe(270);
        var d = record.Distribution.ShouldNotBeNull();
        d.Mode.ShouldBe("kubernetes");
        d.Exchange.ShouldStartWith(string.IsNullOrEmpty(endpoint) ? "/" : $"s3://constellation-test/{prefix}");
        d.Agents.Select(a => (a.State, a.Requests)).ShouldBe([(AgentState.Completed, 90L), (AgentState.Completed, 90L), (AgentState.Completed, 90L)], string.Join("\n", d.Agents.Select(a => $"agent {a.Index}: {a.Error}").Concat(Directory.GetFiles(_dir, "pod-*.log").Select(File.ReadAllText))));

        // The Job as the API server got it: Indexed, sized for three, the index from the annotation, the resources asked.
        var job = kubelet.Job.ShouldNotBeNull();
        job.Metadata.NamespaceProperty.ShouldBe("load");
        job.Spec.CompletionMode.ShouldBe("Indexed");
        job.Spec.Completions.ShouldBe(3);
        job.Spec.Parallelism.ShouldBe(3);
        var container = job.Spec.Template.Spec.Containers.Single();
        container.Env.ShouldContain(e => e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']");
        container.Resources.Requests["cpu"].ToString().ShouldBe("1");
        container.Resources.Limits["memory"].ToString().ShouldBe("512Mi");
        _server.Applied.ShouldContain(a => a.Resource == "jobs" && a.Name == job.Metadata.Name && a.FieldManager == "constellation");
        _server.Deleted.ShouldContain(("jobs", "load", job.Metadata.Name, "Background"));

        // No agent outlives its run: a deadline and a time to live on the Job.
        job.Spec.ActiveDeadlineSeconds.ShouldNotBeNull().ShouldBeGreaterThan(3);
        job.Spec.TtlSecondsAfterFinished.ShouldBe(3600);

        // The plan's secret reached the pods as a Kubernetes Secret (envFrom), and the Secret is gone with the run.
        var secret = container.EnvFrom.ShouldHaveSingleItem().SecretRef.Name;
        _server.Applied.ShouldContain(a => a.Resource == "secrets" && a.Name == secret && a.Namespace == "load");
        _server.Deleted.ShouldContain(d => d.Resource == "secrets" && d.Name == secret);
        kubelet.SecretValues.ShouldContain("Bearer k8s-s3cret");
        kubelet.Started.ShouldBe(3);
    }

    /// <summary>
    /// Plays the Job controller and the kubelet for the one Job the run creates: a process per index running the
    /// container's args with JOB_COMPLETION_INDEX set, and a pod object per index whose phase follows the process.
    /// </summary>
    private sealed class StandInKubelet(FakeKubernetesServer server, string kubeconfig, string dir) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Process> _processes = [];

        public V1Job? Job { get; private set; }

        /// <summary>The values of the Secrets the pods loaded through envFrom.</summary>
        public List<string> SecretValues { get; } = [];
        public int Started => _processes.Count;

        public async Task RunAsync(CancellationToken ct)
        {
            using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
            try
            {
                while (Job is null)
                {
                    var applied = server.Applied.LastOrDefault(a => a.Resource == "jobs");
                    if (applied.Name is not null)
                    {
                        Job = await client.BatchV1.ReadNamespacedJobAsync(applied.Name, applied.Namespace, cancellationToken: linked.Token);
                    }
                    else
                    {
                        await Task.Delay(50, linked.Token);
                    }
                }

                var container = Job.Spec.Template.Spec.Containers.Single();
                var fromSecrets = new Dictionary<string, string>();
                foreach (var source in container.EnvFrom ?? [])
                {
                    var secret = await client.CoreV1.ReadNamespacedSecretAsync(source.SecretRef.Name, Job.Metadata.NamespaceProperty, cancellationToken: linked.Token);
                    foreach (var (k, v) in secret.StringData ?? new Dictionary<string, string>())
                    {
                        fromSecrets[k] = v;
                    }

                    foreach (var (k, v) in secret.Data ?? new Dictionary<string, byte[]>())
                    {
                        fromSecrets[k] = System.Text.Encoding.UTF8.GetString(v);
                    }
                }

                SecretValues.AddRange(fromSecrets.Values);
                var dll = Path.Combine(AppContext.BaseDirectory, "constellation.dll"); // the CLI, built beside the tests
                for (int i = 0; i < Job.Spec.Completions; i++)
                {
                    var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
                    info.ArgumentList.Add(dll);
                    foreach (var a in container.Args)
                    {
                        info.ArgumentList.Add(a);
                    }

                    foreach (var e in container.Env.Where(e => e.Value is not null))
                    {
                        info.Environment[e.Name] = e.Value;
                    }

                    foreach (var (k, v) in fromSecrets)
                    {
                        info.Environment[k] = v;
                    }

                    info.Environment["JOB_COMPLETION_INDEX"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    info.Environment["AWS_ACCESS_KEY_ID"] = "S3RVER";
                    info.Environment["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
                    var p = Process.Start(info)!;
                    var log = Path.Combine(dir, $"pod-{i}.log");
                    _ = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
                    _ = p.StandardError.ReadToEndAsync(CancellationToken.None).ContinueWith(t => File.WriteAllText(log, t.Result), TaskScheduler.Default);
                    _processes.Add(p);
                    Pod(i, "Running", null);
                }

                while (!linked.IsCancellationRequested)
                {
                    for (int i = 0; i < _processes.Count; i++)
                    {
                        if (_processes[i].HasExited)
                        {
                            Pod(i, _processes[i].ExitCode == 0 ? "Succeeded" : "Failed", _processes[i].ExitCode);
                        }
                    }

                    await Task.Delay(200, linked.Token);
                }
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
            }
        }

        public async Task StopAsync() => await _stop.CancelAsync();

        public void Dispose()
        {
            foreach (var p in _processes)
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }

                p.Dispose();
            }

            _stop.Dispose();
        }

        private void Pod(int index, string phase, int? exitCode) => server.Apply(new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = $"{Job!.Metadata.Name}-{index}",
                NamespaceProperty = Job.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { ["job-name"] = Job.Metadata.Name, ["batch.kubernetes.io/job-completion-index"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            },
            Status = new V1PodStatus
            {
                Phase = phase,
                ContainerStatuses = exitCode is { } code ? [new V1ContainerStatus { Name = "agent", Image = "x", ImageID = "x", Ready = false, RestartCount = 0, State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = code, Reason = code == 0 ? "Completed" : "Error" } } }] : null,
            },
        });
    }
}
