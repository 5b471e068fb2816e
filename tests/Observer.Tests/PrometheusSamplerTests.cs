using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Constellation.Core.Plans;

namespace Constellation.Observer.Tests;

/// <summary>A real Prometheus (Debian's) scraping a real SpinService's /metrics; the sampler reads it back with range queries.</summary>
public sealed class PrometheusSamplerTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "constellation-prom-" + Guid.NewGuid().ToString("n")[..8]);
    private Process? _spin;
    private Process? _prometheus;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        foreach (var p in new[] { _prometheus, _spin })
        {
            if (p is { HasExited: false })
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }

            p?.Dispose();
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task APrometheusThatNeverAnswers_CostsTheRunAGap_NotItsEnd()
    {
        var ct = TestContext.Current.CancellationToken;
        using var silent = new TcpListener(IPAddress.Loopback, 0); // accepts, never answers
        silent.Start();
        var held = new List<TcpClient>();
        _ = Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                held.Add(await silent.AcceptTcpClientAsync(ct));
            }
        }, ct);
        var spec = new PrometheusSamplerSpec { Url = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/"), Queries = [new PromQuerySpec("cpu", "up", "1")] };
        var observer = new RunObserver([], [new PrometheusSampler(spec)], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) { WindowSamplerDeadline = TimeSpan.FromSeconds(1) };
        observer.Start();

        var clock = Stopwatch.StartNew();
        var observed = await observer.StopAsync(TimeProvider.System.GetUtcNow(), ct);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        var report = observed.Observation.Samplers.Single(s => s.Name == "prometheus");
        report.Errors.ShouldBe(1);
        report.Notes.ShouldContain("failed: no answer within 1s");
        observed.Observation.Gaps.ShouldContain(g => g.Sampler == "prometheus" && g.Reason == "no answer within 1s");
        foreach (var c in held)
        {
            c.Dispose();
        }
    }

    [Fact]
    public async Task RangeQueries_OverTheRunWindow_BecomeSeries()
    {
        var ct = TestContext.Current.CancellationToken;
        var prometheusPath = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists);
        if (prometheusPath is null)
        {
            Assert.SkipWhen(Environment.GetEnvironmentVariable("CI") != "true", "prometheus is not installed (scripts/test.sh installs Debian's)");
            Assert.Fail("prometheus is not installed; scripts/test.sh should have installed it");
        }

        Directory.CreateDirectory(_dir);
        int spinPort = FreePort(), promPort = FreePort();
        _spin = Start("dotnet", [SpinServiceDll()], new() { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{spinPort}", ["Role"] = "spin" });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await WaitOkAsync(http, $"http://127.0.0.1:{spinPort}/health/ready", ct);

        var config = Path.Combine(_dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global: {"{"} scrape_interval: 1s, evaluation_interval: 1s {"}"}
            scrape_configs:
              - job_name: spin
                static_configs: [{"{"} targets: ['127.0.0.1:{spinPort}'] {"}"}]
            """, ct);
        _prometheus = Start(prometheusPath, ["--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(_dir, "data"), $"--web.listen-address=127.0.0.1:{promPort}"], []);
        await WaitOkAsync(http, $"http://127.0.0.1:{promPort}/-/ready", ct);

        // Prometheus holds its first scrape back a few seconds after it is ready: wait for it.
        await WaitOkAsync(http, $"http://127.0.0.1:{promPort}/api/v1/query?query=up", ct, body => body.Contains("\"job\":\"spin\"", StringComparison.Ordinal));

        var from = TimeProvider.System.GetUtcNow();
        for (int i = 0; i < 20; i++)
        {
            (await http.GetAsync($"http://127.0.0.1:{spinPort}/api/spin?ms=5", ct)).EnsureSuccessStatusCode();
            await Task.Delay(200, ct);
        }

        // Until Prometheus has scraped the last request.
        var counted = Uri.EscapeDataString("sum(http_requests_received_total{job=\"spin\",endpoint=\"/api/spin\"})");
        await WaitOkAsync(http, $"http://127.0.0.1:{promPort}/api/v1/query?query={counted}", ct, body => body.Contains("\"20\"]", StringComparison.Ordinal));
        var to = TimeProvider.System.GetUtcNow().AddSeconds(1); // one step on: the last evaluation sees the newest scrape

        var spec = new PrometheusSamplerSpec
        {
            Url = new Uri($"http://127.0.0.1:{promPort}/"),
            Step = TimeSpan.FromSeconds(1),
            Queries =
            [
                new PromQuerySpec("up", "up{job=\"spin\"}", ""),
                new PromQuerySpec("spin requests", "sum(http_requests_received_total{job=\"spin\",endpoint=\"/api/spin\"})", "requests"),
                new PromQuerySpec("broken", "sum(rate(", ""),
            ],
        };
        var recorder = new ObservationRecorder(TimeProvider.System);
        await new PrometheusSampler(spec).CollectAsync(recorder, from, to, ct);
        var observed = recorder.Build(from);

        var up = observed.Series.Single(s => s.Group == "prometheus: up");
        up.Name.ShouldContain("job=spin");
        up.Points.Count.ShouldBeGreaterThanOrEqualTo(4);
        up.Points.ShouldAllBe(p => p.Value == 1);
        up.Points.ShouldAllBe(p => p.Seconds >= -0.5 && p.Seconds <= (to - from).TotalSeconds + 0.5);
        var requests = observed.Series.Single(s => s.Group == "prometheus: spin requests");
        requests.Unit.ShouldBe("requests");
        requests.Points[^1].Value.ShouldBe(20);
        var report = observed.Observation.Samplers.Single(s => s.Name == "prometheus");
        report.Errors.ShouldBe(1);
        report.Notes.ShouldContain(n => n.StartsWith("'broken' failed") && n.Contains("parse error"));
    }

    private static Process Start(string file, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task WaitOkAsync(HttpClient http, string url, CancellationToken ct, Func<string, bool>? accept = null)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (30 * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            try
            {
                using var r = await http.GetAsync(url, ct);
                if (r.IsSuccessStatusCode && (accept is null || accept(await r.Content.ReadAsStringAsync(ct))))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{url} did not answer as expected within 30 s");
            }

            await Task.Delay(100, ct);
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static string SpinServiceDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var dll = Path.Combine(baseDir.Parent!.Parent!.FullName, "Constellation.SpinService", baseDir.Name, "Constellation.SpinService.dll");
        File.Exists(dll).ShouldBeTrue($"SpinService is not built at {dll}");
        return dll;
    }
}
