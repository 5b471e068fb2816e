using System.Diagnostics;
using Constellation.Core.Plans;
using Constellation.Runs.Engine;
using Constellation.Runs.Http;
using Constellation.Tests;

namespace Constellation.Runs.Tests.Engine;

/// <summary>
/// The open model's single-threaded loop (one plain request per arrival): it reads answers only when it wakes for a
/// batch of arrivals, so what it measures must not depend on when it read them.
/// </summary>
public sealed class OpenLoopTests : IAsyncLifetime
{
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync() => await _target.DisposeAsync();

    [Fact]
    public void Loop_RunsOnLinux()
    {
        // Where it can run, the plain open model must be on it (the tests below would otherwise test the other path).
        OpenLoop.Supported.ShouldBe(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.Arm64);
    }

    [Fact]
    public async Task AnswerReadLate_IsTimedByItsArrival_NotByTheRead()
    {
        Assert.SkipUnless(OpenLoop.Supported, "the single-threaded loop needs Linux");

        // 20 arrivals a second: after each send the loop sleeps MaxSleep (10 ms) before it reads, while /ok answers in
        // well under a millisecond. Timed at the read, every latency would be ~10 ms; timed by the kernel's receive
        // timestamp, it is the server's.
        var (runner, _) = await Start(Plans.Open("/ok", rate: 20, duration: TimeSpan.FromSeconds(1.5)), TestContext.Current.CancellationToken);
        var interval = runner.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create());

