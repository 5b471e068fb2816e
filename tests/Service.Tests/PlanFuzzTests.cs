using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Constellation.Tests;
using CsCheck;

namespace Constellation.Service.Tests;

/// <summary>
/// The service's plan listing (GET /api/plans, which a viewer may call) over a thousand seeded mutations of every valid
/// plan of the repository, 25 files a request: always 200 within 2 s, every file listed, every broken one with its
/// errors — a plan file never fails a request or the service.
/// </summary>
public sealed class PlanFuzzTests : IAsyncDisposable
{
    private static readonly IReadOnlyList<(string Name, string Text)> Corpus = PlanMutator.Corpus();
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-service-fuzz-").FullName;
    private readonly ServiceTestHost _host;

    public PlanFuzzTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "plans"));
        _host = new ServiceTestHost(new Dictionary<string, string?>
        {
            ["Constellation:PlansFolder"] = Path.Combine(_dir, "plans"),
            ["Constellation:RunsFolder"] = Path.Combine(_dir, "runs"),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task PlanListing_OverMutatedPlanFiles_IsAlways200_WithEveryFileAndItsErrors()
    {
        var batch = Gen.Int.Array[25];
        await batch.SampleAsync(
            async seeds =>
            {
                var plans = Path.Combine(_dir, "plans");
                foreach (var f in Directory.GetFiles(plans))
                {
                    File.Delete(f);
                }

                for (int i = 0; i < seeds.Length; i++)
                {
                    var (_, text) = Corpus[(int)((uint)seeds[i] % (uint)Corpus.Count)];
                    await File.WriteAllTextAsync(Path.Combine(plans, $"p{i:00}.yaml"), PlanMutator.Mutate(text, seeds[i], 1 + (int)((uint)seeds[i] % 4)), TestContext.Current.CancellationToken);
                }

                var clock = Stopwatch.StartNew();
                using var client = _host.CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/plans");
                request.Headers.Add(RemoteAddressFilter.HeaderName, IPAddress.Loopback.ToString());
                using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
                var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

                var what = $"seeds {string.Join(", ", seeds)}: {(body.Length > 2000 ? body[..2000] : body)}";
                response.StatusCode.ShouldBe(HttpStatusCode.OK, what);
                clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2), what);
                var listed = JsonSerializer.Deserialize<JsonElement>(body).EnumerateArray().ToList();
                listed.Count.ShouldBe(seeds.Length, what);
                listed.ShouldAllBe(p => p.GetProperty("valid").GetBoolean() == (p.GetProperty("errors").GetArrayLength() == 0), what);
                body.ShouldNotContain("Exception", Case.Sensitive, what);
            },
            iter: 40,
            threads: 1);
    }
}
