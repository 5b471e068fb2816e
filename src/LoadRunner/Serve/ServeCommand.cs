using System.CommandLine;
using System.Diagnostics;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Serve;

/// <summary>
/// `constellation serve`: starts the service host (src/Service, built beside this tool) in the foreground. The
/// service runs the same pipeline as `run`; it is its own ASP.NET Core app so this CLI stays a small console tool.
/// Ctrl+C / SIGTERM are passed on; the service stops its runs cleanly.
/// </summary>
public static class ServeCommand
{
    public const string ServicePathVariable = "CONSTELLATION_SERVICE";

    public static Command Create(CliContext ctx)
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen. Default: loopback only; anything else needs API keys (see README).", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var plans = new Option<DirectoryInfo>("--plans") { Description = "The plans the service may run.", DefaultValueFactory = _ => new DirectoryInfo("plans") };
        var runs = new Option<DirectoryInfo>("--output", "-o") { Description = "The runs folder (served under /runs/).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var cmd = new Command("serve", "Run the service: Hangfire dashboard (/hangfire), REST API (/api), reports (/runs), /metrics, health; scheduled runs from configuration.") { urls, plans, runs };
        cmd.SetAction(async (pr, ct) =>
        {
            string dll;
            try
            {
                dll = FindService();
            }
            catch (FileNotFoundException e)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.RuntimeError;
            }

            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            psi.ArgumentList.Add(dll);
            psi.ArgumentList.Add("--urls=" + pr.GetValue(urls));
            psi.ArgumentList.Add("--Constellation:PlansFolder=" + pr.GetValue(plans)!.FullName);
            psi.ArgumentList.Add("--Constellation:RunsFolder=" + pr.GetValue(runs)!.FullName);
            psi.WorkingDirectory = Path.GetDirectoryName(dll)!;
            psi.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
            using var child = Process.Start(psi) ?? throw new InvalidOperationException("could not start the service");
            using var stop = ctx.Cancel.Register(() => _ = Local.LocalTargets.SysKill(child.Id, 15));
            await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false); // Ctrl+C reaches the child as SIGTERM, not as an abandoned wait
            return child.ExitCode == 0 || ctx.Cancel.IsCancellationRequested ? ExitCodes.Ok : ExitCodes.RuntimeError;
        });
        return cmd;
    }

    /// <summary>The service build next to this tool's (same configuration), or where $CONSTELLATION_SERVICE says.</summary>
    public static string FindService() =>
        Local.SiblingBuild.Find("Constellation.Service", "Constellation.Service.dll", ServicePathVariable, message => new FileNotFoundException(message));
}
