using Constellation.Tests;
using System.Text.RegularExpressions;
using Constellation.Core.Results;
using Constellation.Reports.Html;
using Constellation.Reports.Writers;

namespace Constellation.Reports.Tests;

public sealed partial class HtmlReportTests
{
    [Fact]
    public void Render_IsOneSelfContainedFileWithNoFetches()
    {
        var html = HtmlReport.Render(TestRuns.Sample());

        html.ShouldStartWith("<!doctype html>");
        html.ShouldNotContain("<script", Case.Insensitive);
        html.ShouldNotContain("<link", Case.Insensitive);
        html.ShouldNotContain("@import", Case.Insensitive);
        ExternalReference().IsMatch(html).ShouldBeFalse();
        Regex.Matches(html, "<svg ").Count.ShouldBe(3);
    }

    [Fact]
    public void Render_ShowsVerdictFactsBreakingPointAndScenarioTable()
    {
        var html = HtmlReport.Render(TestRuns.Sample());

        html.ShouldContain("<p class=\"status verdict-passed\" data-verdict=\"passed\">passed — breaking point found</p>");
        html.ShouldContain("2026-11-25 02:00:00");
        html.ShouldContain("<code>error_rate &gt; 5% over 3s</code>");
        html.ShouldContain("Last healthy: 90 req/s (ramp)");
        html.ShouldContain("<td>spin-ramp</td><td>open</td>");
        html.ShouldContain("<h2>Plan as run</h2><pre>name: nightly");
    }

    [Theory]
    [InlineData("failed", "verdict-failed", "failed — a threshold failed")]
    [InlineData("invalid", "verdict-invalid", "invalid — the result cannot be trusted")]
    public void Render_AGateThatSaysNo_IsTheTopBadge_NeverAGreenCompleted(string gate, string css, string text)
    {
        var run = TestRuns.Sample() with { Gate = new GateResult { Verdict = gate } };

        var html = HtmlReport.Render(run);

        html.ShouldContain($"<p class=\"status {css}\" data-verdict=\"{gate}\">{text}</p>");
        html.ShouldNotContain("data-verdict=\"passed\"");
    }

    [Fact]
    public void Render_WithObservations_AddsAChartPerGroupWithEventsMarked()
    {
        var run = TestRuns.Sample() with
        {
            Observations =
            [
                new ObservedSeries("pods", "spin ready", "pods", [new SeriesPoint(0, 2), new SeriesPoint(10, 4), new SeriesPoint(20, 6)]),
                new ObservedSeries("pods", "spin desired", "pods", [new SeriesPoint(0, 2), new SeriesPoint(8, 6)]),
                new ObservedSeries("control app", "webapp p95", "ms", [new SeriesPoint(0, 4), new SeriesPoint(20, 5)]),
            ],
            Events = [new ObservedEvent(8, "SuccessfulRescale", "New size: 6")],
        };

        var html = HtmlReport.Render(run);

        Regex.Matches(html, "<svg ").Count.ShouldBe(5);
        html.ShouldContain("<h2>Scaling and control app</h2>");
        html.ShouldContain("spin desired");
        html.ShouldContain("SuccessfulRescale");
    }

    [Fact]
    public void Render_WithAnObservedScaleOut_ShowsScalingMetricsChartsGapsAndEvents()
    {
        var html = HtmlReport.Render(TestRuns.Observed());

        // 3 load charts + replicas, nodes, control app, node CPU.
        Regex.Matches(html, "<svg ").Count.ShouldBe(7);
        html.ShouldContain("<td>demo/spin</td><td>2 ready / 2 desired</td><td>3 s</td><td>6 s</td><td>6 (desired 6)</td><td>9 s</td>");
        html.ShouldContain("longest Pending spin-6: Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.");
        html.ShouldContain("Nodes: 2 Ready at the load start, peak 3 (eu-west-1a 2, eu-west-1b 1); first new node Ready after 8 s; back to 2 8 s after the load");
        html.ShouldContain("Control app <strong>webapp</strong>: p95 2ms in the calm baseline (5 probes), 5ms in the scale-out window (7 probes, 1 failed): <strong>+150%</strong>");
        html.ShouldContain("<td>kubernetes metrics.k8s.io</td><td>1 s</td><td>3 s</td><td>metrics.k8s.io: HTTP 503 ServiceUnavailable</td>");
        html.ShouldContain("kubernetes: 120 samples, 2 errors, 2 s without data; nodes: 410 Gone, listed again");
        html.ShouldContain("<summary>Events (6)</summary>");
        html.ShouldContain("spin: replicas");
        html.ShouldContain("Ready nodes per zone");
        html.ShouldContain("calm baseline (p95 2 ms)");
        html.ShouldContain("scale-out window (p95 5 ms)");
        html.ShouldContain("failed probes (1)");
        ExternalReference().IsMatch(html).ShouldBeFalse();
        HtmlReport.Render(TestRuns.Observed()).ShouldBe(html);
    }

