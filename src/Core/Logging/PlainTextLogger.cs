using Microsoft.Extensions.Logging;

namespace Constellation.Core.Logging;

/// <summary>
/// Log lines as a terminal user reads them, written at once to one writer (the CLI's stderr): information as is,
/// warnings as "warning: …", errors as "error: …"; debug and trace only when asked for. Synchronous on purpose:
/// the console logger's background queue would reorder these lines against the progress view and the summary.
/// </summary>
public sealed class PlainTextLogger(TextWriter writer, LogLevel minimum = LogLevel.Information) : ILogger, ILoggerProvider
{
    private readonly Lock _lock = new();

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimum;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var prefix = logLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            LogLevel.Debug or LogLevel.Trace => "debug: ",
            _ => string.Empty,
        };
        var line = prefix + formatter(state, exception);
        lock (_lock)
        {
            writer.WriteLine(line);
            if (exception is not null && minimum <= LogLevel.Debug)
            {
                writer.WriteLine(exception.ToString());
            }
        }
    }

    /// <summary>This logger for every category (a provider for a LoggerFactory).</summary>
    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }
}
