using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Constellation.Service.Tests;

/// <summary>
/// In a real headless Chromium: a page from another origin that auto-submits forms to every dashboard action and to
/// the API starts, cancels and deletes nothing — while the operator's own dashboard button still works; and a run
/// whose gate failed wears a red "failed" badge on its report.
/// </summary>
public sealed class CrossSiteBrowserTests : IDisposable
{
    private const string ChromiumPath = Constellation.Tests.HeadlessChromium.ExecutablePath;
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-crosssite-").FullName;
    private System.Diagnostics.Process? _service;

    public void Dispose()
    {
        ServiceProcess.Stop(_service);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task AForeignPage_ChangesNothing_TheDashboardItselfStillWorks_AndAFailedGateIsARedBadge()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (scripts/test.sh installs it)");
        var plans = Path.Combine(_dir, "plans");
        await ServiceProcess.WritePlanAsync(plans, "quick", "2s", ct);
        await ServiceProcess.WritePlanAsync(plans, "long", "60s", ct);
        await File.AppendAllTextAsync(Path.Combine(plans, "quick.yaml"), "\nthresholds: [\"p(95) < 1us\"]\n", ct); // a gate that fails
        int port = ServiceProcess.FreePort();
        _service = ServiceProcess.Start(port, plans, Path.Combine(_dir, "runs"));
        var service = $"http://127.0.0.1:{port}";
        using var http = new HttpClient { BaseAddress = new Uri(service) };
        http.DefaultRequestHeaders.Add("X-Constellation-Request", "1");
        await ServiceProcess.WaitAsync(async () => await ServiceProcess.TryGetAsync(http, "/health/ready") == HttpStatusCode.OK, ct);
        var started = await http.PostAsJsonAsync("/api/runs", new { plan = "long" }, ct);
        var longRun = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        await ServiceProcess.WaitAsync(async () => (await http.GetFromJsonAsync<JsonElement>($"/api/runs/{longRun}", ct)).GetProperty("status").GetString() == "running", ct);

        // The attacker's page, on another origin (another port): every dashboard action and the API, as forms that submit themselves.
        using var attacker = new HttpListener();
        int attackerPort = ServiceProcess.FreePort();
        attacker.Prefixes.Add($"http://127.0.0.1:{attackerPort}/");
        attacker.Start();
        var forms = new StringBuilder();
        int n = 0;
        void Form(string action, string fields, string enctype = "application/x-www-form-urlencoded")
        {
            forms.Append($"<iframe name=\"f{n}\"></iframe><form target=\"f{n}\" method=\"post\" enctype=\"{enctype}\" action=\"{service}{action}\">{fields}</form>\n");
            n++;
        }

        Form("/hangfire/recurring/trigger", "<input name=\"jobs[]\" value=\"plan quick\">");
        Form("/hangfire/recurring/remove", "<input name=\"jobs[]\" value=\"plan long\">");
        for (int job = 1; job <= 5; job++)
        {
            Form("/hangfire/jobs/processing/delete", $"<input name=\"jobs[]\" value=\"{job}\">");
            Form("/hangfire/jobs/enqueued/delete", $"<input name=\"jobs[]\" value=\"{job}\">");
        }

        Form("/api/runs", "<input name='{\"plan\":\"quick\",\"x\":\"' value='\"}'>", "text/plain");
        var attackPage = $"<!doctype html><html><body>{forms}<script>for (const f of document.forms) f.submit();" +
            $"fetch('{service}/api/runs/{longRun}', {{ method: 'DELETE', mode: 'no-cors' }});</script></body></html>";
        var serving = Task.Run(async () =>
        {
            while (attacker.IsListening)
            {
                var context = await attacker.GetContextAsync();
                var bytes = Encoding.UTF8.GetBytes(attackPage);
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.OutputStream.WriteAsync(bytes, ct);
                context.Response.Close();
            }
        }, ct);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Constellation.Tests.HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();

        // The operator has the dashboard open in the same browser (its antiforgery cookie is there too).
        await page.GotoAsync($"{service}/hangfire/recurring");
        var refused = new System.Collections.Concurrent.ConcurrentBag<string>();
        void Seen(object? sender, IResponse r)
        {
            if (r.Request.Method is "POST" or "DELETE" && r.Url.StartsWith(service, StringComparison.Ordinal))
            {
                refused.Add($"{r.Status} {r.Request.Method} {r.Url}");
            }
        }

        page.Response += Seen;
        await page.GotoAsync($"http://127.0.0.1:{attackerPort}/attack.html");
        await ServiceProcess.WaitAsync(() => Task.FromResult(refused.Count >= n), ct);

        page.Response -= Seen;

        // Every forged form reached the service and was refused there, not lost on the way. (The page's cross-site
        // DELETE never leaves the browser: no-cors allows no DELETE, and the preflight a cors one needs is never granted.)
        await page.WaitForTimeoutAsync(500);
        refused.Count.ShouldBe(n, string.Join(" | ", refused));
        refused.ShouldAllBe(r => r.StartsWith("403 ", StringComparison.Ordinal), string.Join(" | ", refused));

        var runs = await http.GetFromJsonAsync<JsonElement>("/api/runs", ct);
        runs.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ShouldBe([longRun], "a foreign page started a run");
        (await http.GetFromJsonAsync<JsonElement>($"/api/runs/{longRun}", ct)).GetProperty("status").GetString().ShouldBe("running", "a foreign page cancelled the run");
        await page.GotoAsync($"{service}/hangfire/recurring");
        (await page.ContentAsync()).ShouldContain("plan long", customMessage: "a foreign page removed a plan's button");

        // The dashboard's own button still works: Trigger now on plan quick, from the dashboard's page.
        (await http.DeleteAsync($"/api/runs/{longRun}", ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await ServiceProcess.WaitAsync(async () => (await http.GetFromJsonAsync<JsonElement>($"/api/runs/{longRun}", ct)).GetProperty("status").GetString() == "cancelled", ct);
        var posts = new List<string>();
        page.Response += (_, r) =>
        {
            if (r.Request.Method == "POST")
            {
                posts.Add($"{r.Status} {r.Url}");
            }
        };
        await page.GotoAsync($"{service}/hangfire/recurring");
        await page.Locator("input[type=checkbox][value='plan quick']").CheckAsync();
        await page.Locator("button.js-jobs-list-command", new PageLocatorOptions { HasText = "Trigger now" }).ClickAsync();
        string? quick = null;
        await page.WaitForTimeoutAsync(1500);
        posts.ShouldNotBeEmpty("the dashboard's Trigger now sent nothing");
        posts.ShouldAllBe(p => p.StartsWith("204", StringComparison.Ordinal) || p.StartsWith("200", StringComparison.Ordinal), string.Join(" | ", posts));
        try
        {
            await ServiceProcess.WaitAsync(async () =>
            {
                var items = (await http.GetFromJsonAsync<JsonElement>("/api/runs", ct)).GetProperty("runs").EnumerateArray().ToList();
                quick = items.Select(r => r.GetProperty("id").GetString()).FirstOrDefault(id => id != longRun);
                return quick is not null && items.First(r => r.GetProperty("id").GetString() == quick).GetProperty("status").GetString() is "completed" or "failed";
            }, ct);
        }
        catch (TimeoutException)
        {
            static string Text(string html) => System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Replace(html, "<script.*?</script>|<style.*?</style>", " ", System.Text.RegularExpressions.RegexOptions.Singleline), "<[^>]+>|\\s+", " ");
            var jobs = string.Join(" ## ", await Task.WhenAll(new[] { "processing", "enqueued", "failed", "succeeded", "deleted" }.Select(async s => s + ": " + Text(await http.GetStringAsync($"/hangfire/jobs/{s}", ct)) is var t && t.Length > 2000 ? t[..2000] : t)));
            throw new TimeoutException($"no run from Trigger now; runs: {await http.GetStringAsync("/api/runs", ct)}; jobs: {jobs}");
        }

        var run = await http.GetFromJsonAsync<JsonElement>($"/api/runs/{quick}", ct);
        run.GetProperty("verdict").GetString().ShouldBe("failed");
        run.GetProperty("startedBy").GetString().ShouldBe("local via dashboard");
        await page.GotoAsync($"{service}/runs/{quick}/index.html");
        var badge = page.Locator("header .status");
        (await badge.GetAttributeAsync("data-verdict")).ShouldBe("failed");
        (await badge.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor")).ShouldBe("rgb(201, 48, 44)");
        var shots = Path.Combine(Constellation.Tests.Repo.Root, "artifacts", "test-results", "screenshots");
        Directory.CreateDirectory(shots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "report-failed-verdict.png") });
        attacker.Stop();
    }
}
