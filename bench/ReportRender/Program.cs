// Benchmark: render the full report (run.json → index.html, summary.md, junit.xml) for a one-hour run with
// four scenarios (3,600 seconds each, a histogram per second). Goal: under 2 s and under 3 MB of HTML.
// Usage: dotnet run -c Release --project bench/ReportRender [-- ROUNDS]
using System.Diagnostics;
using System.Globalization;
using Constellation.Core.Results;
using Constellation.Reports.Html;
using Constellation.Reports.JUnit;

int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var random = new Random(7);
var start = new DateTimeOffset(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);
var scenarios = Enumerable.Range(0, 4).Select(n => Scenario($"scenario-{n + 1}", n)).ToList();
var run = new RunRecord
{
    RunId = "bench-1h-4-scenarios",
    PlanName = "one hour, four scenarios",
    Status = RunStatus.Completed,
    Environment = new RunEnvironment
    {
        ToolVersion = "bench",
        Machine = Environment.MachineName,
        Os = "Linux",
        Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        Cores = Environment.ProcessorCount,
        StartedUtc = start,
        EndedUtc = start.AddHours(1),
    },
    Scenarios = scenarios,
    Generator = GeneratorHealthAssessor.Assess([.. Enumerable.Range(0, 3600).Select(i => new GeneratorSecond(i, 20, 60, 1, 10))]),
};
var json = RunRecordJson.Serialize(run);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run.json: {json.Length / 1024.0 / 1024.0:0.0} MiB"));

var times = new List<double>();
int htmlBytes = 0;
for (int r = 0; r <= rounds; r++)
{
    var sw = Stopwatch.StartNew();
    var record = RunRecordJson.Deserialize(json);
    var html = HtmlReport.Render(record);
    var md = SummaryMarkdown.Render(record);
    var junit = JUnitReport.Render(record);
    sw.Stop();
    htmlBytes = System.Text.Encoding.UTF8.GetByteCount(html);
    GC.KeepAlive(md + junit);
    if (r > 0)
    {
        times.Add(sw.Elapsed.TotalSeconds); // round 0 is the JIT warm-up
    }
    else
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first render (cold, includes JIT and font loading): {sw.Elapsed.TotalSeconds:0.00} s"));
    }
}

times.Sort();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"render from run.json (parse + HTML + Markdown + JUnit), {rounds} warm rounds: median {times[times.Count / 2]:0.00} s, max {times[^1]:0.00} s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"index.html: {htmlBytes / 1024.0 / 1024.0:0.00} MiB"));

ScenarioResult Scenario(string name, int n)
{
    var seconds = new List<SecondSample>(3600);
    for (int i = 0; i < 3600; i++)
    {
        var h = Histograms.Create();
        int count = 200 + (n * 50) + random.Next(20);
        for (int k = 0; k < count; k++)
        {
            h.RecordValue(1000 + (long)(random.NextDouble() * random.NextDouble() * 200_000));
        }

        seconds.Add(new SecondSample
        {
            Second = i,
            Offered = count,
            Started = count,
            Outcomes = new OutcomeCounts { Status2xx = count - 1, Status5xx = 1 },
            BytesReceived = count * 2048,
            Latency = Histograms.Summarise(h),
            ServiceTime = Histograms.Summarise(h),
            LatencyHistogram = Histograms.Encode(h),
            ServiceTimeHistogram = Histograms.Encode(h),
        });
    }

    return new ScenarioResult
    {
        Name = name,
        Target = "t",
        Model = "open",
        Url = "http://127.0.0.1:8080/",
        StartOffsetSeconds = 0,
        DurationSeconds = 3600,
        EndReason = EndReason.Completed,
        Seconds = seconds,
        Totals = ScenarioTotalsCalculator.FromSamples(seconds, 3600),
    };
}
