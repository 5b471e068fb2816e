using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Constellation.Tests;

namespace Constellation.Runs.Tests.Engine;

public sealed class LoadEngineTests : IAsyncLifetime
{
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync() => await _target.DisposeAsync();

    private Task<EngineResult> Run(Core.Plans.ScenarioSpec spec) => RunUntil(spec, TestContext.Current.CancellationToken);

    private Task<EngineResult> RunUntil(Core.Plans.ScenarioSpec spec, CancellationToken cancel) =>
        new LoadEngine(TimeProvider.System).RunAsync([new ResolvedScenario(spec, _target.Url(spec.Request.Path.TrimStart('/')))], null, cancel);

    [Fact]
    public async Task Open_ConstantRate_StartsExactlyThePlannedArrivals()
    {
        var result = await Run(Plans.Open("/ok", rate: 300, duration: TimeSpan.FromSeconds(2)));

        var s = result.Scenarios[0];
        s.Seconds.Sum(x => x.Started).ShouldBe(600);
        s.Totals.Outcomes.Status2xx.ShouldBe(600);
        s.Seconds.Take(2).Select(x => x.Offered).ShouldBe([300.0, 300.0]);
        _target.Requests.ShouldBe(600);
    }

    [Fact]
    public async Task Open_LinearRamp_OffersTheRampSecondBySecond()
    {
        // 0 → 200 req/s over 4 s: the integral per second is 25, 75, 125, 175.
        var result = await Run(Plans.Ramp("/ok", 0, 200, TimeSpan.FromSeconds(4)));

        var s = result.Scenarios[0];
        s.Seconds.Take(4).Select(x => x.Offered).ShouldBe([25.0, 75.0, 125.0, 175.0]);
        s.Seconds.Sum(x => x.Started).ShouldBe(400);
        s.Totals.Requests.ShouldBe(400);
    }

    [Fact]
    public async Task Open_Steps_HoldEachStepForItsDuration()
    {
        // +50 every second from 50 to 150, as a JMeter stepping thread group would.
        var load = new Core.Plans.LoadSpec
        {
            Model = Core.Plans.LoadModel.Open,
            Segments = [.. new[] { 50.0, 100.0, 150.0 }.Select(r => new Core.Plans.LoadSegment(TimeSpan.FromSeconds(1), r, r))],
        };

        var result = await Run(Plans.Scenario("/ok", load, null, []));

        var s = result.Scenarios[0];
        s.Seconds.Take(3).Select(x => x.Offered).ShouldBe([50.0, 100.0, 150.0]);
        s.Seconds.Sum(x => x.Started).ShouldBe(300);
        s.Totals.Outcomes.Status2xx.ShouldBe(300);
    }

    [Fact]
    public async Task Closed_Users_KeepExactlyThatManyRequestsInFlight()
    {
        var result = await Run(Plans.Closed("/slow?ms=50", users: 5, duration: TimeSpan.FromSeconds(1.5)));

        _target.MaxConcurrent.ShouldBe(5);
        var s = result.Scenarios[0];
        s.Totals.Outcomes.Status2xx.ShouldBeGreaterThan(5 * 10);
        s.Totals.Errors().ShouldBe(0);
    }

    [Fact]
    public async Task RampToFail_ErrorRateHolds_StopsAndRecordsBreakingPoint()
    {
        // The target answers 500 once it has served 150 requests; the ramp would run 10 s.
        var spec = Plans.Ramp("/fail-after?n=150", 50, 250, TimeSpan.FromSeconds(10), "error_rate > 50% over 1s");

        var result = await Run(spec);

        var s = result.Scenarios[0];
        s.EndReason.ShouldBe(EndReason.Stopped);
        s.DurationSeconds.ShouldBeLessThan(8);
        var bp = s.BreakingPoint.ShouldNotBeNull();
        bp.Condition.ShouldBe("error_rate > 50% over 1s");
        bp.Unit.ShouldBe("req/s");
        bp.OfferedAtFailure.ShouldBeGreaterThan(bp.LastHealthyOffered);
        bp.LastHealthyOffered.ShouldBeGreaterThanOrEqualTo(50);
        bp.PeakOkPerSecond.ShouldBeGreaterThan(0);
        s.Seconds.Sum(x => x.Started).ShouldBeLessThan(1500);
    }

