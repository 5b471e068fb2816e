using Constellation.Runs.Engine;
using Prometheus;

namespace Constellation.Runs.Telemetry;

/// <summary>
/// Serves a running load as Prometheus metrics on 127.0.0.1:PORT/metrics, updated once a second from the
/// engine's progress, so a Grafana next to the cluster's own dashboards shows the load that drives it.
/// </summary>
public sealed class LiveMetrics : IDisposable
{
    private readonly MetricServer _server;
    private readonly Counter _requests;
    private readonly Counter _dropped;
    private readonly Gauge _offered;
    private readonly Gauge _inFlight;
    private readonly Gauge _p95;
    private readonly Gauge _cpu;

    public LiveMetrics(int port)
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        _requests = factory.CreateCounter("constellation_requests_total", "Completed requests by scenario and result (ok = 2xx/3xx).", "scenario", "result");
        _dropped = factory.CreateCounter("constellation_dropped_total", "Arrivals dropped at the in-flight cap.", "scenario");
        _offered = factory.CreateGauge("constellation_offered_load", "Planned load now: requests/s (open model) or users (closed model).", "scenario", "unit");
        _inFlight = factory.CreateGauge("constellation_in_flight", "Requests in flight (open model) or active users (closed model).", "scenario");
        _p95 = factory.CreateGauge("constellation_latency_p95_seconds", "p95 latency over the last whole second.", "scenario");
        _cpu = factory.CreateGauge("constellation_generator_cpu_ratio", "The generator's CPU use over the last second, as a share of all cores.");
        _server = new MetricServer("127.0.0.1", port, "metrics/", registry);
        _server.Start();
    }

    public void Update(EngineProgress p)
    {
        foreach (var s in p.Scenarios)
        {
            _requests.WithLabels(s.Name, "ok").Inc(Math.Max(0, s.CompletedLastSecond - s.ErrorsLastSecond));
            _requests.WithLabels(s.Name, "error").Inc(s.ErrorsLastSecond);
            _dropped.WithLabels(s.Name).Inc(s.DroppedLastSecond);
            _offered.WithLabels(s.Name, s.Unit).Set(s.Offered);
            _inFlight.WithLabels(s.Name).Set(s.InFlight);
            _p95.WithLabels(s.Name).Set(s.P95Ms / 1000.0);
        }

        _cpu.Set(p.GeneratorCpuPercent / 100.0);
    }

    public void Dispose() => _server.Dispose();
}
