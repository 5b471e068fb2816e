using System.Globalization;
using System.Text;

namespace Constellation.Core.Results;

/// <summary>
/// Writes a run's per-second results as a JMeter CSV JTL in JMeter's own aggregate form (the form of its
/// "Statistical" sample sender): one row per scenario and second, with SampleCount and ErrorCount columns, and
/// elapsed and Latency as sums over the row's samples, so mean = elapsed / SampleCount as JMeter reads it. A
/// scenario of several requests has one row per request and second instead, labelled by the request (JMeter's
/// sampler labels), its thread name the scenario's.
/// </summary>
public static class JtlWriter
{
    public const string Header = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,SampleCount,ErrorCount,IdleTime,Connect";

    /// <summary>Writes the header and one row per scenario-second with completed requests; returns the rows written.</summary>
    public static int Write(RunRecord run, TextWriter w)
    {
        var inv = CultureInfo.InvariantCulture;
        long startMs = run.Environment.StartedUtc.ToUnixTimeMilliseconds();

        // Threads (users, or requests in flight in the open model) per whole run second, over all scenarios: allThreads.
        var all = new Dictionary<long, long>();
        foreach (var s in run.Scenarios)
        {
            foreach (var sec in s.Seconds)
            {
                long at = RunSecond(s, sec);
                all[at] = all.GetValueOrDefault(at) + Threads(s, sec);
            }
        }

        w.Write(Header);
        w.Write('\n');
        int rows = 0;
        var byTime = run.Scenarios
            .SelectMany(s => (s.Requests.Count == 0 ? [s] : s.Requests).SelectMany((series, order) => series.Seconds
                .Where(sec => sec.Outcomes.Completed > 0)
                .Select(sec => (Scenario: s, Series: series, Order: order, Sec: sec, At: RunSecond(s, sec)))))
            .OrderBy(x => x.At).ThenBy(x => x.Scenario.Name, StringComparer.Ordinal).ThenBy(x => x.Order);
        foreach (var (s, series, _, sec, at) in byTime)
        {
            var threads = series == s ? Threads(s, sec) : s.Seconds.FirstOrDefault(p => p.Second == sec.Second) is { } own ? Threads(s, own) : 0;
            var o = sec.Outcomes;
            long count = o.Completed;
            long errors = o.Errors;
            w.Write(string.Join(',',
                (startMs + (at * 1000)).ToString(inv),
                Math.Round(sec.Latency.MeanMs * count).ToString(inv),
                Csv(series.Name),
                string.Empty,
                Csv(Breakdown(o, errorsOnly: false)),
                Csv(s.Name),
                "text",
                errors == 0 ? "true" : "false",
                Csv(Breakdown(o, errorsOnly: true)),
                sec.BytesReceived.ToString(inv),
                "0",
                threads.ToString(inv),
                all.GetValueOrDefault(at).ToString(inv),
                Csv(series.Url),
                Math.Round(sec.ServiceTime.MeanMs * count).ToString(inv),
                count.ToString(inv),
                errors.ToString(inv),
                "0",
                "0"));
            w.Write('\n');
            rows++;
        }

        return rows;
    }

    private static long RunSecond(ScenarioResult s, SecondSample sec) => (long)Math.Floor(s.StartOffsetSeconds) + sec.Second;

    private static long Threads(ScenarioResult s, SecondSample sec) =>
        s.Model == "closed" ? (long)Math.Round(sec.Offered / Math.Max(1, s.SecondsPerPoint)) : sec.InFlight;

    /// <summary>"2xx=98 5xx=2": the row's outcomes (or only its errors), as the response or failure message.</summary>
    private static string Breakdown(OutcomeCounts o, bool errorsOnly)
    {
        var parts = new (string Name, long Count, bool Error)[]
        {
            ("2xx", o.Status2xx, false), ("3xx", o.Status3xx, false), ("4xx", o.Status4xx, true), ("5xx", o.Status5xx, true),
            ("timeout", o.Timeout, true), ("connection_error", o.ConnectionError, true), ("check_failed", o.CheckFailed, true),
            ("cancelled", o.Cancelled, false),
        };
        return string.Join(' ', parts.Where(p => p.Count > 0 && (!errorsOnly || p.Error)).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}={p.Count}")));
    }

    /// <summary>A CSV field, quoted as JMeter quotes one (when it holds a comma, a quote or a line break).</summary>
    private static string Csv(string value)
    {
        if (value.IndexOfAny([',', '"', '\n', '\r']) < 0)
        {
            return value;
        }

        return new StringBuilder(value.Length + 2).Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"').ToString();
    }
}