    [Fact]
    public async Task Open_ServerStallsOneSecond_LatencyShowsTheStall()
    {
        // No coordinated omission: arrivals during the stall keep their intended start times.
        using var stall = new Timer(_ => _target.CloseGate(), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var resume = new Timer(_ => _target.OpenGate(), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);

        var result = await Run(Plans.Open("/ok", rate: 100, duration: TimeSpan.FromSeconds(3)));

        var l = result.Scenarios[0].Totals.Latency;
        l.MaxMs.ShouldBeGreaterThan(800);
        l.P99Ms.ShouldBeGreaterThan(700);
        l.P90Ms.ShouldBeGreaterThan(100);
        result.Scenarios[0].Totals.Requests.ShouldBe(300);
    }

    [Fact]
    public async Task Outcomes_AreClassifiedByStatusClass()
    {
        foreach (var (path, check) in new (string, Func<OutcomeCounts, long>)[]
        {
            ("/status/204", o => o.Status2xx),
            ("/status/302", o => o.Status3xx),
            ("/status/404", o => o.Status4xx),
            ("/status/503", o => o.Status5xx),
        })
        {
            var result = await Run(Plans.Open(path, rate: 20, duration: TimeSpan.FromSeconds(0.5)));
            var o = result.Scenarios[0].Totals.Outcomes;
            check(o).ShouldBe(10, path);
            o.Completed.ShouldBe(10, path);
        }
    }

    [Fact]
    public async Task Timeout_SlowResponse_CountsAsTimeout()
    {
        var result = await Run(Plans.Open("/slow?ms=3000", rate: 10, duration: TimeSpan.FromSeconds(0.5), timeout: TimeSpan.FromMilliseconds(300)));

        var s = result.Scenarios[0];
        s.Totals.Outcomes.Timeout.ShouldBe(5);
        s.Totals.Latency.MaxMs.ShouldBeInRange(300, 1500);
    }

    [Fact]
    public async Task ConnectionRefused_CountsAsConnectionError()
    {
        var closed = PortWithNoListener();
        var spec = Plans.Open("/ok", rate: 20, duration: TimeSpan.FromSeconds(0.5));

        var result = await new LoadEngine(TimeProvider.System).RunAsync([new ResolvedScenario(spec, new Uri($"http://127.0.0.1:{closed}/ok"))], null, TestContext.Current.CancellationToken);

        result.Scenarios[0].Totals.Outcomes.ConnectionError.ShouldBe(10);
    }

    [Fact]
    public async Task InFlightCap_Reached_ArrivalsAreDroppedNotDelayed()
    {
        var result = await Run(Plans.Open("/slow?ms=800", rate: 40, duration: TimeSpan.FromSeconds(0.5), maxInFlight: 3));

        var s = result.Scenarios[0];
        s.Totals.Outcomes.Dropped.ShouldBe(17);
        s.Totals.Outcomes.Status2xx.ShouldBe(3);
        _target.MaxConcurrent.ShouldBe(3);
    }

    [Fact]
    public async Task ChunkedAndConnectionClose_ResponsesAreReadCompletely()
    {
        var chunked = await Run(Plans.Open("/chunked", rate: 50, duration: TimeSpan.FromSeconds(0.4)));
        var close = await Run(Plans.Open("/close", rate: 50, duration: TimeSpan.FromSeconds(0.4)));

        chunked.Scenarios[0].Totals.Outcomes.Status2xx.ShouldBe(20);
        chunked.Scenarios[0].Totals.BytesReceived.ShouldBeGreaterThan(20 * 20_000);
        close.Scenarios[0].Totals.Outcomes.Status2xx.ShouldBe(20);
        close.Scenarios[0].Totals.Errors().ShouldBe(0);
    }

    [Fact]
    public async Task KeepAlive_ServerClosedIdleConnection_RequestIsRetriedOnAFreshOne()
    {
        // Kestrel drops connections idle for 1 s; arrivals come every 2.5 s, so each finds its pooled
        // connection closed by the server.
        await using var target = await TestTarget.StartAsync(keepAliveTimeout: TimeSpan.FromSeconds(1));
        var spec = Plans.Open("/ok", rate: 0.4, duration: TimeSpan.FromSeconds(7.6));

        var result = await new LoadEngine(TimeProvider.System).RunAsync([new ResolvedScenario(spec, target.Url("ok"))], null, TestContext.Current.CancellationToken);

        var o = result.Scenarios[0].Totals.Outcomes;
        o.Status2xx.ShouldBe(4);
        o.Errors.ShouldBe(0);
    }

    [Fact]
    public async Task Cancel_MidRun_StopsPromptlyAndKeepsWhatWasMeasured()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(1.2));
        var started = TimeProvider.System.GetTimestamp();

        var result = await RunUntil(Plans.Open("/ok", rate: 50, duration: TimeSpan.FromSeconds(30)), cts.Token);

