using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs.Engine;
using Constellation.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static Constellation.Tests.RawHttpServer;

namespace Constellation.Runs.Tests.Http;

/// <summary>Every answer read right: interim 1xx answers, big header blocks, what is sent, TLS, a hard stop.</summary>
public sealed class AnswerReadingTests
{
    private static readonly byte[] Ok = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

    private static Task<ScenarioResult> RunAsync(Uri url, ScenarioSpec spec, bool skipTls = false) => RunStoppableAsync(url, spec, skipTls, null, null);

    private static async Task<ScenarioResult> RunStoppableAsync(Uri url, ScenarioSpec spec, bool skipTls, CancellationTokenSource? cancel, CancellationTokenSource? abort)
    {
        var result = await new LoadEngine(TimeProvider.System).RunAsync(
            [ResolvedScenario.On(spec, url, skipTls)], null, cancel?.Token ?? TestContext.Current.CancellationToken, abort?.Token ?? CancellationToken.None);
        return result.Scenarios[0];
    }

    private static ScenarioSpec Open(double rate, double seconds, IReadOnlyDictionary<string, string>? headers = null) =>
        Plans.Open("/", rate, TimeSpan.FromSeconds(seconds)) with { Request = new RequestSpec { Path = "/", Headers = headers ?? new Dictionary<string, string>() } };

    [Theory]
    [InlineData(100, "Continue")]
    [InlineData(102, "Processing")]
    [InlineData(103, "Early Hints\r\nLink: </style.css>; rel=preload")]
    public async Task InterimAnswer_BeforeTheFinal200_OnlyTheFinalAnswerCounts(int code, string reason)
    {
        // The interim answer at once, the real one 250 ms later: every request is one 2xx of at least 200 ms (the server's timer may fire a little early).
        await using var server = new RawHttpServer(_ => [Send.Text($"HTTP/1.1 {code} {reason}\r\n\r\n"), new Pause(TimeSpan.FromMilliseconds(250)), new Send(Ok)]);

        var s = await RunAsync(server.BaseUrl, Open(rate: 20, seconds: 1));

        s.Totals.Outcomes.Status2xx.ShouldBe(20);
        s.Totals.Outcomes.Errors.ShouldBe(0);
        s.Totals.Latency.P50Ms.ShouldBeGreaterThanOrEqualTo(200);
        server.Requests.ShouldBe(20);
    }

