using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Constellation.Service.Tests;

/// <summary>The Hangfire dashboard and a finished run's report, served by the running service, in a real headless Chromium.</summary>
public sealed class DashboardBrowserTests : IDisposable
{
    private const string ChromiumPath = Constellation.Tests.HeadlessChromium.ExecutablePath;
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-dashboard-").FullName;
    private System.Diagnostics.Process? _service;

    public void Dispose()
    {
        ServiceProcess.Stop(_service);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Dashboard_AndAFinishedRunsReport_RenderInChromium()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (scripts/test.sh installs it)");
        var plans = Path.Combine(_dir, "plans");
        await ServiceProcess.WritePlanAsync(plans, "quick", "2s", ct);
        int port = ServiceProcess.FreePort();
        _service = ServiceProcess.Start(port, plans, Path.Combine(_dir, "runs"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        http.DefaultRequestHeaders.Add("X-Constellation-Request", "1");
        await ServiceProcess.WaitAsync(async () => await ServiceProcess.TryGetAsync(http, "/health/ready") == HttpStatusCode.OK, ct);
        var started = await http.PostAsJsonAsync("/api/runs", new { plan = "quick" }, ct);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        await ServiceProcess.WaitAsync(async () => (await http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}", ct)).GetProperty("status").GetString() == "completed", ct);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Constellation.Tests.HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var shots = Path.Combine(Constellation.Tests.Repo.Root, "artifacts", "test-results", "screenshots");
        Directory.CreateDirectory(shots);

        var dashboard = await page.GotoAsync($"http://127.0.0.1:{port}/hangfire/jobs/succeeded");
        dashboard!.Status.ShouldBe(200);
        (await page.TitleAsync()).ShouldContain("Constellation runs");
        (await page.ContentAsync()).ShouldContain($"run {id}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard.png"), FullPage = true });

        await page.GotoAsync($"http://127.0.0.1:{port}/hangfire/recurring");
        (await page.ContentAsync()).ShouldContain("plan quick"); // the button that starts the plan
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard-plans.png"), FullPage = true });

        var report = await page.GotoAsync($"http://127.0.0.1:{port}/runs/{id}/index.html");
        report!.Status.ShouldBe(200);
        (await page.Locator("svg").CountAsync()).ShouldBeGreaterThanOrEqualTo(3);
        (await page.ContentAsync()).ShouldContain("quick");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "report-served.png"), FullPage = true });
        new FileInfo(Path.Combine(shots, "dashboard.png")).Length.ShouldBeGreaterThan(10_000);
    }
}