    [Fact]
    public void Render_AScaleReaction_ShowsItsPhasesSteps_AndAWaterfallPerStepThatScaled()
    {
        var html = HtmlReport.Render(TestRuns.Reacting());

        html.ShouldContain("<h3>Scale reactions (waterfall)</h3>");
        html.ShouldContain("<td>new pods Ready</td><td><code>scale.spin.reaction</code></td><td>1</td><td>1</td><td>72 s</td><td>72 s</td><td>72 s</td>");
        html.ShouldContain("How spin reacted to step 1 of spin-ramp (step 1)");
        html.ShouldNotContain("reacted to step 2"); // nothing to react to: no chart
        html.ShouldContain("spin: reaction to step 1 (step 1)"); // the chart's title, drawn with the shipped font
        html.ShouldContain("new node Ready");
        ExternalReference().IsMatch(html).ShouldBeFalse();

        var unreached = HtmlReport.Render(TestRuns.Reacting(secondPodNeverReady: true));
        unreached.ShouldContain("not reached");
    }

    [Fact]
    public void Summary_AScaleReaction_HasThePhaseTableAndTheSteps()
    {
        var md = SummaryMarkdown.Render(TestRuns.Reacting());

        md.ShouldContain("## Scale reactions (waterfall)");
        md.ShouldContain("| HPA metric above target | `scale.spin.metric_above` | 1 | 1 | 10 s | 10 s | 10 s |");
        md.ShouldContain("| 1 | step 1 | 0 → 5 at 0 s | 10 s | 25 s | 26 s | 39 s | 65 s | 72 s | 50 s | 40 s |");
        md.ShouldContain("| 2 | step 2 | 5 → 10 at 100 s | – | – | – | – | – | – | 0 s | 0 s |");
    }

    [Fact]
    public void Render_LatencyLimitsFromThePlan_AreDrawnOnTheLatencyChart()
    {
        var run = TestRuns.Sample();
        run = run with { Scenarios = [run.Scenarios[0] with { LatencyLimits = [new LatencyLimit("p95 > 400ms over 3s", 400)] }] };

        HtmlReport.Render(run).ShouldContain("limit: p95 &gt; 400ms over 3s");
    }

    [Fact]
    public void Render_EscapesEveryStringFromThePlan()
    {
        var run = TestRuns.Sample(planName: "<script>alert(1)</script>", scenarioName: "a&b<i>", planText: "name: \"</pre><img src=x onerror=alert(1)>\"\n");

        var html = HtmlReport.Render(run);

        html.ShouldNotContain("<script>alert(1)</script>");
        html.ShouldContain("&lt;script&gt;alert(1)&lt;/script&gt;");
        html.ShouldNotContain("<i>");
        html.ShouldContain("a&amp;b&lt;i&gt;");
        html.ShouldNotContain("<img");
    }

    [Fact]
    public async Task CompositeWriter_OneWriterFails_TheOthersStillWrite()
    {
        var dir = Directory.CreateTempSubdirectory("constellation-reports-").FullName;
        try
        {
            var log = new StringWriter();
            var writer = new CompositeReportWriter([new Failing(), new RunJsonWriter(), new HtmlReportWriter()]);

            var failures = await writer.WriteAsync(TestRuns.Sample(), dir, new Constellation.Core.Logging.PlainTextLogger(log), TestContext.Current.CancellationToken);

            failures.ShouldHaveSingleItem().ShouldContain("could not write broken.txt: disk on fire");
            log.ToString().ShouldContain("warning: could not write broken.txt");
            File.Exists(Path.Combine(dir, "run.json")).ShouldBeTrue();
            File.Exists(Path.Combine(dir, "index.html")).ShouldBeTrue();
            (await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), TestContext.Current.CancellationToken)).RunId.ShouldBe(TestRuns.Sample().RunId);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class Failing : IReportWriter
    {
        public string FileName => "broken.txt";

        public Task WriteAsync(RunRecord record, string directory, CancellationToken ct) => throw new IOException("disk on fire");
    }

    [GeneratedRegex("(src|href)\\s*=\\s*[\"']?(https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();
}

public sealed class HtmlReportDeterminismTests
{
    [Fact]
    public void Render_SameRecordTwiceInOneProcess_IsByteForByteTheSame()
    {
        var run = TestRuns.Sample();

        var first = HtmlReport.Render(run);
        var second = HtmlReport.Render(run);

        second.ShouldBe(first);
        var ids = Regex.Matches(first, "clipPath id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        ids.ShouldNotBeEmpty();
        ids.Distinct().Count().ShouldBe(ids.Count);
    }
}
