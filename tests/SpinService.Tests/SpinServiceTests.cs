using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Constellation.SpinService.Tests;

public sealed class SpinServiceTests : IDisposable
{
    private readonly List<IDisposable> _factories = [];

    public void Dispose()
    {
        foreach (var f in _factories)
        {
            f.Dispose();
        }
    }

    private HttpClient Client(string role, int maxMs = 30_000)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Role", role);
            b.UseSetting("Spin:DefaultMs", "30");
            b.UseSetting("Spin:MaxMs", maxMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        _factories.Add(factory);
        return factory.CreateClient();
    }

    [Fact]
    public async Task Spin_WithMs_BurnsAndSaysHowLong()
    {
        var response = await Client("spin").GetAsync("/api/spin?ms=25", TestContext.Current.CancellationToken);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/plain");
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        body.ShouldMatch(@"^spun (2[5-9]|[3-9]\d|\d{3,}) ms of CPU in \d+ ms\n$");
    }

    [Fact]
    public async Task Spin_WithoutMs_UsesTheConfiguredDefault()
    {
        var body = await Client("spin").GetStringAsync("/api/spin", TestContext.Current.CancellationToken);

        body.ShouldMatch(@"^spun (3\d|\d{3,}) ms");
    }

    [Fact]
    public async Task Spin_AboveMaximum_IsClamped()
    {
        var body = await Client("spin", maxMs: 20).GetStringAsync("/api/spin?ms=60000", TestContext.Current.CancellationToken);

        body.ShouldMatch(@"^spun (2\d) ms");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("1.5")]
    public async Task Spin_BadMs_Is400ProblemDetails(string ms)
    {
        var response = await Client("spin").GetAsync($"/api/spin?ms={ms}", TestContext.Current.CancellationToken);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldContain("whole number of milliseconds");
    }

    [Fact]
    public async Task Webapp_ServesTheControlPage_AndNoSpin()
    {
        var client = Client("webapp");

        var page = await client.GetAsync("/", TestContext.Current.CancellationToken);
        var spin = await client.GetAsync("/api/spin", TestContext.Current.CancellationToken);

        page.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        (await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldContain("<h1>webapp</h1>");
        spin.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("spin")]
    [InlineData("webapp")]
    public async Task HealthAndMetrics_AreServedInEitherRole(string role)
    {
        var client = Client(role);
        await client.GetAsync("/", TestContext.Current.CancellationToken);

        (await client.GetAsync("/health/live", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/health/ready", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var metrics = await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        metrics.ShouldContain("http_request_duration_seconds");
    }

    [Fact]
    public void Start_WithUnknownRole_FailsValidation()
    {
        var ex = Should.Throw<Exception>(() => Client("database").GetAsync("/", TestContext.Current.CancellationToken).GetAwaiter().GetResult());

        ex.ToString().ShouldContain("Role must be 'spin' or 'webapp'");
    }
}
