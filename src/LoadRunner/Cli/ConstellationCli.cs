using Constellation.LoadRunner.Cluster;
using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Core.Text;
using Constellation.Runs.Engine;
using Constellation.Runs;

namespace Constellation.LoadRunner.Cli;

/// <summary>Where the CLI writes, and how the run is stopped; the real console in Program, string writers in tests.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, bool Interactive, CancellationToken Cancel, CancellationToken Abort)
{
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Reads a line a person typed; null when nobody can answer (no terminal, CI).</summary>
    public Func<string?>? ReadLine { get; init; }

    /// <summary>Reads an environment variable ($GITHUB_STEP_SUMMARY); tests give their own.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>What the run logs, as plain lines on <see cref="Error"/> (debug lines too with CONSTELLATION_DEBUG=1).</summary>
    public Microsoft.Extensions.Logging.ILogger Log => field ??= new Core.Logging.PlainTextLogger(
        Error,
        string.IsNullOrEmpty(Environment("CONSTELLATION_DEBUG")) ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Debug);
}

/// <summary>The <c>constellation</c> command line: run, validate, load.</summary>
public static class ConstellationCli
{
    public const string EmbeddedPlanName = "plans/local.yaml";

    public static async Task<int> RunAsync(string[] args, CliContext context)
    {
        var root = Build(context);
        var config = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            ProcessTerminationTimeout = null, // Program.cs handles SIGINT/SIGTERM: stop, drain, write the record
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await root.Parse(JmeterCli.SplitJmeterProperties(args)).InvokeAsync(config, context.Cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An unexpected failure is reported in one line; the stack trace only on request.
            context.Error.WriteLine($"error: {e.Message}");
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CONSTELLATION_DEBUG")))
            {
                context.Error.WriteLine(e);
            }

            return ExitCodes.RuntimeError;
        }
    }

    private static RootCommand Build(CliContext ctx)
    {
        var root = new RootCommand("""
            Constellation: load and scale testing for applications on Kubernetes.
            Drives HTTP load (open and closed models, ramps, steps, ramp-to-fail), records exact per-second
            latency histograms and writes run.json + summary.md under artifacts/runs/<run-id>/.

            Exit codes: 0 ok, 1 runtime error, 2 invalid input, 3 run invalid (generator saturated or observer
            gaps: the result cannot be trusted), 4 import-jmx incomplete (elements not converted), 99 thresholds
            failed (compare: a regression), 130 interrupted.
            """);
        root.Subcommands.Add(RunCommand(ctx));
        root.Subcommands.Add(ValidateCommand(ctx));
        root.Subcommands.Add(LoadCommand(ctx));
        root.Subcommands.Add(ReportCommand(ctx));
        root.Subcommands.Add(RunsCommand(ctx));
        root.Subcommands.Add(CompareCommand(ctx));
        root.Subcommands.Add(ClusterCommand(ctx));
        root.Subcommands.Add(JmeterCli.ImportCommand(ctx));
        root.Subcommands.Add(JmeterCli.ExportCommand(ctx));
        root.Subcommands.Add(AgentRunCliOptions.AgentCommand(ctx));
        root.Subcommands.Add(Serve.ServeCommand.Create(ctx));
        return root;
    }

    private static Option<int?> MetricsPortOption() => new("--metrics-port")
    {
        Description = "Serve live Prometheus metrics on http://127.0.0.1:PORT/metrics while the load runs.",
    };

    /// <summary>Combines the progress view and the live metrics into one per-second callback.</summary>
    private static Action<EngineProgress>? Observers(ProgressView? view, Constellation.Runs.Telemetry.LiveMetrics? metrics) => (view, metrics) switch
    {
        (null, null) => null,
        (not null, null) => view.Update,
        (null, not null) => metrics.Update,
        _ => p =>
        {
            metrics!.Update(p);
            view!.Update(p);
        },
    };

