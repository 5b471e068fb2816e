using CliWrap;

namespace Constellation.LoadRunner.Cluster;

/// <summary>A tool the cluster commands need is not installed.</summary>
public sealed class ToolMissingException(string message) : Exception(message);

/// <summary>An external command failed (non-zero exit or timeout).</summary>
public sealed class ToolFailedException(string message) : Exception(message);

/// <summary>
/// Runs eksctl, helm and aws through CliWrap: found on PATH (of the given environment), each with a timeout, its
/// output streamed to the log line by line, a clear message when the tool is missing.
/// </summary>
public sealed class ExternalTools(IReadOnlyDictionary<string, string?> environment, TextWriter log)
{
    public static readonly IReadOnlyDictionary<string, string> InstallHints = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["eksctl"] = "https://eksctl.io/installation/",
        ["helm"] = "https://helm.sh/docs/intro/install/",
        ["aws"] = "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
    };

    /// <summary>The tool's full path, or a <see cref="ToolMissingException"/> saying how to install it.</summary>
    public string Find(string tool)
    {
        var path = environment.TryGetValue("PATH", out var p) && p is not null ? p : Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new ToolMissingException($"{tool} not found on PATH: install it ({InstallHints.GetValueOrDefault(tool, "see its documentation")})");
    }

    /// <summary>Runs the tool; returns its exit code and standard output. Throws on a timeout, and on failure when <paramref name="check"/>.</summary>
    public async Task<(int ExitCode, string Output)> RunAsync(string tool, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct, bool check = true, bool quiet = false)
    {
        var exe = Find(tool);
        var output = new System.Text.StringBuilder();
        var errors = new System.Text.StringBuilder();
        log.WriteLine($"$ {tool} {string.Join(' ', args.Select(Quote))}");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        CommandResult result;
        try
        {
            result = await CliWrap.Cli.Wrap(exe)
                .WithArguments(args)
                .WithEnvironmentVariables(environment.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value))
                .WithValidation(CommandResultValidation.None)
                .WithStandardOutputPipe(PipeTarget.ToDelegate(line =>
                {
                    output.AppendLine(line);
                    if (!quiet)
                    {
                        log.WriteLine($"  {tool}: {line}");
                    }
                }))
                .WithStandardErrorPipe(PipeTarget.ToDelegate(line =>
                {
                    errors.AppendLine(line);
                    log.WriteLine($"  {tool}: {line}");
                }))
                .ExecuteAsync(cts.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ToolFailedException($"{tool} {string.Join(' ', args.Take(2))} did not finish within {Core.Text.Durations.Format(timeout)}");
        }

        if (check && result.ExitCode != 0)
        {
            var last = errors.ToString().Trim().Split('\n').LastOrDefault(l => l.Length > 0) ?? output.ToString().Trim().Split('\n').LastOrDefault() ?? string.Empty;
            throw new ToolFailedException($"{tool} {string.Join(' ', args.Take(2))} failed (exit {result.ExitCode}): {last.Trim()}");
        }

        return (result.ExitCode, output.ToString());
    }

    private static string Quote(string a) => a.Any(char.IsWhiteSpace) ? $"\"{a}\"" : a;
}
