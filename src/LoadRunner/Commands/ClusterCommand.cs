using System.CommandLine;
using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Cluster;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation cluster up|deploy|status|down</c>: the demo EKS cluster.</summary>
internal static class ClusterCommand
{
    public static Command Create(CliContext ctx)
    {
        var infra = new Option<DirectoryInfo>("--infra") { Description = "The infra folder (eksctl/, helm-values/, k8s/).", DefaultValueFactory = _ => new DirectoryInfo("infra") };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig to write and use. Default: $KUBECONFIG, then ~/.kube/config." };
        var registry = new Option<string?>("--registry") { Description = "Image registry for the workloads, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com." };
        var waitTimeout = CliOptions.Duration("--wait-timeout", "up: how long to wait for metrics and Ready workloads.", TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(1), TimeSpan.FromHours(6));
        var yes = new Option<bool>("--yes", "-y") { Description = "down: do not ask for confirmation (CI)." };

        ClusterCommands Make(ParseResult pr, TimeSpan? wait = null)
        {
            var options = new ClusterOptions { InfraDirectory = pr.GetValue(infra)!.FullName, Kubeconfig = pr.GetValue(kubeconfig), Registry = pr.GetValue(registry) };
            if (wait is { } w)
            {
                options = options with { WaitTimeout = w };
            }

            var env = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var name in new[] { "PATH", "HOME", "KUBECONFIG", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN" })
            {
                env[name] = ctx.Environment(name);
            }

            return new ClusterCommands(options with { Environment = env }, ctx.Error, ctx.Time);
        }

        var up = new Command("up", "Create the cluster with eksctl (kept if it exists), install the add-ons with helm, apply infra/k8s/ and wait until metrics and workloads are Ready.") { infra, kubeconfig, registry, waitTimeout };
        up.SetAction((pr, ct) => Guard(ctx, async () =>
        {
            await Make(pr, pr.GetValue(waitTimeout).Value).UpAsync(ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        var deploy = new Command("deploy", "(Re)apply the workloads in infra/k8s/ with server-side apply (no kubectl needed).") { infra, kubeconfig, registry };
        deploy.SetAction((pr, ct) => Guard(ctx, async () =>
        {
            await Make(pr).DeployAsync(ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        var status = new Command("status", "Nodes per zone, deployments, HPAs, and whether metrics.k8s.io serves metrics.") { infra, kubeconfig };
        status.SetAction((pr, ct) => Guard(ctx, async () =>
        {
            ctx.Out.Write(await Make(pr).StatusAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        var down = new Command("down", "Delete the cluster and everything in it (asks first; --yes for CI) and say what was removed.") { infra, yes };
        down.SetAction((pr, ct) => Guard(ctx, async () =>
        {
            var c = Make(pr);
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

            foreach (var r in await c.DownAsync(ct).ConfigureAwait(false))
            {
                ctx.Out.WriteLine($"removed: {r}");
            }

            return ExitCodes.Ok;
        }));
        return new Command("cluster", "The demo EKS cluster: up, deploy, status, down (eksctl, helm and aws on PATH; see README \"Running on EKS\").") { up, deploy, status, down };
    }

    /// <summary>A missing tool or file is the user's to fix (exit 2); a tool or API that fails is a runtime error (exit 1).</summary>
    private static async Task<int> Guard(CliContext ctx, Func<Task<int>> body)
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
}
