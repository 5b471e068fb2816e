namespace Constellation.LoadRunner.Cli;

/// <summary>Where the CLI writes, and how the run is stopped; the real console in Program, string writers in tests.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, bool Interactive, CancellationToken Cancel, CancellationToken Abort)
{
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>What stopped the run when it was cancelled (Ctrl+C, SIGTERM), for its record.</summary>
    public Func<string?> CancelledBy { get; init; } = () => "cli (interrupted)";

    /// <summary>Reads a line a person typed; null when nobody can answer (no terminal, CI).</summary>
    public Func<string?>? ReadLine { get; init; }

    /// <summary>Reads an environment variable ($GITHUB_STEP_SUMMARY); tests give their own.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>What the run logs, as plain lines on <see cref="Error"/> (debug lines too with CONSTELLATION_DEBUG=1).</summary>
    public Microsoft.Extensions.Logging.ILogger Log => field ??= new Core.Logging.PlainTextLogger(
        Error,
        string.IsNullOrEmpty(Environment("CONSTELLATION_DEBUG")) ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Debug);
}
