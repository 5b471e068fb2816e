using System.Net;
using System.Text;
using System.Text.Json;

namespace Constellation.Service.Tests;

/// <summary>
/// A broken plan never takes the service down: it is listed with its errors, the service starts (and its schedule
/// with it), and starting it is a clear 4xx; overrides are judged like any plan; a plan's missing secrets are named.
/// </summary>
public sealed class PlanListingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-plans-").FullName;
    private readonly string _plans;

    public PlanListingTests()
    {
        _plans = Path.Combine(_dir, "plans");
        Directory.CreateDirectory(_plans);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ServiceTestHost Host(string? plansFolder = null) => new(new Dictionary<string, string?>
    {
        ["Constellation:PlansFolder"] = plansFolder ?? _plans,
        ["Constellation:RunsFolder"] = Path.Combine(_dir, "runs"),
    });

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(ServiceTestHost host, string method, string path, object? json = null)
    {
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add(RemoteAddressFilter.HeaderName, IPAddress.Loopback.ToString());
        request.Headers.Add(CsrfHeaderFilter.HeaderName, "1");
        if (json is not null)
        {
            request.Content = System.Net.Http.Json.JsonContent.Create(json);
        }

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private const string Good = """
        name: good
        targets: { web: { baseUrl: "http://127.0.0.1:9/" } }
        scenarios: [{ name: s, target: web, load: { model: open, rate: 200000, duration: 10s } }]
        """;

    [Fact]
    public async Task HostilePlanFiles_AreListedWithTheirErrors_AndTheServiceStartsAndAnswers()
    {
        File.WriteAllText(Path.Combine(_plans, "good.yaml"), Good);
        File.WriteAllText(Path.Combine(_plans, "deep.yaml"), new StringBuilder().Insert(0, "[", 40_000).ToString()); // 40,000 levels
        File.WriteAllText(Path.Combine(_plans, "unclosed.yaml"), "name: x\ntargets: { web: { baseUrl: \"http://127.0.0.1:9/\" }\n");
        File.WriteAllText(Path.Combine(_plans, "two-docs.yaml"), Good + "\n---\nname: other\n");
        File.WriteAllText(Path.Combine(_plans, "huge.yaml"), "name: x\n# " + new string('x', 2 * 1024 * 1024) + "\n");
        File.WriteAllBytes(Path.Combine(_plans, "binary.yaml"), [0xFF, 0xFE, 0x00, 0x01, 0x80, 0x81]);
        File.WriteAllText(Path.Combine(_plans, "laughs.yaml"), "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n");
        await using var host = Host();

        var (status, body) = await SendAsync(host, "GET", "/api/plans");

        status.ShouldBe(HttpStatusCode.OK, body);
        var plans = JsonSerializer.Deserialize<JsonElement>(body).EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        plans.Keys.Order().ShouldBe(["binary", "deep", "good", "huge", "laughs", "two-docs", "unclosed"]);
        plans["good"].GetProperty("valid").GetBoolean().ShouldBeTrue();
        foreach (var broken in plans.Keys.Where(k => k != "good"))
        {
            plans[broken].GetProperty("valid").GetBoolean().ShouldBeFalse(broken);
            plans[broken].GetProperty("errors").GetArrayLength().ShouldBeGreaterThan(0, broken);
        }

        plans["deep"].GetProperty("errors")[0].GetString()!.ShouldContain("deeper than 32 levels");
        plans["unclosed"].GetProperty("errors")[0].GetString()!.ShouldContain("line");

        (status, body) = await SendAsync(host, "POST", "/api/runs", new { plan = "deep" });
        status.ShouldBe(HttpStatusCode.UnprocessableEntity, body);
        (await SendAsync(host, "GET", "/health/ready")).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task APlansFolderGoneAfterTheStart_ListsNoPlans_NotAnError()
    {
        var plans = Path.Combine(_dir, "going");
        Directory.CreateDirectory(plans);
        await using var host = Host(plans);
        (await SendAsync(host, "GET", "/api/plans")).Status.ShouldBe(HttpStatusCode.OK); // started
        Directory.Delete(plans);

        var (status, body) = await SendAsync(host, "GET", "/api/plans");

        status.ShouldBe(HttpStatusCode.OK, body);
        body.ShouldBe("[]");
    }

    [Fact]
    public async Task Overrides_AreJudgedLikeAnyPlan_AndMissingSecretsAreNamed()
    {
        File.WriteAllText(Path.Combine(_plans, "good.yaml"), Good);
        File.WriteAllText(Path.Combine(_plans, "secret.yaml"), """
            name: secret
            targets: { web: { baseUrl: "http://127.0.0.1:9/" } }
            scenarios:
              - { name: s, target: web, request: { headers: { X-Token: "${env:CONSTELLATION_SERVICE_TEST_UNSET}" } }, load: { model: open, rate: 1, duration: 1s } }
            """);
        await using var host = Host();

        // 200,000/s × 10 is beyond the rate limit: the overridden plan is invalid, said before anything runs.
        var (status, body) = await SendAsync(host, "POST", "/api/runs", new { plan = "good", rateMultiplier = 10 });
        status.ShouldBe(HttpStatusCode.UnprocessableEntity, body);
        body.ShouldContain("with these overrides is invalid", customMessage: body);
        body.ShouldContain("1000000", customMessage: body);

        (status, body) = await SendAsync(host, "POST", "/api/runs", new { plan = "secret" });
        status.ShouldBe(HttpStatusCode.UnprocessableEntity, body);
        body.ShouldContain("${env:CONSTELLATION_SERVICE_TEST_UNSET}");

        (_, body) = await SendAsync(host, "GET", "/api/plans");
        var secret = JsonSerializer.Deserialize<JsonElement>(body).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "secret");
        secret.GetProperty("missingSecrets")[0].GetString()!.ShouldBe("scenarios[0].request.headers.X-Token: ${env:CONSTELLATION_SERVICE_TEST_UNSET}");
    }
}