    private static Constellation.Runs.Telemetry.LiveMetrics? StartMetrics(CliContext ctx, int? port)
    {
        if (port is null)
        {
            return null;
        }

        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "--metrics-port must be from 1 to 65535");
        }

        Constellation.Runs.Telemetry.LiveMetrics metrics;
        try
        {
            metrics = new Constellation.Runs.Telemetry.LiveMetrics(port.Value);
        }
        catch (System.Net.HttpListenerException e)
        {
            throw new InvalidOperationException($"cannot serve metrics on 127.0.0.1:{port}: {e.Message}", e);
        }

        ctx.Error.WriteLine($"live metrics: http://127.0.0.1:{port}/metrics");
        return metrics;
    }

    private static Command RunCommand(CliContext ctx)
    {
        var plan = new Argument<FileInfo?>("plan")
        {
            Description = $"The plan YAML. Without it, the embedded default ({EmbeddedPlanName}) runs: SpinService spin + webapp on loopback, a spin ramp-to-fail and a steady webapp load, about a minute.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder for run outputs; each run gets <output>/<run-id>/.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var runId = new Option<string?>("--run-id") { Description = "Use this run id instead of a generated one." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output, only the summary." };
        var metricsPort = MetricsPortOption();
        var s3Bucket = new Option<string?>("--s3-bucket") { Description = "Also store the run in this S3 bucket (standard AWS credential chain). Default: $CONSTELLATION_S3_BUCKET.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONSTELLATION_S3_BUCKET") };
        var s3Prefix = new Option<string>("--s3-prefix") { Description = "Key prefix; the run goes to PREFIX/RUN-ID/. Default: $CONSTELLATION_S3_PREFIX or constellation/runs.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONSTELLATION_S3_PREFIX") ?? "constellation/runs" };
        var s3Region = new Option<string?>("--s3-region") { Description = "AWS region. Default: $AWS_REGION, else us-east-1." };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "An S3-compatible endpoint instead of AWS (MinIO, s3rver). Default: $CONSTELLATION_S3_ENDPOINT.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONSTELLATION_S3_ENDPOINT") };
        var s3LinkExpiry = new Option<string>("--s3-link-expiry") { Description = "How long the presigned report link works (at most 7 days).", DefaultValueFactory = _ => "168h" };
        var s3Timeout = new Option<string>("--s3-timeout") { Description = "How long one S3 request may take before it is retried (4 attempts); storing the run gives up after all of them and records why.", DefaultValueFactory = _ => "30s" };
        var tags = new Option<string[]>("--tag") { Description = "Tag the run (repeatable), e.g. --tag release-1.4; find it again with --baseline tag:NAME.", AllowMultipleArgumentsPerToken = false };
        var agentOptions = new AgentRunCliOptions();
        var cmd = new Command("run", "Run a plan and write run.json, summary.md, junit.xml and index.html; judge its thresholds (exit 99 when one fails).") { plan, output, runId, quiet, metricsPort, s3Bucket, s3Prefix, s3Region, s3Endpoint, s3LinkExpiry, s3Timeout, tags };
        foreach (var o in agentOptions.All)
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (pr, _) =>
        {
            var file = pr.GetValue(plan);
            PlanLoadResult loaded;
            if (file is null)
            {
                loaded = PlanLoader.Parse(EmbeddedPlan());
            }
            else if (!file.Exists)
            {
                ctx.Error.WriteLine($"error: plan file '{file.FullName}' does not exist");
                return ExitCodes.InvalidInput;
            }
            else
            {
                loaded = PlanLoader.LoadFile(file.FullName);
            }

            if (!loaded.IsValid)
            {
                PrintErrors(ctx.Error, file?.Name ?? EmbeddedPlanName, loaded.Errors);
                return ExitCodes.InvalidInput;
            }

            var tagList = pr.GetValue(tags) ?? [];
            if (tagList.FirstOrDefault(t => t.Length == 0 || t.Length > 100 || t.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) is { } badTag)
            {
                ctx.Error.WriteLine($"error: --tag must be a word without spaces (at most 100 characters), got '{badTag}'");
                return ExitCodes.InvalidInput;
            }

            Uri? endpoint = null;
            if (pr.GetValue(s3Endpoint) is { Length: > 0 } endpointText && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
            {
                ctx.Error.WriteLine($"error: --s3-endpoint must be an absolute http:// or https:// URL, got '{endpointText}'");
                return ExitCodes.InvalidInput;
            }

            var (agents, agentError) = agentOptions.Read(pr, loaded.Plan!, pr.GetValue(s3Bucket) is { Length: > 0 } b ? b : null, pr.GetValue(s3Prefix)!, endpoint, pr.GetValue(s3Region), ctx.Log, ctx.Time);
            if (agentError is not null)
            {
                ctx.Error.WriteLine($"error: {agentError}");
                return ExitCodes.InvalidInput;
            }

            var stores = new List<Reports.Stores.IRunStore>();
            if (pr.GetValue(s3Bucket) is { Length: > 0 } bucket)
            {
                if (!Durations.TryParse(pr.GetValue(s3LinkExpiry), out var expiry) || expiry <= TimeSpan.Zero || expiry > TimeSpan.FromDays(7))
                {
                    ctx.Error.WriteLine($"error: --s3-link-expiry must be a duration up to 7 days (168h), got '{pr.GetValue(s3LinkExpiry)}'");
                    return ExitCodes.InvalidInput;
                }

                if (!Durations.TryParse(pr.GetValue(s3Timeout), out var attempt) || attempt <= TimeSpan.Zero || attempt > TimeSpan.FromMinutes(10))
                {
                    ctx.Error.WriteLine($"error: --s3-timeout must be a duration from 1ms to 10m, got '{pr.GetValue(s3Timeout)}'");
                    return ExitCodes.InvalidInput;
                }

                var s3Options = new Reports.Stores.S3StoreOptions { Bucket = bucket, Prefix = pr.GetValue(s3Prefix)!, Region = pr.GetValue(s3Region), ServiceUrl = endpoint, LinkExpiry = expiry, AttemptTimeout = attempt };
                stores.Add(new Reports.Stores.S3RunStore(
                    s3Options with { Deadline = (attempt * s3Options.MaxAttempts) + TimeSpan.FromSeconds(30) },
                    ctx.Log,
                    time: ctx.Time));
            }

            var view = pr.GetValue(quiet) ? null : new ProgressView(ctx.Error, ctx.Interactive);
            using var metrics = StartMetrics(ctx, pr.GetValue(metricsPort));
            var pipeline = new RunPipeline(ctx.Time, ctx.Log);
            var outcome = await pipeline.RunAsync(
                loaded.Plan!,
                new RunOptions
                {
                    OutputRoot = pr.GetValue(output)!.FullName,
                    RunId = pr.GetValue(runId),
                    Stores = stores,
                    Tags = tagList,
                    Agents = agents,
                    Listeners = Observers(view, metrics) is { } each ? [new Constellation.Runs.Listeners.CallbackListener(each)] : [],
                },
                ctx.Cancel,
                ctx.Abort).ConfigureAwait(false);
            view?.Finish();
            var record = outcome.Record;
            ctx.Out.Write(SummaryMarkdown.Render(record));
            ctx.Out.WriteLine();
            ctx.Out.WriteLine($"run.json:   {Path.Combine(outcome.Directory, "run.json")}");
            ctx.Out.WriteLine($"summary.md: {Path.Combine(outcome.Directory, "summary.md")}");
            ctx.Out.WriteLine($"report:     {Path.Combine(outcome.Directory, "index.html")}");
            foreach (var stored in record.Stores.Where(s => s.Store != "local"))
            {
                ctx.Out.WriteLine(stored.Ok ? $"stored:     {stored.Location} ({stored.Files} files)\nreport link: {stored.ReportLink}" : $"NOT stored: {stored.Location}: {stored.Error}");
                if (stored.IndexLink is not null)
                {
                    ctx.Out.WriteLine($"runs index: {stored.IndexLink}");
                }
            }

            foreach (var store in stores.OfType<IDisposable>())
            {
                store.Dispose();
            }

            AppendStepSummary(ctx, Path.Combine(outcome.Directory, "summary.md"));
            return ExitCodeOf(record);
        });
        return cmd;
    }

    private static Command ReportCommand(CliContext ctx)
    {
        var source = new Argument<string>("run") { Description = "A run folder (its journal rebuilds run.json, also after a kill), or a run.json." };
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "Where to write the outputs; default: the run's folder." };
        var cmd = new Command("report", "Build run.json again from the run's journal (a run killed by SIGKILL, OOM or power loss becomes an aborted run with every second it journaled), then render run-summary.json, summary.md, junit.xml and index.html.") { source, output };
        cmd.SetAction(async (pr, ct) =>
        {
            var given = pr.GetValue(source)!;
            var runDir = Directory.Exists(given) ? given : Path.GetDirectoryName(Path.GetFullPath(given))!;
            RunRecord record;
            string json;
            var writers = Reports.Writers.CompositeReportWriter.Renderers;
            if (Reports.Journal.RunJournal.Exists(runDir))
            {
                if (Reports.Journal.RunJournal.IsLive(runDir))
                {
                    ctx.Error.WriteLine($"error: {runDir} is a run still going (its journal is being written); report it when it ends");
                    return ExitCodes.InvalidInput;
                }

                try
                {
                    if (Constellation.Runs.Distributed.AgentRecovery.Recover(runDir, ctx.Time) is { } recovered)
                    {
                        ctx.Error.WriteLine($"the run's coordinator was killed: {recovered}");
                    }

                    record = Reports.Journal.RunJournal.Read(runDir);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or JsonException)
                {
                    ctx.Error.WriteLine($"error: the journal in {runDir} cannot be read: {e.Message}");
                    return ExitCodes.InvalidInput;
                }

                json = Path.Combine(runDir, "run.json");
                writers = Reports.Writers.CompositeReportWriter.Default;
                ctx.Error.WriteLine($"rebuilt the record of {record.RunId} from its journal: {record.Status.ToString().ToLowerInvariant()}, {record.Scenarios.Select(s => s.Totals.Requests).Sum()} requests over {record.Scenarios.Select(s => s.Seconds.Count * s.SecondsPerPoint).DefaultIfEmpty(0).Max()} s");
            }
            else if (await ReadRunArgumentAsync(ctx, given, ct).ConfigureAwait(false) is var (read, path))
            {
                (record, json) = (read, path);
            }
            else
            {
                return ExitCodes.InvalidInput;
            }

            var dir = pr.GetValue(output)?.FullName ?? Path.GetDirectoryName(Path.GetFullPath(json))!;
            var failures = await writers.WriteAsync(record, dir, ctx.Log, ct).ConfigureAwait(false);
            foreach (var w in writers.Writers)
            {
                ctx.Out.WriteLine(Path.Combine(dir, w.FileName));
            }

            return failures.Count == 0 ? ExitCodes.Ok : ExitCodes.RuntimeError;
        });
        return cmd;
    }

    /// <summary>
    /// Reads the run record a command names (a run.json or the run folder that holds it), or says on stderr why it
    /// cannot (the caller exits 2).
    /// </summary>
    internal static async Task<(RunRecord Record, string Json)?> ReadRunArgumentAsync(CliContext ctx, string path, CancellationToken ct)
    {
        var json = Directory.Exists(path) ? Path.Combine(path, "run.json") : path;
        if (!File.Exists(json))
        {
            ctx.Error.WriteLine($"error: no run.json at '{Path.GetFullPath(json)}'");
            return null;
        }

        try
        {
            return (await RunRecordJson.ReadAsync(json, ct).ConfigureAwait(false), json);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            ctx.Error.WriteLine($"error: {json} is not a readable run record: {e.Message}");
            return null;
        }
    }

    /// <summary>The exit-code contract for a finished run: interrupted, error, invalid, thresholds failed, ok — in that order.</summary>
    public static int ExitCodeOf(RunRecord record) => record.Status switch
    {
        RunStatus.Cancelled => ExitCodes.Interrupted,
        RunStatus.Failed or RunStatus.Aborted => ExitCodes.RuntimeError,
        _ => record.Gate?.Verdict switch
        {
            GateResult.Invalid => ExitCodes.RunInvalid,
            GateResult.Failed => ExitCodes.ThresholdsFailed,
            _ => ExitCodes.Ok,
        },
    };

    /// <summary>In GitHub Actions, the run's summary.md goes into the job's step summary too.</summary>
    private static void AppendStepSummary(CliContext ctx, string summaryPath)
    {
        if (ctx.Environment("GITHUB_STEP_SUMMARY") is not { Length: > 0 } target || !File.Exists(summaryPath))
        {
            return;
        }

        try
        {
            File.AppendAllText(target, File.ReadAllText(summaryPath) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ctx.Error.WriteLine($"warning: could not append to $GITHUB_STEP_SUMMARY ({target}): {e.Message}");
        }
    }

    private static Command ClusterCommand(CliContext ctx)
    {
        var infra = new Option<DirectoryInfo>("--infra") { Description = "The infra folder (eksctl/, helm-values/, k8s/).", DefaultValueFactory = _ => new DirectoryInfo("infra") };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig to write and use. Default: $KUBECONFIG, then ~/.kube/config." };
        var registry = new Option<string?>("--registry") { Description = "Image registry for the workloads, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com." };
        var waitTimeout = new Option<string>("--wait-timeout") { Description = "up: how long to wait for metrics and Ready workloads.", DefaultValueFactory = _ => "15m" };
        var yes = new Option<bool>("--yes", "-y") { Description = "down: do not ask for confirmation (CI)." };

        ClusterCommands? Make(ParseResult pr)
        {
            var options = new ClusterOptions { InfraDirectory = pr.GetValue(infra)!.FullName, Kubeconfig = pr.GetValue(kubeconfig), Registry = pr.GetValue(registry) };
            if (pr.GetValue(waitTimeout) is { } waitText) // only `up` has the option
            {
                if (!Durations.TryParse(waitText, out var wait) || wait <= TimeSpan.Zero)
                {
                    ctx.Error.WriteLine($"error: --wait-timeout must be a duration such as 15m, got '{waitText}'");
                    return null;
                }

                options = options with { WaitTimeout = wait };
            }

            var env = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var name in new[] { "PATH", "HOME", "KUBECONFIG", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN" })
            {
                env[name] = ctx.Environment(name);
            }

            return new ClusterCommands(options with { Environment = env }, ctx.Error, ctx.Time);
        }

        async Task<int> Guard(Func<Task<int>> body)
        {
            try
            {
                return await body().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ToolMissingException or FileNotFoundException)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (Exception e) when (e is ToolFailedException or TimeoutException or k8s.Autorest.HttpOperationException or HttpRequestException or k8s.Exceptions.KubeConfigException)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.RuntimeError;
            }
        }

        var up = new Command("up", "Create the cluster with eksctl (kept if it exists), install the add-ons with helm, apply infra/k8s/ and wait until metrics and workloads are Ready.") { infra, kubeconfig, registry, waitTimeout };
        up.SetAction(async (pr, ct) => Make(pr) is { } c ? await Guard(async () => { await c.UpAsync(ct).ConfigureAwait(false); return ExitCodes.Ok; }).ConfigureAwait(false) : ExitCodes.InvalidInput);
        var deploy = new Command("deploy", "(Re)apply the workloads in infra/k8s/ with server-side apply (no kubectl needed).") { infra, kubeconfig, registry };
        deploy.SetAction(async (pr, ct) => Make(pr) is { } c ? await Guard(async () => { await c.DeployAsync(ct).ConfigureAwait(false); return ExitCodes.Ok; }).ConfigureAwait(false) : ExitCodes.InvalidInput);
        var status = new Command("status", "Nodes per zone, deployments, HPAs, and whether metrics.k8s.io serves metrics.") { infra, kubeconfig };
        status.SetAction(async (pr, ct) => Make(pr) is { } c ? await Guard(async () => { ctx.Out.Write(await c.StatusAsync(ct).ConfigureAwait(false)); return ExitCodes.Ok; }).ConfigureAwait(false) : ExitCodes.InvalidInput);
        var down = new Command("down", "Delete the cluster and everything in it (asks first; --yes for CI) and say what was removed.") { infra, yes };
        down.SetAction(async (pr, ct) =>
        {
            if (Make(pr) is not { } c)
            {
                return ExitCodes.InvalidInput;
            }

            return await Guard(async () =>
            {
                var (name, region) = c.ReadCluster();
                if (!pr.GetValue(yes))
                {
                    if (ctx.ReadLine is null)
                    {
                        ctx.Error.WriteLine($"error: deleting cluster {name} needs confirmation and nobody can answer here: pass --yes");
                        return ExitCodes.InvalidInput;
                    }

                    ctx.Error.Write($"Delete cluster {name} in {region} and everything in it? Type the cluster name to confirm: ");
                    if (ctx.ReadLine()?.Trim() != name)
                    {
                        ctx.Error.WriteLine("not confirmed: nothing was deleted");
                        return ExitCodes.InvalidInput;
                    }
                }

                var removed = await c.DownAsync(ct).ConfigureAwait(false);
                foreach (var r in removed)
                {
                    ctx.Out.WriteLine($"removed: {r}");
                }

                return ExitCodes.Ok;
            }).ConfigureAwait(false);
        });
        return new Command("cluster", "The demo EKS cluster: up, deploy, status, down (eksctl, helm and aws on PATH; see README \"Running on EKS\").") { up, deploy, status, down };
    }

    private static Command CompareCommand(CliContext ctx)
    {
        var run = new Argument<string>("run") { Description = "The run: a run id in the runs folder, a run folder or a run.json." };
        var baseline = new Option<string>("--baseline", "-b") { Description = "What to compare with: a run id, latest-passed (newest completed run of the same plan whose gate passed) or tag:NAME.", Required = true };
        var folder = new Option<DirectoryInfo>("--output", "-o") { Description = "The runs folder.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var tolerance = new Option<string>("--tolerance") { Description = "Relative change that counts as a regression (with absolute floors of 2ms, 0.5 points of error rate, 5s of scaling time).", DefaultValueFactory = _ => "10%" };
        var cmd = new Command("compare", "Compare a run with a baseline per scenario and metric; exit 99 on a regression beyond noise.") { run, baseline, folder, tolerance };
        cmd.SetAction(async (pr, ct) =>
        {
            var root = pr.GetValue(folder)!.FullName;
            var tolText = pr.GetValue(tolerance)!;
            if (!tolText.EndsWith('%') || !double.TryParse(tolText[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var tol) || tol < 0 || tol > 1000)
            {
                ctx.Error.WriteLine($"error: --tolerance must be a percentage such as 10%, got '{tolText}'");
                return ExitCodes.InvalidInput;
            }

            var which = pr.GetValue(run)!;
            var path = File.Exists(which) ? which : Directory.Exists(which) ? Path.Combine(which, "run.json") : Path.Combine(root, which, "run.json");
            if (!File.Exists(path))
            {
                ctx.Error.WriteLine($"error: no run '{which}' (looked for {path})");
                return ExitCodes.InvalidInput;
            }

            var current = await RunRecordJson.ReadAsync(path, ct).ConfigureAwait(false);
            var found = await Reports.History.Baselines.ResolveAsync(root, pr.GetValue(baseline)!, current.PlanName, current.RunId, ct).ConfigureAwait(false);
            if (found.Record is null)
            {
                ctx.Error.WriteLine($"error: baseline: {found.Message}");
                return ExitCodes.InvalidInput;
            }

            var comparison = Core.Gate.RunComparer.Compare(current, found.Record, new Core.Gate.CompareTolerance { Relative = tol / 100 });
            ctx.Out.Write(Core.Gate.RunComparer.Render(comparison));
            return comparison.Regressed ? ExitCodes.ThresholdsFailed : ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command RunsCommand(CliContext ctx)
    {
        var folder = new Option<DirectoryInfo>("--output", "-o") { Description = "The runs folder.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var plan = new Option<string?>("--plan") { Description = "Only runs of this plan." };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many runs, newest first.", DefaultValueFactory = _ => 20 };
        var list = new Command("list", "List past runs newest first with their key numbers (the runs index, in the terminal).") { folder, plan, limit };
        list.SetAction(async (pr, ct) =>
        {
            var runs = await Reports.History.RunHistory.LoadAsync(pr.GetValue(folder)!.FullName, ct).ConfigureAwait(false);
            var p = pr.GetValue(plan);
            var shown = runs.Where(r => p is null || r.PlanName == p).Take(Math.Max(1, pr.GetValue(limit))).ToList();
            if (shown.Count == 0)
            {
                ctx.Error.WriteLine($"no runs in {pr.GetValue(folder)!.FullName}{(p is null ? string.Empty : $" for plan '{p}'")}");
                return ExitCodes.Ok;
            }

            ctx.Out.Write(Reports.History.RunsIndexPage.RenderText(shown));
            return ExitCodes.Ok;
        });
        var index = new Command("index", "Write the runs index (index.html with trends) at the root of the runs folder.") { folder };
        index.SetAction(async (pr, ct) =>
        {
            ctx.Out.WriteLine(await Reports.History.RunsIndexWriter.WriteAsync(pr.GetValue(folder)!.FullName, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        });
        var runIdArg = new Argument<string>("run-id") { Description = "The run to tag." };
        var tagArg = new Argument<string>("tag") { Description = "The tag, e.g. release-1.4." };
        var remove = new Option<bool>("--remove") { Description = "Take the tag off instead." };
        var tag = new Command("tag", "Tag a stored run (find it again with --baseline tag:NAME).") { runIdArg, tagArg, folder, remove };
        tag.SetAction(async (pr, ct) =>
        {
            try
            {
                var r = await Reports.History.Baselines.TagAsync(pr.GetValue(folder)!.FullName, pr.GetValue(runIdArg)!, pr.GetValue(tagArg)!, pr.GetValue(remove), ct).ConfigureAwait(false);
                ctx.Out.WriteLine($"{r.RunId}: tags {(r.Tags.Count == 0 ? "(none)" : string.Join(", ", r.Tags))}");
                return ExitCodes.Ok;
            }
            catch (FileNotFoundException e)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
        });
        var promoteId = new Argument<string>("run-id") { Description = "The run that becomes its plan's baseline." };
        var promote = new Command("promote", $"Make a run its plan's baseline: it gets the '{Reports.History.Baselines.PromotedTag}' tag, the plan's other runs lose it (use --baseline tag:{Reports.History.Baselines.PromotedTag}).") { promoteId, folder };
        promote.SetAction(async (pr, ct) =>
        {
            try
            {
                var r = await Reports.History.Baselines.PromoteAsync(pr.GetValue(folder)!.FullName, pr.GetValue(promoteId)!, ct).ConfigureAwait(false);
                ctx.Out.WriteLine($"{r.RunId} is now the baseline of plan '{r.PlanName}'");
                return ExitCodes.Ok;
            }
            catch (FileNotFoundException e)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
        });
        return new Command("runs", "Past runs: list them, write the runs index, tag them, promote one to baseline.") { list, index, tag, promote };
    }

    private static Command ValidateCommand(CliContext ctx)
    {
        var plan = new Argument<FileInfo>("plan") { Description = "The plan YAML to check." };
        var cmd = new Command("validate", "Check a plan and report every problem with its location (exit 2 if any).") { plan };
        cmd.SetAction(pr =>
        {
            var file = pr.GetValue(plan)!;
            if (!file.Exists)
            {
                ctx.Error.WriteLine($"error: plan file '{file.FullName}' does not exist");
                return ExitCodes.InvalidInput;
            }

            var loaded = PlanLoader.LoadFile(file.FullName);
            if (!loaded.IsValid)
            {
                PrintErrors(ctx.Error, file.Name, loaded.Errors);
                return ExitCodes.InvalidInput;
            }

            var p = loaded.Plan!;
            ctx.Out.WriteLine($"{file.Name}: ok — plan '{p.Name}', {p.Scenarios.Count} scenario(s), {p.Targets.Count} target(s), runs up to {Durations.Format(p.MaxDuration)}");
            foreach (var s in p.Scenarios)
            {
                var curve = s.Load.Curve;
                var unit = s.Load.Unit;
                var extra = s.Load.Model == LoadModel.Open ? string.Create(CultureInfo.InvariantCulture, $", {curve.TotalArrivals:0} requests planned") : string.Empty;
                extra += s.Load.Iterations is { } iterations ? string.Create(CultureInfo.InvariantCulture, $", {iterations} iterations per user") : string.Empty;
                extra += s.Sequence.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $", a sequence of {s.Sequence.Count} requests ({string.Join(" → ", s.Sequence.Select(r => r.Name ?? r.Path))})") : string.Empty;
                extra += s.Sequence.Count == 1 && s.Request.Expect is { } expect ? ", expects " + DescribeExpect(expect) : string.Empty;
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.Name}: {s.Load.Model.ToString().ToLowerInvariant()} model on {s.Target}{s.Request.Path}, {Durations.Format(curve.Duration)}, peak {curve.Peak:0.#} {unit}{extra}{(s.StopWhen.Count > 0 ? ", stops when " + string.Join(" or ", s.StopWhen) : string.Empty)}"));
            }

            if (p.Observe is { } o)
            {
                ctx.Out.WriteLine($"  observe: {string.Join(", ", DescribeObserve(o))}");
            }

            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static IEnumerable<string> DescribeObserve(ObserveSpec o)
    {
        if (o.Baseline > TimeSpan.Zero)
        {
            yield return $"{Durations.Format(o.Baseline)} baseline before the load";
        }

        if (o.Cooldown > TimeSpan.Zero)
        {
            yield return $"{Durations.Format(o.Cooldown)} cooldown after it";
        }

        if (o.Local is { } l)
        {
            yield return $"local processes every {Durations.Format(l.Interval)}";
        }

        foreach (var p in o.Probes)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"probe {p.Target}{p.Path} {p.Rate:0.##}/s");
        }

        if (o.Kubernetes is { } k)
        {
            var where = k.InCluster ? "in-cluster" : $"{k.Kubeconfig ?? "default kubeconfig"}{(k.Context is null ? string.Empty : " context " + k.Context)}";
            yield return $"kubernetes ({where}): {string.Join(", ", k.Workloads.Select(w => $"{w.Namespace}/{w.Deployment}{(w.Hpa is null ? string.Empty : " + HPA " + w.Hpa)}"))}";
        }

        if (o.Prometheus is { } pr)
        {
            yield return $"prometheus {pr.Url} ({pr.Queries.Count} queries)";
        }
    }

    private static Command LoadCommand(CliContext ctx)
    {
        var url = new Argument<string>("url") { Description = "The URL to load, e.g. http://127.0.0.1:8080/." };
        var rate = new Option<double?>("--rate", "-r") { Description = "Open model: requests per second, started on schedule whatever the server does." };
        var connections = new Option<int?>("--connections", "-c") { Description = "Closed model: this many connections, each sending its next request when the last one is answered." };
        var duration = new Option<string>("--duration", "-d") { Description = "How long, e.g. 30s or 2m (a bare number is seconds).", DefaultValueFactory = _ => "10s" };
        var timeout = new Option<string>("--timeout") { Description = "Per-request timeout.", DefaultValueFactory = _ => "10s" };
        var method = new Option<string>("--method", "-m") { Description = "HTTP method.", DefaultValueFactory = _ => "GET" };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header, 'Name: value'; repeatable.", AllowMultipleArgumentsPerToken = false };
        var body = new Option<string?>("--body") { Description = "Request body." };
        var maxInFlight = new Option<int>("--max-in-flight") { Description = "Open model: arrivals beyond this many in-flight requests are dropped.", DefaultValueFactory = _ => 1000 };
        var json = new Option<bool>("--json") { Description = "End with one JSON line: rps, requests, errors, p50_ms, p90_ms, p95_ms, p99_ms, p999_ms, max_ms, mean_ms." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output." };
        var metricsPort = MetricsPortOption();
        var cmd = new Command("load", "Ad-hoc load on one URL, like wrk or hey; prints a summary.") { url, rate, connections, duration, timeout, method, headers, body, maxInFlight, json, quiet, metricsPort };
        cmd.SetAction(async (pr, _) =>
        {
            var errors = new List<string>();
            var r = pr.GetValue(rate);
            var c = pr.GetValue(connections);
            if (r is null == c is null)
            {
                errors.Add("give exactly one of --rate (open model) or --connections (closed model)");
            }

            if (r is <= 0)
            {
                errors.Add($"--rate must be > 0, got {r}");
            }

            if (c is <= 0)
            {
                errors.Add($"--connections must be > 0, got {c}");
            }

            var durText = pr.GetValue(duration)!;
            if (double.TryParse(durText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double _))
            {
                durText += "s";
            }

            if (!Durations.TryParse(durText, out var dur) || dur <= TimeSpan.Zero)
            {
                errors.Add($"--duration must be a positive duration such as 30s, got '{pr.GetValue(duration)}'");
            }

            var headerMap = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var h in pr.GetValue(headers) ?? [])
            {
                int colon = h.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    errors.Add($"--header must look like 'Name: value', got '{h}'");
                    continue;
                }

                headerMap[h[..colon].Trim()] = h[(colon + 1)..].Trim();
            }

            if (!Uri.TryCreate(pr.GetValue(url), UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"url must be an absolute http:// or https:// URL, got '{pr.GetValue(url)}'");
            }

            var planYaml = errors.Count > 0 ? null : AdHocPlan(target!, r, c, dur, pr.GetValue(timeout)!, pr.GetValue(method)!, headerMap, pr.GetValue(body), pr.GetValue(maxInFlight));
            var loaded = planYaml is null ? null : PlanLoader.Parse(planYaml);
            if (loaded is { IsValid: false })
            {
                errors.AddRange(loaded.Errors.Select(e => $"{OptionFor(e.Path)}: {e.Message}"));
            }

            if (errors.Count > 0)
            {
                foreach (var e in errors)
                {
                    ctx.Error.WriteLine($"error: {e}");
                }

                return ExitCodes.InvalidInput;
            }

            var plan = loaded!.Plan!;
            var view = pr.GetValue(quiet) ? null : new ProgressView(ctx.Error, ctx.Interactive);
            var scenario = new ResolvedScenario(plan.Scenarios[0], target!);
            EngineResult result;
            try
            {
                using var metrics = StartMetrics(ctx, pr.GetValue(metricsPort));
                result = await new LoadEngine(ctx.Time).RunAsync([scenario], Observers(view, metrics), ctx.Cancel, ctx.Abort).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or InvalidOperationException)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.RuntimeError;
            }

            view?.Finish();
            var s = result.Scenarios[0];
            WriteLoadSummary(ctx.Out, s, result.Generator);
            if (pr.GetValue(json))
            {
                ctx.Out.WriteLine(LoadJson(s));
            }

            return result.Cancelled ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Names the option behind a path of the ad-hoc plan, so its errors speak of what the user typed.</summary>
    private static string OptionFor(string planPath)
    {
        var key = planPath.StartsWith("scenarios[0].", StringComparison.Ordinal) ? planPath["scenarios[0].".Length..] : planPath;
        return key switch
        {
            "request.timeout" => "--timeout",
            "request.method" => "--method",
            "request.path" => "url",
            "load.rate" => "--rate",
            "load.users" => "--connections",
            "load.maxInFlight" => "--max-in-flight",
            "load.duration" or "load" => "--duration",
            _ when key.StartsWith("request.headers", StringComparison.Ordinal) => "--header",
            _ => planPath,
        };
    }

    /// <summary>The ad-hoc command is a one-scenario plan, so it is validated and run exactly like a file.</summary>
    private static string AdHocPlan(Uri target, double? rate, int? connections, TimeSpan duration, string timeout, string method, Dictionary<string, string> headers, string? body, int maxInFlight)
    {
        var inv = CultureInfo.InvariantCulture;
        var baseUrl = target.GetLeftPart(UriPartial.Authority);
        var lines = new List<string>
        {
            "name: ad-hoc",
            "targets:",
            $"  target: {{ baseUrl: {Yaml(baseUrl)} }}",
            "scenarios:",
            "  - name: load",
            "    target: target",
            "    request:",
            $"      method: {Yaml(method)}",
            $"      path: {Yaml(target.PathAndQuery)}",
            $"      timeout: {Yaml(timeout)}",
        };
        if (body is not null)
        {
            lines.Add($"      body: {Yaml(body)}");
        }

        if (headers.Count > 0)
        {
            lines.Add("      headers:");
            lines.AddRange(headers.Select(h => $"        {Yaml(h.Key)}: {Yaml(h.Value)}"));
        }

        lines.Add("    load:");
        if (rate is { } r)
        {
            lines.Add("      model: open");
            lines.Add(string.Create(inv, $"      rate: {r}"));
            lines.Add(string.Create(inv, $"      maxInFlight: {maxInFlight}"));
        }
        else
        {
            lines.Add("      model: closed");
            lines.Add(string.Create(inv, $"      users: {connections}"));
        }

        lines.Add(string.Create(inv, $"      duration: {duration.TotalMilliseconds}ms"));
        return string.Join('\n', lines) + "\n";
    }

    private static string Yaml(string s) => JsonSerializer.Serialize(s); // a JSON string is a valid YAML scalar

    private static void WriteLoadSummary(TextWriter o, ScenarioResult s, GeneratorHealth g)
    {
        var t = s.Totals;
        var l = t.Latency;
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"{s.Url} — {s.Model} model, {s.DurationSeconds:0.##}s"));
        o.WriteLine(string.Create(inv, $"  requests  {t.Requests} ({t.Rps:0.#}/s), errors {t.Outcomes.Errors} ({t.ErrorRate * 100:0.##}%), dropped {t.Outcomes.Dropped}"));
        o.WriteLine(string.Create(inv, $"  outcomes  2xx {t.Outcomes.Status2xx}, 3xx {t.Outcomes.Status3xx}, 4xx {t.Outcomes.Status4xx}, 5xx {t.Outcomes.Status5xx}, timeout {t.Outcomes.Timeout}, connection error {t.Outcomes.ConnectionError}, check failed {t.Outcomes.CheckFailed}{(t.Outcomes.Cancelled > 0 ? $", cancelled {t.Outcomes.Cancelled}" : string.Empty)}"));
        o.WriteLine(string.Create(inv, $"  latency   mean {l.MeanMs:0.###} ms, p50 {l.P50Ms:0.###}, p90 {l.P90Ms:0.###}, p95 {l.P95Ms:0.###}, p99 {l.P99Ms:0.###}, p99.9 {l.P999Ms:0.###}, max {l.MaxMs:0.###} ms"));
        if (s.Model == "open")
        {
            var st = t.ServiceTime;
            o.WriteLine(string.Create(inv, $"  service   p50 {st.P50Ms:0.###}, p99 {st.P99Ms:0.###}, max {st.MaxMs:0.###} ms (from actual send; latency above counts from the intended start)"));
        }

        o.WriteLine(string.Create(inv, $"  received  {t.BytesReceived / 1024.0 / 1024.0:0.##} MiB; generator max CPU {g.MaxCpuPercent:0}%, max pacer lag {g.MaxPacerLagMs:0.#} ms{(g.Bottleneck ? " — GENERATOR WAS A BOTTLENECK" : string.Empty)}"));
    }

    /// <summary>The machine-readable line (also the contract of shared/bench/peers.sh).</summary>
    public static string LoadJson(ScenarioResult s)
    {
        var t = s.Totals;
        var l = t.Latency;
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["rps"] = t.Rps,
            ["requests"] = t.Requests,
            ["errors"] = t.Outcomes.Errors,
            ["dropped"] = t.Outcomes.Dropped,
            ["p50_ms"] = l.P50Ms,
            ["p90_ms"] = l.P90Ms,
            ["p95_ms"] = l.P95Ms,
            ["p99_ms"] = l.P99Ms,
            ["p999_ms"] = l.P999Ms,
            ["max_ms"] = l.MaxMs,
            ["mean_ms"] = l.MeanMs,
        });
    }

    private static void PrintErrors(TextWriter error, string source, IReadOnlyList<PlanError> errors)
    {
        error.WriteLine($"{source}: {errors.Count} problem(s):");
        foreach (var e in errors)
        {
            error.WriteLine($"  {e}");
        }
    }

    private static string DescribeExpect(ResponseExpectation e) => string.Join(" and ", new[]
    {
        e.Status.Count > 0 ? "status " + string.Join(" or ", e.Status) : null,
        e.BodyContains.Count > 0 ? "body containing " + string.Join(", ", e.BodyContains.Select(t => $"\"{t}\"")) : null,
        e.BodyNotContains.Count > 0 ? "body without " + string.Join(", ", e.BodyNotContains.Select(t => $"\"{t}\"")) : null,
    }.OfType<string>());

    public static string EmbeddedPlan()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EmbeddedPlanName)
            ?? throw new InvalidOperationException($"{EmbeddedPlanName} is not embedded in this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
