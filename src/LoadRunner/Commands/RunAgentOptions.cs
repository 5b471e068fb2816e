using System.CommandLine;
using System.Globalization;
using Constellation.Core.Plans;
using Constellation.LoadRunner.Cli;
using Constellation.Runs;
using Constellation.Runs.Distributed;

namespace Constellation.LoadRunner.Commands;

/// <summary>The options of <c>run</c> that spread a run over agents, parsed and checked by the parser.</summary>
internal sealed class RunAgentOptions
{
    public Option<int?> Agents { get; } = CliOptions.Integer("--agents", "Spread the load over N agents, each taking 1/N of every scenario's arrival rate (open) or virtual users (closed), all from one common UTC start; their seconds are merged exactly (histograms added), live. Locally, N agent processes.", 1, 100);

    public Option<IReadOnlyList<int>?> Weights { get; } = new("--agent-weights")
    {
        Description = "Unequal shares, one positive integer per agent, e.g. 2,1,1 (the first agent takes half). Implies --agents.",
        CustomParser = r =>
        {
            var text = r.Tokens.Count == 0 ? string.Empty : r.Tokens[^1].Value;
            var parts = text.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length is < 1 or > 100 || parts.Any(p => !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var w) || w < 1 || w > 1000))
            {
                r.AddError($"--agent-weights must be 1 to 100 positive integers up to 1000 separated by commas, e.g. 2,1,1, got '{text}'");
                return null;
            }