        interval.Counts.Status2xx.ShouldBe(30);
        double p50Ms = interval.Latency.GetValueAtPercentile(50) / 1000.0;
        p50Ms.ShouldBeLessThan(OpenLoop.MaxSleep.TotalMilliseconds / 2, $"p50 {p50Ms} ms: answers were timed when read");
            }

    [Fact]
    public async Task LargeRequestAndAnswer_AreSentAndReadWhole()
    {
        Assert.SkipUnless(OpenLoop.Supported, "the single-threaded loop needs Linux");

        // A body far beyond a socket's send buffer goes out in parts; an answer beyond its receive buffer comes in parts.
        var post = Plans.Open("/length", rate: 10, duration: TimeSpan.FromSeconds(0.5)) with
        {
            Request = new RequestSpec { Method = "POST", Path = "/length", Body = new string('b', 3_000_000), Expect = new ResponseExpectation { BodyContains = ["length=3000000"] } },
        };
        var (sent, _) = await Start(post, TestContext.Current.CancellationToken);
        var answers = sent.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create());
        answers.Counts.Status2xx.ShouldBe(5);
        answers.Counts.CheckFailed.ShouldBe(0);

        var (read, _) = await Start(Plans.Open("/bytes?n=8000000", rate: 10, duration: TimeSpan.FromSeconds(0.5)), TestContext.Current.CancellationToken);
        var big = read.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create());
        big.Counts.Status2xx.ShouldBe(5);
        big.Bytes.ShouldBeGreaterThan(5 * 8_000_000L);
    }

    [Fact]
    public async Task SteadyState_AllocatesNothingPerRequest()
    {
        Assert.SkipUnless(OpenLoop.Supported, "the single-threaded loop needs Linux");

        // After the first second (connections opened), a request costs no allocation: no task, no buffer, no closure.
        var (runner, _) = await Start(Plans.Open("/ok", rate: 2000, duration: TimeSpan.FromSeconds(2.5)), TestContext.Current.CancellationToken);

        runner.LoopBytesPerRequest.ShouldNotBeNull();
        runner.LoopBytesPerRequest!.Value.ShouldBeLessThan(8, "bytes allocated per request by the loop's thread");

        // And the connections are kept alive: they carry many requests each (one per request would be 5,000 handshakes).
        runner.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create()).Counts.Status2xx.ShouldBe(5000);
        runner.LoopConnectionsOpened.ShouldBeInRange(1, 1000); // the first moments (a cold server) take a few hundred
    }

    [Fact]
    public async Task HardStop_EndsTheLoopAtOnce_AndCountsWhatWasInFlightAsCancelled()
    {
        Assert.SkipUnless(OpenLoop.Supported, "the single-threaded loop needs Linux");

        using var abort = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var clock = Stopwatch.StartNew();
        abort.CancelAfter(TimeSpan.FromSeconds(0.6));
        var (runner, _) = await Start(Plans.Open("/slow?ms=5000", rate: 50, duration: TimeSpan.FromSeconds(30)), abort.Token);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));

        var interval = runner.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create());
        interval.Counts.Cancelled.ShouldBe(interval.Started);
        interval.Started.ShouldBeInRange(25, 35);
        runner.InFlight.ShouldBe(0);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n\r\na body that runs to the close", true)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncut short", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Le", false)]
    public async Task ServerClosesAfterItsBytes_TheAnswerEndsThere_NotAtTheTimeout(string answer, bool complete)
    {
        Assert.SkipUnless(OpenLoop.Supported, "the single-threaded loop needs Linux");

        // The server's close comes right after its bytes, before the loop reads them: a body framed by the close is
        // complete (2xx), a cut one a connection error — at once, not after the 20 s timeout.
        await using var server = new RawHttpServer(_ => [RawHttpServer.Send.Text(answer), new RawHttpServer.Hangup()]);
        var spec = Plans.Open("/", rate: 10, duration: TimeSpan.FromSeconds(0.5)) with { Request = new RequestSpec { Path = "/", Timeout = TimeSpan.FromSeconds(20) } };
        var clock = Stopwatch.StartNew();
        var (runner, _) = await Start(spec, TestContext.Current.CancellationToken, server.BaseUrl);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        var counts = runner.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create()).Counts;
        (complete ? counts.Status2xx : counts.ConnectionError).ShouldBe(5);
        counts.Timeout.ShouldBe(0);
    }

    [Fact]
    public async Task EndlessAnswer_EndsAtItsTimeout_AndArrivalsStayOnTime()
    {
        Assert.SkipUnless(OpenLoop.Supported, "the single-threaded loop needs Linux");

        // Each answer streams without end as fast as it is read: bytes keep coming, yet each request ends at its
        // timeout, and the loop still releases every arrival on time.
        await using var server = new RawHttpServer(_ => [RawHttpServer.Send.Text("HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n"), new RawHttpServer.Flood()]);
        var spec = Plans.Open("/", rate: 20, duration: TimeSpan.FromSeconds(1)) with { Request = new RequestSpec { Path = "/", Timeout = TimeSpan.FromSeconds(1) } };
        var clock = Stopwatch.StartNew();
        var (runner, _) = await Start(spec, TestContext.Current.CancellationToken, server.BaseUrl);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        var interval = runner.Recorder.TakeInterval(Core.Results.Histograms.Create(), Core.Results.Histograms.Create());
        interval.Started.ShouldBe(20);
        interval.Counts.Timeout.ShouldBe(20);
        runner.TakePacerLagMaxMs().ShouldBeLessThan(100);
    }

    private async Task<(OpenModelRunner Runner, long Start)> Start(ScenarioSpec spec, CancellationToken abort, Uri? baseUrl = null)
    {
        var time = TimeProvider.System;
        var request = spec.Request;
        var url = baseUrl is null ? _target.Url(request.Path.TrimStart('/')) : new Uri(baseUrl, request.Path);
        var endpoint = await HttpEndpoint.CreateAsync(url, request.Method, request.Headers, request.Body, request.Timeout, TestContext.Current.CancellationToken, request.Expect);
        using var watchdog = new TimeoutWatchdog(time);
        var executor = new RequestExecutor(endpoint, new ScenarioRecorder(), watchdog, time);
        var runner = new OpenModelRunner(spec, [executor], time, Core.Load.LoadShare.Whole);
        long start = time.GetTimestamp();
        await runner.RunAsync(start, abort);
        return (runner, start);
    }
}
