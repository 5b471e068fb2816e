using Constellation.Tests;
using Constellation.Reports.Html;
using Microsoft.Playwright;

namespace Constellation.Reports.Tests;

/// <summary>
/// Opens the report in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): no
/// console errors, no network requests, charts drawn, readable at laptop and phone widths. Screenshots are
/// kept in artifacts/test-results/ as test artifacts.
/// </summary>
public sealed class HtmlReportBrowserTests : IAsyncLifetime
{
    private const string ChromiumPath = Constellation.Tests.HeadlessChromium.ExecutablePath;
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-browser-").FullName;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (scripts/test.sh installs it)");
        _playwright = await Playwright.CreateAsync();
        _browser = await Constellation.Tests.HeadlessChromium.LaunchAsync(_playwright);
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("laptop", 1280, 900)]
    [InlineData("phone", 390, 844)]
    public async Task Report_OpensOfflineWithoutErrorsAndDrawsItsCharts(string device, int width, int height)
    {
        var file = Path.Combine(_dir, "index.html");
        await File.WriteAllTextAsync(file, HtmlReport.Render(TestRuns.Sample()), TestContext.Current.CancellationToken);
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var consoleErrors = new List<string>();
        var requests = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type is "error" or "warning")
            {
                consoleErrors.Add(m.Text);
            }
        };
        page.PageError += (_, e) => consoleErrors.Add(e);
        page.Request += (_, r) => requests.Add(r.Url);

        await page.GotoAsync(new Uri(file).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });

        consoleErrors.ShouldBeEmpty();
        requests.ShouldBe([new Uri(file).AbsoluteUri]); // the file itself, nothing else
        (await page.TitleAsync()).ShouldContain("nightly");
        var charts = await page.QuerySelectorAllAsync("figure svg");
        charts.Count.ShouldBe(3);
        foreach (var chart in charts)
        {
            var box = (await chart.BoundingBoxAsync()).ShouldNotBeNull();
            box.Width.ShouldBeGreaterThan(width / 2f);
            box.Height.ShouldBeGreaterThan(100 * width / 1280f);
            box.Height.ShouldBe(box.Width * Charts.RunCharts.Height / Charts.RunCharts.Width, box.Width * 0.05); // scaled, not cropped
            (await chart.EvaluateAsync<int>("e => e.querySelectorAll('path').length")).ShouldBeGreaterThan(5);
            (await chart.EvaluateAsync<int>("e => e.querySelectorAll('text').length")).ShouldBeGreaterThan(5);
        }

        // Nothing but the wide table scrolls sideways, even on a phone.
        (await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1")).ShouldBeTrue();
        var shots = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "test-results");
        Directory.CreateDirectory(shots);
        var png = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true, Path = Path.Combine(shots, $"report-{device}.png") });
        png.Distinct().Count().ShouldBeGreaterThan(50); // not a blank page
    }
}
