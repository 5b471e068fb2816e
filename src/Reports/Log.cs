using Microsoft.Extensions.Logging;

namespace Constellation.Reports;

/// <summary>What the report writers and stores log.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "{Problem}")]
    public static partial void WriterFailed(this ILogger logger, string problem);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "could not update the runs index: {Reason}")]
    public static partial void RunsIndexFailed(this ILogger logger, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "S3 request attempt {Attempt} failed ({Reason}); retrying in {DelayMs:0} ms")]
    public static partial void S3Retry(this ILogger logger, int attempt, string? reason, double delayMs);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "the run is stored but the runs index in {Location} could not be updated: {Reason}")]
    public static partial void S3IndexFailed(this ILogger logger, string location, string reason);
}
