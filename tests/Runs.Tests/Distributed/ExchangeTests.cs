using System.Text;
using Amazon.Runtime;
using Constellation.Runs.Distributed;

namespace Constellation.Runs.Tests.Distributed;

/// <summary>The exchange's contract, the same for a folder and for S3 (s3rver, when scripts/test.sh started it).</summary>
public sealed class ExchangeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-exchange-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true); // DeleteAll removed it already
        }
    }

    [Theory]
    [InlineData("folder")]
    [InlineData("s3")]
    public async Task PutGetListDelete_BehaveAlike(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        using var exchange = Open(kind);

        (await exchange.GetAsync("agent-0/status.json", ct)).ShouldBeNull();
        (await exchange.ListAsync("agent-0/seconds/", null, ct)).ShouldBeEmpty();
        foreach (var s in new[] { 2, 0, 1, 10 })
        {
            await exchange.PutAsync(AgentProtocol.SecondKey(0, s), Encoding.UTF8.GetBytes($"{{\"s\":{s}}}"), ct);
        }

        await exchange.PutAsync(AgentProtocol.SecondKey(1, 0), [1], ct);
        await exchange.PutAsync("agent-0/status.json", Encoding.UTF8.GetBytes("first"), ct);
        await exchange.PutAsync("agent-0/status.json", Encoding.UTF8.GetBytes("second"), ct);

        (await exchange.ListAsync("agent-0/seconds/", null, ct)).ShouldBe(["agent-0/seconds/000000.json", "agent-0/seconds/000001.json", "agent-0/seconds/000002.json", "agent-0/seconds/000010.json"]);
        (await exchange.ListAsync("agent-0/seconds/", "agent-0/seconds/000001.json", ct)).ShouldBe(["agent-0/seconds/000002.json", "agent-0/seconds/000010.json"]);
        Encoding.UTF8.GetString((await exchange.GetAsync("agent-0/status.json", ct))!).ShouldBe("second");
        Encoding.UTF8.GetString((await exchange.GetAsync(AgentProtocol.SecondKey(0, 10), ct))!).ShouldBe("{\"s\":10}");
        await exchange.DeleteAsync("agent-0/status.json", ct);
        (await exchange.GetAsync("agent-0/status.json", ct)).ShouldBeNull();

        await exchange.DeleteAllAsync(ct); // a run's exchange lives as long as the run
        (await exchange.ListAsync(string.Empty, null, ct)).ShouldBeEmpty();
    }

    /// <summary>
    /// An S3-compatible server caught mid-overwrite can answer a read with a cut ETag; the SDK throws an
    /// ArgumentException for it from its own code. The exchange reads again instead of letting it end an agent (it
    /// did: an agent's control poll died on it under CPU pressure, and the pod failed after its load).
    /// </summary>
    [Fact]
    public async Task ARead_AnsweredWithACutETag_IsTriedAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var answers = new[] { "\"abc\"", "\"9dd4e461268c8034f5c8564e155c67a6\"" }; // odd-length hex, then the MD5 of "x"
        var server = Task.Run(
            async () =>
            {
                foreach (var etag in answers)
                {
                    using var client = await listener.AcceptTcpClientAsync(ct);
                    using var stream = client.GetStream();
                    var buffer = new byte[8192];
                    var read = 0;
                    while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        read += await stream.ReadAsync(buffer.AsMemory(read), ct);
                    }

                    var response = $"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Type: application/json\r\nETag: {etag}\r\nConnection: close\r\n\r\nx";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(response), ct);
                }
            },
            ct);
        using var exchange = new S3Exchange(Reports.Stores.S3Clients.Create("us-east-1", new Uri($"http://127.0.0.1:{port}"), new BasicAWSCredentials("a", "b")), "bucket", "run");

        Encoding.UTF8.GetString((await exchange.GetAsync("control.json", ct))!).ShouldBe("x");
        await server;
    }

    private IExchange Open(string kind)
    {
        if (kind == "folder")
        {
            return new FolderExchange(_dir);
        }

        var endpoint = Environment.GetEnvironmentVariable("CONSTELLATION_TEST_S3_ENDPOINT");
        Assert.SkipWhen(string.IsNullOrEmpty(endpoint), "CONSTELLATION_TEST_S3_ENDPOINT is not set (scripts/test.sh starts s3rver)");
        return new S3Exchange(Reports.Stores.S3Clients.Create("us-east-1", new Uri(endpoint!), new BasicAWSCredentials("S3RVER", "S3RVER")), "constellation-test", $"exchange-{Guid.NewGuid():N}");
    }
}
