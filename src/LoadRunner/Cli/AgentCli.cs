using System.CommandLine;
using System.Globalization;
using Constellation.Core.Plans;
using Constellation.Core.Text;
using Constellation.Runs.Distributed;
using Constellation.Runs;

namespace Constellation.LoadRunner.Cli;

/// <summary>The options of <c>run</c> that spread a run over agents, and the <c>agent</c> command itself.</summary>
internal sealed class AgentRunCliOptions
{
    public Option<int?> Agents { get; } = new("--agents") { Description = "Spread the load over N agents, each taking 1/N of every scenario's arrival rate (open) or virtual users (closed), all from one common UTC start; their seconds are merged exactly (histograms added), live. Locally, N agent processes." };
    public Option<string?> Weights { get; } = new("--agent-weights") { Description = "Unequal shares, one positive integer per agent, e.g. 2,1,1 (the first agent takes half). Implies --agents." };
    public Option<string> On { get; } = new("--agents-on") { Description = "Where the agents run: local (processes on this machine) or kubernetes (an Indexed Job created from --agent-manifest; needs an S3 --exchange).", DefaultValueFactory = _ => "local" };
    public Option<bool> Pin { get; } = new("--pin-agents") { Description = "local: pin agent I to core I mod cores (taskset), so agents do not compete for a core." };
    public Option<string?> Prefix { get; } = new("--agent-prefix") { Description = "local: start each agent through this command, {index} replaced by its index, e.g. 'nice -n 5' or a script that puts it in a cgroup." };
    public Option<string?> Exchange { get; } = new("--exchange") { Description = "Where the agents write their seconds and read the coordinator's instructions: a folder, or s3://BUCKET/PREFIX. Default: the run's agents/ folder locally; s3://<--s3-bucket>/<--s3-prefix>/<run-id>/agents on Kubernetes." };
    public Option<string?> StartLead { get; } = new("--agent-start-lead") { Description = "Time between handing out the assignment and the common start, for every agent to be up. Default: 5s local, 3m kubernetes (pods may wait for a node)." };
    public Option<string> LostAfter { get; } = new("--agent-lost-after") { Description = "An agent that reports nothing for this long is lost: its share is recorded as missing and the run is invalid (exit 3).", DefaultValueFactory = _ => "10s" };
    public Option<string> Manifest { get; } = new("--agent-manifest") { Description = "kubernetes: the Indexed Job manifest for the agents.", DefaultValueFactory = _ => Path.Combine("infra", "k8s", "loadrunner", "agents-job.yaml") };
    public Option<string?> Image { get; } = new("--agent-image") { Description = "kubernetes: the LoadRunner image for the agents. Default: the manifest's." };
    public Option<string?> Cpu { get; } = new("--agent-cpu") { Description = "kubernetes: CPU request and limit per agent, e.g. 2. Default: the manifest's." };
    public Option<string?> Memory { get; } = new("--agent-memory") { Description = "kubernetes: memory request and limit per agent, e.g. 1Gi. Default: the manifest's." };
    public Option<string?> Namespace { get; } = new("--agent-namespace") { Description = "kubernetes: where the Job goes. Default: the manifest's." };
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = "kubernetes: the kubeconfig. Default: $KUBECONFIG, then ~/.kube/config." };
    public Option<bool> InCluster { get; } = new("--in-cluster") { Description = "kubernetes: use the pod's service account (the coordinator runs in the cluster)." };

    public IEnumerable<Option> All => [Agents, Weights, On, Pin, Prefix, Exchange, StartLead, LostAfter, Manifest, Image, Cpu, Memory, Namespace, Kubeconfig, InCluster];

    /// <summary>
    /// The distributed-run options from the command line, or null for a one-process run; an error message
    /// (exit 2) when they do not fit together or with the plan.
    /// </summary>
    public (AgentRunOptions? Options, string? Error) Read(ParseResult pr, Plan plan, string? s3Bucket, string s3Prefix, Uri? s3Endpoint, string? s3Region, Microsoft.Extensions.Logging.ILogger log, TimeProvider time)
    {
        var count = pr.GetValue(Agents);
        var weightsText = pr.GetValue(Weights);
        if (count is null && weightsText is null)
        {
            return (null, null);
        }

        List<int> weights;
        if (weightsText is not null)
        {
            var parts = weightsText.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Any(p => !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var w) || w < 1 || w > 1000))
            {
                return (null, $"--agent-weights must be positive integers up to 1000 separated by commas, e.g. 2,1,1, got '{weightsText}'");
            }

            weights = [.. parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
            if (count is { } n && n != weights.Count)
            {
                return (null, $"--agents {n} but --agent-weights gives {weights.Count} weights");
            }
        }
        else
        {
            weights = [.. Enumerable.Repeat(1, count!.Value)];
        }

        if (weights.Count is < 1 or > 100)
        {
            return (null, $"--agents must be between 1 and 100, got {weights.Count}");
        }

        var mode = pr.GetValue(On)!.ToLowerInvariant();
        if (mode is not ("local" or "kubernetes"))
        {
            return (null, $"--agents-on must be local or kubernetes, got '{pr.GetValue(On)}'");
        }

        if (!Durations.TryParse(pr.GetValue(LostAfter), out var lostAfter) || lostAfter < TimeSpan.FromSeconds(2))
        {
            return (null, $"--agent-lost-after must be a duration of at least 2s, got '{pr.GetValue(LostAfter)}'");
        }

        var lead = mode == "local" ? TimeSpan.FromSeconds(5) : TimeSpan.FromMinutes(3);
        if (pr.GetValue(StartLead) is { } leadText && (!Durations.TryParse(leadText, out lead) || lead < TimeSpan.FromSeconds(1) || lead > TimeSpan.FromMinutes(30)))
        {
            return (null, $"--agent-start-lead must be a duration from 1s to 30m, got '{leadText}'");
        }

        if (plan.SourceText is null)
        {
            return (null, "a distributed run needs the plan's text");
        }

        var distribution = new DistributionOptions { Weights = weights, StartLead = lead, LostAfter = lostAfter };
        var exchangeText = pr.GetValue(Exchange);
        var s3Environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (s3Endpoint is not null)
        {
            s3Environment["CONSTELLATION_S3_ENDPOINT"] = s3Endpoint.ToString();
        }

        if (s3Region is not null)
        {
            s3Environment["AWS_REGION"] = s3Region;
        }

        Func<string, string, IExchange>? exchange = exchangeText is null ? null : (_, _) => IExchange.Open(exchangeText, s3Endpoint, s3Region);
        if (mode == "local")
        {
            var pin = pr.GetValue(Pin);
            IReadOnlyList<string> prefix = pr.GetValue(Prefix)?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
            return (new AgentRunOptions
            {
                Distribution = distribution,
                Launcher = dir => new LocalAgentLauncher(Path.Combine(dir, "logs"), pin, log, s3Environment, prefix),
                Exchange = exchange,
            }, null);
        }

        if (plan.Targets.Values.FirstOrDefault(t => t.Launch is not null) is { } launched)
        {
            return (null, $"target '{launched.Name}' is launched on this machine: agents in Kubernetes cannot reach it; give it a url the cluster can reach");
        }

        if (exchangeText is not null && !exchangeText.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "--agents-on kubernetes needs an S3 exchange (s3://BUCKET/PREFIX): the agents' pods cannot see this machine's folders");
        }

        if (exchangeText is null && s3Bucket is null)
        {
            return (null, "--agents-on kubernetes needs somewhere the agent pods and this coordinator both reach: give --s3-bucket (or --exchange s3://BUCKET/PREFIX)");
        }

        var manifest = pr.GetValue(Manifest)!;
        if (!File.Exists(manifest))
        {
            return (null, $"--agent-manifest '{manifest}' does not exist");
        }

        exchange ??= (_, runId) => IExchange.Open($"s3://{s3Bucket}/{s3Prefix.Trim('/')}/{runId}/agents", s3Endpoint, s3Region);
        var k8s = new KubernetesAgentOptions
        {
            Manifest = manifest,
            Kubeconfig = pr.GetValue(Kubeconfig),
            InCluster = pr.GetValue(InCluster),
            Namespace = pr.GetValue(Namespace),
            Image = pr.GetValue(Image),
            Cpu = pr.GetValue(Cpu),
            Memory = pr.GetValue(Memory),
            Environment = s3Environment,
        };
        return (new AgentRunOptions
        {
            Distribution = distribution,
            Launcher = _ => new KubernetesJobLauncher(k8s, log, time),
            Exchange = exchange,
        }, null);
    }

    /// <summary><c>constellation agent</c>: one agent of a distributed run, started by the coordinator (a process or a Job's pod).</summary>
    public static Command AgentCommand(CliContext ctx)
    {
        var exchange = new Option<string>("--exchange") { Description = "Where the run's assignment is and the seconds go: a folder or s3://BUCKET/PREFIX.", Required = true };
        var index = new Option<int?>("--index") { Description = "This agent's index, 0-based. Default: $JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job)." };
        var wait = new Option<string>("--wait") { Description = "How long to wait for the assignment.", DefaultValueFactory = _ => "2m" };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "An S3-compatible endpoint for an s3:// exchange. Default: $CONSTELLATION_S3_ENDPOINT.", DefaultValueFactory = _ => System.Environment.GetEnvironmentVariable("CONSTELLATION_S3_ENDPOINT") };
        var s3Region = new Option<string?>("--s3-region") { Description = "AWS region. Default: $AWS_REGION, else us-east-1." };
        var watchStdin = new Option<bool>("--watch-stdin") { Description = "Stop, write this agent's share and exit when standard input closes: the coordinator that started it is gone (local agents get it)." };
        var cmd = new Command("agent", "One agent of a distributed run (started by 'run --agents N'; you rarely start it yourself): takes its share of the load from the common start and streams its seconds to the exchange. It stops on its own when its coordinator's heartbeat stands still for the lease.") { exchange, index, wait, s3Endpoint, s3Region, watchStdin };
        cmd.SetAction(async (pr, ct) =>
        {
            var i = pr.GetValue(index);
            if (i is null && int.TryParse(ctx.Environment("JOB_COMPLETION_INDEX"), NumberStyles.None, CultureInfo.InvariantCulture, out var fromJob))
            {
                i = fromJob;
            }

            if (i is not >= 0)
            {
                ctx.Error.WriteLine("error: give --index or set JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it)");
                return ExitCodes.InvalidInput;
            }

            if (!Durations.TryParse(pr.GetValue(wait), out var waitFor) || waitFor <= TimeSpan.Zero)
            {
                ctx.Error.WriteLine($"error: --wait must be a duration, got '{pr.GetValue(wait)}'");
                return ExitCodes.InvalidInput;
            }

            Uri? endpoint = null;
            if (pr.GetValue(s3Endpoint) is { Length: > 0 } text && !Uri.TryCreate(text, UriKind.Absolute, out endpoint))
            {
                ctx.Error.WriteLine($"error: --s3-endpoint must be an absolute URL, got '{text}'");
                return ExitCodes.InvalidInput;
            }

            using var store = IExchange.Open(pr.GetValue(exchange)!, endpoint, pr.GetValue(s3Region));
            var coordinatorGone = pr.GetValue(watchStdin) ? Constellation.Runs.Local.ParentWatch.WhenStdinCloses() : CancellationToken.None;
            return await new AgentWorker(ctx.Time, ctx.Log).RunAsync(store, i.Value, waitFor, ctx.Cancel, ctx.Abort, coordinatorGone).ConfigureAwait(false) == 0
                ? ExitCodes.Ok
                : ExitCodes.RuntimeError;
        });
        return cmd;
    }
}
