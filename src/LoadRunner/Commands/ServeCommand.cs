using System.CommandLine;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Commands;

/// <summary>
/// `constellation serve`: hosts the service (src/Service) in this process. The service runs the same pipeline as
/// `run`. Ctrl+C / SIGTERM stop it; running runs are stopped cleanly and keep what they measured.
/// </summary>
internal static partial class ServeCommand
{
    public static Command Create(CliContext ctx)
    {
        var urls = CliOptions.Validated(
            new Option<string>("--urls") { Description = "Where to listen, one or more http(s) URLs separated by ';'. Default: loopback only; anything else needs API keys (see README).", DefaultValueFactory = _ => "http://127.0.0.1:8080" },
            (value, add) =>
            {
                foreach (var u in (value ?? string.Empty).Split(';', StringSplitOptions.TrimEntries).Where(u => !Uri.TryCreate(u.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)))
                {
                    add($"--urls must be http:// or https:// URLs separated by ';', got '{u}'");
                }
            });
        var plans = new Option<DirectoryInfo>("--plans") { Description = "The plans the service may run.", DefaultValueFactory = _ => new DirectoryInfo("plans") };
        var runs = new Option<DirectoryInfo>("--output", "-o") { Description = "The runs folder (served under /runs/).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "runs")) };
        var cmd = new Command("serve", "Run the service: Hangfire dashboard (/hangfire), REST API (/api), reports (/runs), /metrics, health; scheduled runs from configuration.") { urls, plans, runs };
        cmd.SetAction(async (pr, ct) =>
        {
            Microsoft.AspNetCore.Builder.WebApplication app;
            try
            {
                app = Constellation.Service.ServiceHost.Build(
                [
                    "--urls=" + pr.GetValue(urls),
                    "--Constellation:PlansFolder=" + pr.GetValue(plans)!.FullName,
                    "--Constellation:RunsFolder=" + pr.GetValue(runs)!.FullName,
                ]);
            }
            catch (Exception e) when (StartProblems(e, pr.GetValue(urls)!) is { Count: > 0 } problems)
            {
                foreach (var problem in problems)
                {
                    ctx.Error.WriteLine($"error: {problem}");
                }

                return ExitCodes.InvalidInput;
            }

            await using (app.ConfigureAwait(false))
            {
                try
                {
                    await app.StartAsync(ctx.Cancel).ConfigureAwait(false);
                }
                catch (Exception e) when (StartProblems(e, pr.GetValue(urls)!) is { Count: > 0 } problems)
                {
                    // Every start-up problem in one line each (configuration, a port in use), never a trace.
                    foreach (var problem in problems)
                    {
                        ctx.Error.WriteLine($"error: {problem}");
                    }

                    return ExitCodes.InvalidInput;
                }

                using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cancel, app.Lifetime.ApplicationStopping);
                try
                {
                    await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C, SIGTERM, or the host stopping itself
                }

                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return cmd;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'")]
    private static partial System.Text.RegularExpressions.Regex ConfigConversion();

    private static string Expected(string type) => type switch
    {
        "System.TimeSpan" => "a duration such as 02:00:00",
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" => "a number",
        "System.Boolean" => "true or false",
        _ => "a value of the right kind",
    };

    /// <summary>The problems a failed start is made of (the host may wrap them), or none when it is something else.</summary>
    private static List<string> StartProblems(Exception e, string urls)
    {
        var all = e is AggregateException a ? a.Flatten().InnerExceptions.ToList() : [e];
        var problems = new List<string>();
        foreach (var x in all)
        {
            switch (x)
            {
                case Microsoft.Extensions.Options.OptionsValidationException v:
                    problems.AddRange(v.Failures);
                    break;
                case IOException io:
                    problems.Add($"cannot listen on {urls}: {io.Message}");
                    break;
                case InvalidOperationException c when ConfigConversion().Match(c.Message) is { Success: true } m:
                    problems.Add($"{m.Groups["key"].Value}: '{m.Groups["value"].Value}' is not {Expected(m.Groups["type"].Value)}");
                    break;
                default:
                    // Anything else that stops the start (a configuration file that is not JSON, a certificate, a
                    // connection string) is still one line: its own message, never a trace.
                    problems.Add($"cannot start: {x.Message.ReplaceLineEndings(" ")}");
                    break;
            }
        }

        return problems;
    }
}
