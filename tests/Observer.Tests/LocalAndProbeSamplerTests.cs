using System.Diagnostics;
using Constellation.Core.Plans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Constellation.Observer.Tests;

public sealed class LocalAndProbeSamplerTests
{
    [Fact]
    public void ReadProcess_OwnProcess_HasCpuTicksAndMemory()
    {
        var p = LocalProcessSampler.ReadProcess(Environment.ProcessId).ShouldNotBeNull();
        p.RssBytes.ShouldBeGreaterThan(10L * 1024 * 1024);
        p.CpuTicks.ShouldBeGreaterThan(0);
        LocalProcessSampler.ReadProcess(int.MaxValue).ShouldBeNull();
        var m = LocalProcessSampler.ReadMachine().ShouldNotBeNull();
        m.Total.ShouldBeGreaterThan(m.Idle);
    }

    [Fact]
    public async Task LocalSampler_SeesABusyProcessBusy_AndAnIdleOneIdle()
    {
        var ct = TestContext.Current.CancellationToken;
        using var idle = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        using var stopBurning = new CancellationTokenSource();
        var burner = new Thread(() =>
        {
            while (!stopBurning.IsCancellationRequested)
            {
                Thread.SpinWait(1000);
            }
        }) { IsBackground = true };
        burner.Start();
        try
        {
            var sampler = new LocalProcessSampler(TimeSpan.FromMilliseconds(200), new Dictionary<string, int> { ["me"] = Environment.ProcessId, ["sleeper"] = idle.Id }, TimeProvider.System);
            var observer = new RunObserver([sampler], [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            var start = TimeProvider.System.GetUtcNow();
            observer.Start();
            await Until(() => observer.Recorder.SamplesOf("local") >= 10, ct); // five ticks of both processes
            idle.Kill();
            var before = observer.Recorder.SamplesOf("local");
            await Until(() => observer.Recorder.SamplesOf("local") >= before + 2, ct); // two more ticks: the exit was seen
            var observed = await observer.StopAsync(start, ct);

            var me = observed.Series.Single(s => s.Group == LocalProcessSampler.CpuGroup && s.Name == "me");
            me.Points.Count.ShouldBeGreaterThanOrEqualTo(4);
            me.Points.Max(p => p.Value).ShouldBeGreaterThan(50); // one thread spinning is most of a core
            var sleeper = observed.Series.Single(s => s.Group == LocalProcessSampler.CpuGroup && s.Name == "sleeper");
            sleeper.Points.Max(p => p.Value).ShouldBeLessThan(10);
            observed.Series.ShouldContain(s => s.Group == LocalProcessSampler.MemoryGroup && s.Name == "me" && s.Points.All(p => p.Value > 10));
            observed.Series.ShouldContain(s => s.Group == LocalProcessSampler.CpuGroup && s.Name.StartsWith("machine"));
            observed.Events.ShouldContain(e => e.Kind == "ProcessExited" && e.Text.Contains("sleeper"));
        }
        finally
        {
            await stopBurning.CancelAsync();
            burner.Join();
        }
    }

    [Fact]
    public async Task Probe_RecordsLatencyAndFailures_AtItsRate_SkippingTheWarmUp()
    {
        var ct = TestContext.Current.CancellationToken;
        int calls = 0;
        await using var app = await StartAsync(async context =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                await Task.Delay(300, context.RequestAborted); // a cold first answer: not part of the samples
            }

            context.Response.StatusCode = n % 5 == 0 ? 503 : 200;
            await context.Response.WriteAsync("ok", context.RequestAborted);
        });

        var probe = new ProbeSampler(new ProbeSpec { Target = "webapp", Path = "/page", Rate = 10, Timeout = TimeSpan.FromSeconds(2) }, app.Url, TimeProvider.System);
        var observer = new RunObserver([probe], [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var start = TimeProvider.System.GetUtcNow();
        observer.Start();
        await Until(() => Volatile.Read(ref calls) >= 18, ct); // the warm-up and about 1.7 s of probes at 10/s
        var observed = await observer.StopAsync(start, ct);

        var result = observed.Observation.Probes.Single();
        result.Target.ShouldBe("webapp");
        result.Url.ShouldEndWith("/page");
        result.Samples.Count.ShouldBeInRange(16, 20); // every probe sent was recorded (the warm-up was not)
        result.Samples.ShouldAllBe(s => s.LatencyMs < 300);
        result.Samples.Count(s => s.Status == 503).ShouldBeGreaterThanOrEqualTo(2);
        result.Samples.Where(s => s.Ok).ShouldAllBe(s => s.Status == 200);
        result.Samples.Select(s => s.Seconds).ShouldBeInOrder();
    }

    [Fact]
    public async Task Probe_ToANonListeningPort_RecordsFailedProbes_NotAnException()
    {
        var ct = TestContext.Current.CancellationToken;
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var probe = new ProbeSampler(new ProbeSpec { Target = "gone", Rate = 5, Timeout = TimeSpan.FromSeconds(1) }, new Uri($"http://127.0.0.1:{port}/"), TimeProvider.System);
        var observer = new RunObserver([probe], [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var start = TimeProvider.System.GetUtcNow();
        observer.Start();
        await Until(() => observer.Recorder.SamplesOf("probe gone") >= 4, ct);
        var observed = await observer.StopAsync(start, ct);
        var samples = observed.Observation.Probes.Single().Samples;
        samples.ShouldNotBeEmpty();
        samples.ShouldAllBe(s => s.Status == 0 && !s.Ok);
        observed.Observation.Samplers.Single().Errors.ShouldBe(samples.Count);
    }

    [Fact]
    public async Task AFailingSampler_LeavesAGap_AndTheOthersCarryOn()
    {
        var ct = TestContext.Current.CancellationToken;
        var local = new LocalProcessSampler(TimeSpan.FromMilliseconds(100), new Dictionary<string, int> { ["me"] = Environment.ProcessId }, TimeProvider.System);
        var observer = new RunObserver([new Broken(), local], [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var start = TimeProvider.System.GetUtcNow();
        observer.Start();
        await Until(() => observer.Recorder.SamplesOf("local") >= 4 && observer.Recorder.SamplesOf("broken") >= 1, ct); // it failed; the other kept sampling
        var observed = await observer.StopAsync(start, ct);
        observed.Observation.Gaps.ShouldContain(g => g.Sampler == "broken" && g.Reason.Contains("sampler failed") && g.Reason.Contains("boom"));
        observed.Series.ShouldContain(s => s.Name == "me" && s.Points.Count >= 3);
    }

    private static async Task Until(Func<bool> condition, CancellationToken ct)
    {
        for (int i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(50, ct);
        }

        condition().ShouldBeTrue("the condition did not hold within 20 s");
    }

    private sealed class Broken : ISampler
    {
        public string Name => "broken";

        public async Task RunAsync(ObservationRecorder recorder, CancellationToken stop)
        {
            await Task.Delay(50, stop);
            throw new InvalidOperationException("boom");
        }
    }

    internal static async Task<Stub> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return new Stub(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    internal sealed record Stub(WebApplication App, Uri Url) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