            return [.. parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
        },
    };

    public Option<string> On { get; } = CliOptions.OneOf("--agents-on", "Where the agents run: local (processes on this machine) or kubernetes (an Indexed Job created from --agent-manifest; needs an S3 --exchange).", "local", "local", "kubernetes");
    public Option<bool> Pin { get; } = new("--pin-agents") { Description = "local: pin agent I to core I mod cores (taskset), so agents do not compete for a core." };
    public Option<string?> Prefix { get; } = new("--agent-prefix") { Description = "local: start each agent through this command, {index} replaced by its index, e.g. 'nice -n 5' or a script that puts it in a cgroup." };
    public Option<string?> Exchange { get; } = new("--exchange") { Description = "Where the agents write their seconds and read the coordinator's instructions: a folder, or s3://BUCKET/PREFIX. Default: the run's agents/ folder locally; s3://<--s3-bucket>/<--s3-prefix>/<run-id>/agents on Kubernetes." };
    public Option<TimeSpan?> StartLead { get; } = CliOptions.OptionalDuration("--agent-start-lead", "Time between handing out the assignment and the common start, for every agent to be up. Default: 5s local, 3m kubernetes (pods may wait for a node).", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(30));
    public Option<Shown<TimeSpan>> LostAfter { get; } = CliOptions.Duration("--agent-lost-after", "An agent that reports nothing for this long is lost: its share is recorded as missing and the run is invalid (exit 3).", TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), TimeSpan.FromHours(1));
    public Option<string> Manifest { get; } = new("--agent-manifest") { Description = "kubernetes: the Indexed Job manifest for the agents.", DefaultValueFactory = _ => Path.Combine("infra", "k8s", "loadrunner", "agents-job.yaml") };
    public Option<string?> Image { get; } = new("--agent-image") { Description = "kubernetes: the LoadRunner image for the agents. Default: the manifest's." };
    public Option<string?> Cpu { get; } = new("--agent-cpu") { Description = "kubernetes: CPU request and limit per agent, e.g. 2. Default: the manifest's." };
    public Option<string?> Memory { get; } = new("--agent-memory") { Description = "kubernetes: memory request and limit per agent, e.g. 1Gi. Default: the manifest's." };
    public Option<string?> Namespace { get; } = new("--agent-namespace") { Description = "kubernetes: where the Job goes. Default: the manifest's." };
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = "kubernetes: the kubeconfig. Default: $KUBECONFIG, then ~/.kube/config." };
    public Option<bool> InCluster { get; } = new("--in-cluster") { Description = "kubernetes: use the pod's service account (the coordinator runs in the cluster)." };

    /// <summary>Adds the options to a command, with the checks that span two of them.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Agents, Weights, On, Pin, Prefix, Exchange, StartLead, LostAfter, Manifest, Image, Cpu, Memory, Namespace, Kubeconfig, InCluster })
        {
            command.Options.Add(o);
        }

        CliOptions.CrossCheck(command, LostAfter, (r, add) =>
        {
            var agents = CliOptions.ValueOf(r, Agents);
            var weights = CliOptions.ValueOf(r, Weights);
            if (agents is { } n && weights is { } w && n != w.Count)
            {
                add($"--agents {n} but --agent-weights gives {w.Count} weights");
            }

            if (CliOptions.ValueOf(r, Exchange) is { } location && IExchange.Problem(location) is { } problem)
            {
                add($"--exchange: {problem}");
            }

            if (CliOptions.ValueOf(r, Prefix)?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var program, ..] && !IsProgram(program))
            {
                add($"--agent-prefix: '{program}' is not a program on PATH or an executable file");
            }

            if (!string.Equals(CliOptions.ValueOf(r, On), "kubernetes", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }

            if (CliOptions.ValueOf(r, Exchange) is { } exchange && !exchange.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
            {
                add("--agents-on kubernetes needs an S3 exchange (s3://BUCKET/PREFIX): the agents' pods cannot see this machine's folders");
            }

            if ((agents is not null || weights is not null) && CliOptions.ValueOf(r, Manifest) is { } manifest && !File.Exists(manifest))
            {
                add($"--agent-manifest '{manifest}' does not exist");
            }
        });
    }

    /// <summary>Whether <paramref name="program"/> names an existing file, or a file in a folder on PATH.</summary>
    private static bool IsProgram(string program) =>
        program.Contains('/', StringComparison.Ordinal)
            ? File.Exists(program)
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, program)));

    /// <summary>
    /// The distributed-run options, or null for a one-process run; an error message (exit 2) when they do not fit
    /// the plan or the S3 options.
    /// </summary>
    public (AgentRunOptions? Options, string? Error) Read(ParseResult pr, Plan plan, S3Settings s3, Microsoft.Extensions.Logging.ILogger log, TimeProvider time)
    {
        var count = pr.GetValue(Agents);
        var weights = pr.GetValue(Weights) ?? (count is { } n ? [.. Enumerable.Repeat(1, n)] : null);
        if (weights is null)
        {
            return (null, null);
        }

        var kubernetes = string.Equals(pr.GetValue(On), "kubernetes", StringComparison.OrdinalIgnoreCase);
        if (plan.SourceText is null)
        {
            return (null, "a distributed run needs the plan's text");
        }

        var distribution = new DistributionOptions
        {
            Weights = weights,
            StartLead = pr.GetValue(StartLead) ?? (kubernetes ? TimeSpan.FromMinutes(3) : TimeSpan.FromSeconds(5)),
            LostAfter = pr.GetValue(LostAfter).Value,
        };
        var exchangeText = pr.GetValue(Exchange);
        var s3Environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (s3.Endpoint is not null)
        {
            s3Environment["CONSTELLATION_S3_ENDPOINT"] = s3.Endpoint.ToString();
        }

        if (s3.Region is not null)
        {
            s3Environment["AWS_REGION"] = s3.Region;
        }

        Func<string, string, IExchange>? exchange = exchangeText is null ? null : (_, _) => IExchange.Open(exchangeText, s3.Endpoint, s3.Region, s3.CallTimeout);
        if (!kubernetes)
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

        if (exchangeText is null && s3.Bucket is null)
        {
            return (null, "--agents-on kubernetes needs somewhere the agent pods and this coordinator both reach: give --s3-bucket (or --exchange s3://BUCKET/PREFIX)");
        }

        exchange ??= (_, runId) => IExchange.Open($"s3://{s3.Bucket}/{s3.Prefix.Trim('/')}/{runId}/agents", s3.Endpoint, s3.Region, s3.CallTimeout);
        var k8s = new KubernetesAgentOptions
        {
            Manifest = pr.GetValue(Manifest)!,
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
}