        TimeProvider.System.GetElapsedTime(started).ShouldBeLessThan(TimeSpan.FromSeconds(10));
        result.Cancelled.ShouldBeTrue();
        result.Scenarios[0].EndReason.ShouldBe(EndReason.Cancelled);
        result.Scenarios[0].Totals.Requests.ShouldBeInRange(40, 200);
        result.Scenarios[0].Seconds.ShouldNotBeEmpty();
    }

    [Fact]
    public async Task PerSecondHistograms_MergeToTheTotals()
    {
        var result = await Run(Plans.Open("/ok", rate: 200, duration: TimeSpan.FromSeconds(2)));

        var s = result.Scenarios[0];
        var merged = Histograms.Merge(s.Seconds.Where(x => x.LatencyHistogram is not null).Select(x => Histograms.Decode(x.LatencyHistogram!)));
        merged.TotalCount.ShouldBe(s.Totals.Requests);
        Histograms.Summarise(merged).ShouldBe(s.Totals.Latency);
    }

    [Fact]
    public async Task Generator_HealthIsRecordedEverySecond()
    {
        var result = await Run(Plans.Open("/ok", rate: 100, duration: TimeSpan.FromSeconds(2)));

        result.Generator.Seconds.Count.ShouldBeGreaterThanOrEqualTo(2);
        result.Generator.Seconds.ShouldAllBe(g => g.CpuPercent >= 0 && g.CpuPercent <= 100 && g.PacerLagMaxMs >= 0);
        result.Generator.Seconds.Select(g => g.Second).ShouldBe(Enumerable.Range(0, result.Generator.Seconds.Count));

        // Every arrival's lag, not only each second's worst: a second's p99 is never above its worst (HDR's 3 digits aside).
        var paced = result.Generator.Seconds.Where(g => g.PacerLagP99Ms is not null).ToList();
        paced.Count.ShouldBeGreaterThanOrEqualTo(2);
        paced.ShouldAllBe(g => g.PacerLagP99Ms >= 0 && g.PacerLagP99Ms <= (g.PacerLagMaxMs * 1.01) + 0.002);
        paced.ShouldAllBe(g => g.PacerLagHistogram != null && g.GcPauseMs >= 0);

        // The run's p99 merges every arrival after the first second: between the best and the worst second's p99.
        var steady = result.Generator.Seconds.Skip(1).Where(g => g.PacerLagP99Ms is not null).ToList();
        var merged = Histograms.Merge(steady.Select(g => Histograms.Decode(g.PacerLagHistogram!)));
        result.Generator.PacerLagP99Ms.ShouldBe(Math.Round(merged.GetValueAtPercentile(99) / 1000.0, 3));
        result.Generator.PacerLagP99Ms!.Value.ShouldBeInRange(steady.Min(g => g.PacerLagP99Ms!.Value), steady.Max(g => g.PacerLagP99Ms!.Value));
    }

    [Fact]
    public async Task Generator_ClosedModel_HasNoArrivalLag()
    {
        var result = await Run(Plans.Closed("/ok", users: 2, duration: TimeSpan.FromSeconds(1.5)));

        result.Scenarios[0].Totals.Requests.ShouldBeGreaterThan(0);
        result.Generator.Seconds.ShouldAllBe(g => g.PacerLagP99Ms == null);
        result.Generator.PacerLagP99Ms.ShouldBeNull();
        result.Generator.DescribePacerLag().ShouldNotContain("p99");
    }

    [Fact]
    public void ShortSlice_IsGrantedWhereTheKernelHasEevdfSlices()
    {
        // Linux 6.12 added per-thread slices for SCHED_OTHER; the kernel reports the thread's in /proc/thread-self/sched.
        (bool granted, string? sched) = (false, null);
        var thread = new Thread(() =>
        {
            granted = PreciseSleep.RequestShortSlice(TimeSpan.FromMicroseconds(100));
            sched = File.Exists("/proc/thread-self/sched") ? File.ReadAllText("/proc/thread-self/sched") : null;
        });
        thread.Start();
        thread.Join();

        var kernel = Environment.OSVersion.Version;
        if (!OperatingSystem.IsLinux() || kernel < new Version(6, 12) || sched is null || !sched.Contains("se.slice", StringComparison.Ordinal))
        {
            return; // nothing to ask for here: the pacer keeps the default slice
        }

        granted.ShouldBeTrue();
        sched.Split('\n').Single(l => l.StartsWith("se.slice", StringComparison.Ordinal)).Split(':')[1].Trim().ShouldBe("100000");
    }

    private static int PortWithNoListener()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }
}

internal static class OutcomeExtensions
{
    public static long Errors(this ScenarioTotals t) => t.Outcomes.Errors;
}
