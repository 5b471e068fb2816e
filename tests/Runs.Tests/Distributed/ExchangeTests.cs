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
