using Microsoft.Extensions.Logging;

namespace Constellation.Observer;

/// <summary>What the observer logs: faults that leave gaps, never stop the run.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "observer: kubernetes: cannot build a client: {Reason}")]
    public static partial void NoKubernetesClient(this ILogger logger, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "observer: kubernetes {What}: unexpected fault, retrying")]
    public static partial void KubernetesUnexpected(this ILogger logger, string what, Exception fault);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "observer: {Sampler} failed: {Reason}")]
    public static partial void WindowSamplerFailed(this ILogger logger, string sampler, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "observer: {Sampler} stopped: {Reason}")]
    public static partial void SamplerStopped(this ILogger logger, string sampler, string reason);
}
