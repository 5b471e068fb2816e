namespace Constellation.Runs.Http;

/// <summary>How one request ended.</summary>
public enum Outcome
{
    Status2xx,
    Status3xx,
    Status4xx,
    Status5xx,
    Timeout,
    ConnectionError,

    /// <summary>A 2xx/3xx answer that failed the request's expect checks.</summary>
    CheckFailed,

    /// <summary>Aborted in flight by a hard stop (a second Ctrl+C/SIGTERM): neither an answer nor the server's failure.</summary>
    Cancelled,
}

/// <summary>The result of one exchange.</summary>
public readonly record struct HttpResult(Outcome Outcome, int StatusCode, long BytesReceived)
{
    public static Outcome Classify(int status) => status switch
    {
        >= 200 and < 300 => Outcome.Status2xx,
        >= 300 and < 400 => Outcome.Status3xx,
        >= 400 and < 500 => Outcome.Status4xx,
        _ => Outcome.Status5xx,
    };
}
