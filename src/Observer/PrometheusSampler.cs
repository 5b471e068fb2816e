using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Constellation.Core.Plans;

namespace Constellation.Observer;

/// <summary>
/// Runs the plan's PromQL range queries over the observed window once the run is over (Prometheus keeps the
/// data; polling it during the run would only add load). Each returned series becomes a series of the chart.
/// </summary>
public sealed class PrometheusSampler(PrometheusSamplerSpec spec, HttpMessageHandler? handler = null) : IWindowSampler
{
    public string Name => "prometheus";

    public async Task CollectAsync(ObservationRecorder recorder, DateTimeOffset fromUtc, DateTimeOffset toUtc, CancellationToken ct)
    {
        using var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.Timeout = TimeSpan.FromSeconds(30);
        foreach (var q in spec.Queries)
        {
            var url = new Uri(spec.Url ?? throw new InvalidOperationException("observe.prometheus.url is required"), "api/v1/query_range?" + string.Join('&',
                "query=" + Uri.EscapeDataString(q.Query),
                "start=" + Unix(fromUtc),
                "end=" + Unix(toUtc),
                "step=" + spec.Step.TotalSeconds.ToString(CultureInfo.InvariantCulture)));
            try
            {
                using var response = await client.GetAsync(url, ct).ConfigureAwait(false);
                var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode || body.GetProperty("status").GetString() != "success")
                {
                    var error = body.TryGetProperty("error", out var e) ? e.GetString() : response.ReasonPhrase;
                    throw new HttpRequestException($"HTTP {(int)response.StatusCode}: {error}");
                }

                int count = 0;
                foreach (var series in body.GetProperty("data").GetProperty("result").EnumerateArray())
                {
                    var name = SeriesName(series.GetProperty("metric"), q.Name);
                    foreach (var v in series.GetProperty("values").EnumerateArray())
                    {
                        var at = DateTimeOffset.FromUnixTimeMilliseconds((long)(v[0].GetDouble() * 1000));
                        if (double.TryParse(v[1].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                        {
                            recorder.Point($"prometheus: {q.Name}", name, q.Unit, recorder.ToSeconds(at), value);
                            count++;
                        }
                    }
                }

                recorder.Count(Name, count);
                if (count == 0)
                {
                    recorder.Note(Name, $"'{q.Name}' returned no data");
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                recorder.Count(Name, 0, 1);
                recorder.Note(Name, $"'{q.Name}' failed: {e.Message}");
            }
        }
    }

    private static string Unix(DateTimeOffset t) => (t.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The series' labels, without __name__, as "a=1, b=2"; the query name when it has none.</summary>
    private static string SeriesName(JsonElement metric, string fallback)
    {
        var labels = metric.EnumerateObject().Where(p => p.Name != "__name__").Select(p => $"{p.Name}={p.Value.GetString()}").ToList();
        return labels.Count == 0 ? fallback : string.Join(", ", labels);
    }
}