    [Fact]
    public async Task SwitchingProtocols_IsAnError()
    {
        await using var server = new RawHttpServer(_ => [Send.Text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]);

        var s = await RunAsync(server.BaseUrl, Open(rate: 10, seconds: 0.5));

        s.Totals.Outcomes.ConnectionError.ShouldBe(5);
        s.Totals.Outcomes.Ok.ShouldBe(0);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4000\r\n\r\nok")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nok")]
    [InlineData("HTTP/1.1 999 Whatever\r\nContent-Length: 2\r\n\r\nok")]
    public async Task MalformedAnswer_IsAConnectionErrorAtOnce_NotATimeout(string answer)
    {
        await using var server = new RawHttpServer(_ => [Send.Text(answer), new Pause(TimeSpan.FromSeconds(30))]);
        var spec = Open(rate: 10, seconds: 0.3) with { Request = new RequestSpec { Path = "/", Timeout = TimeSpan.FromSeconds(20) } };

        var s = await RunAsync(server.BaseUrl, spec);

        s.Totals.Outcomes.ConnectionError.ShouldBe(3);
        s.Totals.Outcomes.Timeout.ShouldBe(0);
        s.Totals.Latency.MaxMs.ShouldBeLessThan(10_000);
    }

    [Fact]
    public async Task EndlessInterimAnswers_AreAnError_NotALoop()
    {
        await using var server = new RawHttpServer(_ => Enumerable.Repeat<Step>(Send.Text("HTTP/1.1 103 Early Hints\r\n\r\n"), 100));

        var s = await RunAsync(server.BaseUrl, Open(rate: 10, seconds: 0.3));

        s.Totals.Outcomes.ConnectionError.ShouldBe(3);
    }

    [Fact]
    public async Task HeadersUpToTheDocumentedLimit_AreRead_AndBeyondIsAnError()
    {
        static byte[] Answer(int headerBytes)
        {
            var head = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
            for (int i = 0; head.Length < headerBytes; i++)
            {
                head.Append("X-Filler-").Append(i).Append(": ").Append('v', 200).Append("\r\n");
            }

            return Encoding.ASCII.GetBytes(head.Append("\r\nok").ToString());
        }

        await using var big = new RawHttpServer(_ => [new Send(Answer(20 * 1024))]);
        await using var huge = new RawHttpServer(_ => [new Send(Answer(70 * 1024))]);

        var fine = await RunAsync(big.BaseUrl, Open(rate: 10, seconds: 0.5));
        var refused = await RunAsync(huge.BaseUrl, Open(rate: 10, seconds: 0.5));

        fine.Totals.Outcomes.Status2xx.ShouldBe(5);
        fine.Totals.Outcomes.Errors.ShouldBe(0);
        refused.Totals.Outcomes.ConnectionError.ShouldBe(5);
    }

    [Fact]
    public async Task NonAsciiHeaderValue_IsSentAsUtf8()
    {
        await using var server = new RawHttpServer(_ => [new Send(Ok)]);

        await RunAsync(server.BaseUrl, Open(rate: 10, seconds: 0.1, new Dictionary<string, string> { ["X-Name"] = "välue ✓ 東京" }));

        server.Heads.TryPeek(out var head).ShouldBeTrue();
        var text = Encoding.UTF8.GetString(head!);
        text.ShouldContain("\r\nX-Name: välue ✓ 東京");
    }

    [Fact]
    public async Task UserInfoInTheBaseUrl_IsSentAsBasicAuthorization_UnlessTheHeadersSayOtherwise()
    {
        await using var server = new RawHttpServer(_ => [new Send(Ok)]);
        var withUser = new UriBuilder(server.BaseUrl) { UserName = "load", Password = "p@ss word" }.Uri;

        await RunAsync(withUser, Open(rate: 10, seconds: 0.1));
        await RunAsync(withUser, Open(rate: 10, seconds: 0.1, new Dictionary<string, string> { ["Authorization"] = "Bearer own" }));

        var heads = server.Heads.Select(h => Encoding.UTF8.GetString(h)).ToList();
        heads.Count.ShouldBe(2);
        heads[0].ShouldContain("\r\nAuthorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("load:p@ss word")) + "\r\n");
        heads[0].ShouldContain($"\r\nHost: 127.0.0.1:{server.BaseUrl.Port}\r\n");
        heads[1].ShouldContain("\r\nAuthorization: Bearer own");
        heads[1].ShouldNotContain("Basic");
    }

    [Fact]
    public async Task SelfSignedTls_FailsByDefault_AndPassesWithInsecureSkipTlsVerify()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var generated = request.CreateSelfSigned(DateTimeOffset.Now.AddDays(-1), DateTimeOffset.Now.AddDays(1));
        using var cert = X509CertificateLoader.LoadPkcs12(generated.Export(X509ContentType.Pfx), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(cert)));
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapGet("/", () => Results.Text("tls ok"));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var url = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");

        var strict = await RunAsync(url, Open(rate: 10, seconds: 0.3));
        var skipped = await RunAsync(url, Open(rate: 10, seconds: 0.3), skipTls: true);

        strict.Totals.Outcomes.ConnectionError.ShouldBe(3);
        skipped.Totals.Outcomes.Status2xx.ShouldBe(3);
        skipped.Totals.Outcomes.Errors.ShouldBe(0);
    }

    [Fact]
    public async Task HardStop_RecordsInFlightRequestsAsCancelled_NotAsConnectionErrors()
    {
        await using var server = new RawHttpServer(_ => [new Stall()]);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        using var abort = new CancellationTokenSource();

        var run = RunStoppableAsync(server.BaseUrl, Open(rate: 20, seconds: 0.5), skipTls: false, cancel, abort);
        await WaitUntil(() => server.Requests >= 10);
        await cancel.CancelAsync(); // the first Ctrl+C: stop sending, wait for in-flight requests
        await abort.CancelAsync(); // the second: cut them off
        var s = await run;

        s.Totals.Outcomes.Cancelled.ShouldBe(10);
        s.Totals.Outcomes.ConnectionError.ShouldBe(0);
        s.Totals.Outcomes.Completed.ShouldBe(0);
        s.Totals.ErrorRate.ShouldBe(0);
    }

    [Fact]
    public async Task BodyChecks_OnStalledHugeBodies_KeepNoBody()
    {
        // 100 answers of 1.1 MiB that stop half way, all in flight at once: the scan keeps a carry-over of
        // (longest text − 1) bytes per connection, never the body (buffered, they would hold over 55 MB).
        const int size = 1_150_000;
        var head = Send.Text($"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
        var half = new Send(new byte[size / 2]); // one array for every answer: the server's memory is not the point
        await using var server = new RawHttpServer(_ => [head, half, new Stall()]);
        var spec = Plans.Open("/", 400, TimeSpan.FromSeconds(0.25)) with { Request = new RequestSpec { Path = "/", Timeout = TimeSpan.FromSeconds(4), Expect = new ResponseExpectation { BodyContains = ["never there"] } } };
        long before = GC.GetTotalMemory(forceFullCollection: true);

        var run = RunAsync(server.BaseUrl, spec);
        await WaitUntil(() => server.Requests >= 100);
        await Task.Delay(500, TestContext.Current.CancellationToken); // the half bodies arrive
        long during = GC.GetTotalMemory(forceFullCollection: true) - before;
        var s = await run;

        s.Totals.Outcomes.Timeout.ShouldBe(100);
        during.ShouldBeLessThan(20L * 1024 * 1024);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        condition().ShouldBeTrue();
    }
}
