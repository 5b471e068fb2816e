// Benchmark: a 24-hour soak of four scenarios, fed at speed through the run's listeners — stop conditions, the live
// gate (abortOnFail thresholds) and the journal — exactly as the engine feeds them, second by second. Measures the
// process's resident memory from simulated hour 1 to hour 24 (goal: under 50 MB of growth), then builds run.json
// from the journal (goal: under 50 MB), judges the gate on every second of the journal, and renders the report
// from run.json (goal: under 5 s).
// Usage: dotnet run -c Release --project bench/Soak [-- HOURS [FOLDER]]
using System.Diagnostics;
using System.Globalization;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Reports.Journal;
using Constellation.Runs;
using Constellation.Runs.Engine;
using Microsoft.Extensions.Logging.Abstractions;

var inv = CultureInfo.InvariantCulture;
int hours = args.Length > 0 ? int.Parse(args[0], inv) : 24;
var root = args.Length > 1 ? args[1] : Directory.CreateTempSubdirectory("constellation-soak-").FullName;
int seconds = hours * 3600;
var plan = PlanLoader.Parse($$"""
    name: soak
    targets:
      web: { baseUrl: "http://127.0.0.1:9" }
    scenarios:
      - name: browse
        target: web
        load: { model: open, rate: 300, duration: {{hours}}h }
        stopWhen: ["error_rate > 50% over 30s", "p95 > 10s over 30s"]
        thresholds: [{ threshold: "error_rate < 20% over any 60s", abortOnFail: true }]
      - name: search
        target: web
        load: { model: open, rate: 200, duration: {{hours}}h }
        thresholds: [{ threshold: "p(99) < 30s", abortOnFail: true }]
      - name: checkout
        target: web
        load: { model: closed, users: 50, duration: {{hours}}h }
      - name: api
        target: web
        load: { model: open, rate: 100, duration: {{hours}}h }
    thresholds: ["p(95) < 5s", "error_rate < 5% over any 5m"]
    """).Plan ?? throw new InvalidOperationException("the soak plan does not validate");
var scenarios = plan.Scenarios.Select(s => ResolvedScenario.On(s, plan.Targets[s.Target].BaseUrl!)).ToList();

// A pool of realistic per-second histograms (200–400 values each, 1–200 ms with a long tail), cycled through.
var random = new Random(11);
var pool = Enumerable.Range(0, 64).Select(_ =>
{
    var h = Histograms.Create();
    int count = 200 + random.Next(200);
    for (int i = 0; i < count; i++)
    {
        h.RecordValue(1000 + (long)(random.NextDouble() * random.NextDouble() * 200_000));
    }

    return (Count: count, Encoded: Histograms.Encode(h), Summary: Histograms.Summarise(h));
}).ToArray();

var dir = Path.Combine(root, "soak");
var start = new DateTimeOffset(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);
using var journal = RunJournalWriter.Create(dir, new JournalStart
{
    RunId = "soak",
    PlanName = plan.Name,
    PlanText = plan.SourceText,
    StartedUtc = start,
    ToolVersion = "bench",
    Machine = Environment.MachineName,
    Os = "Linux",
    Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
    Cores = Environment.ProcessorCount,
}, TimeProvider.System);
var listeners = new RunListeners(
    [new Constellation.Runs.Listeners.StopConditionsListener(TimeProvider.System), new Constellation.Runs.Listeners.LiveGateListener(plan), new Constellation.Runs.Listeners.JournalListener(journal, new Dictionary<string, Uri> { ["web"] = plan.Targets["web"].BaseUrl! }, null)],
    NullLogger.Instance);
listeners.OnStart(new RunStart(start, scenarios), new NoControl());

long Rss() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], inv) * 1024;
var rssAt = new SortedDictionary<int, long>();
var clock = Stopwatch.StartNew();
for (int t = 0; t < seconds; t++)
{
    var samples = new List<ScenarioSecond>(4);
    for (int s = 0; s < scenarios.Count; s++)
    {
        var (count, encoded, summary) = pool[(t * 7 + s * 13) % pool.Length];
        var sample = new SecondSample
        {
            Second = t,
            Offered = count,
            Started = count,
            Outcomes = new OutcomeCounts { Status2xx = count - 1, Status5xx = 1 },
            BytesReceived = count * 2048L,
            InFlight = 12,
            Latency = summary,
            ServiceTime = summary,
            LatencyHistogram = encoded,
            ServiceTimeHistogram = encoded,
        };
        samples.Add(new ScenarioSecond(scenarios[s].Spec.Name, t, sample));
    }

    listeners.OnSecond(new RunSecond(t, samples, new GeneratorSecond(t, 25, 60, 0.2, 48), null));
    if ((t + 1) % 3600 == 0)
    {
        rssAt[(t + 1) / 3600] = Rss();
        Console.Error.WriteLine(string.Create(inv, $"hour {(t + 1) / 3600}: RSS {Rss() / 1048576.0:0.0} MiB, {clock.Elapsed.TotalSeconds:0} s"));
    }
}

var fed = clock.Elapsed;
listeners.OnEnd(new RunEnd { LoadStartUtc = start, EndedUtc = start.AddSeconds(seconds), Scenarios = [.. scenarios.Select(s => new ScenarioEnd(s.Spec.Name, 0, seconds, EndReason.Completed))] });
journal.Append(new JournalEnd
{
    Status = RunStatus.Completed,
    EndedUtc = start.AddSeconds(seconds),
    Scenarios = [.. scenarios.Select(s => new JournalScenarioEnd(s.Spec.Name, 0, seconds, EndReason.Completed))],
});
journal.Dispose();
long journalBytes = Directory.GetFiles(Path.Combine(dir, "journal")).Sum(f => new FileInfo(f).Length);

clock.Restart();
var run = RunJournal.Read(dir);
var built = clock.Elapsed;
clock.Restart();
var gate = Constellation.Core.Gate.GateEvaluator.Evaluate(run, plan, null, null, scope => RunJournal.Seconds(dir, scope));
var gated = clock.Elapsed;
run = run with { Gate = gate };
var json = RunRecordJson.Serialize(run);
File.WriteAllText(Path.Combine(dir, "run.json"), json);

var renders = new List<double>();
for (int r = 0; r < 4; r++)
{
    clock.Restart();
    var again = RunRecordJson.Deserialize(File.ReadAllText(Path.Combine(dir, "run.json")));
    GC.KeepAlive(Constellation.Reports.Html.HtmlReport.Render(again) + SummaryMarkdown.Render(again) + Constellation.Reports.JUnit.JUnitReport.Render(again));
    renders.Add(clock.Elapsed.TotalSeconds);
}

long growth = rssAt[hours] - rssAt[1];
Console.WriteLine($"# Soak: {hours} h of four scenarios through the run's listeners and journal");
Console.WriteLine();
Console.WriteLine(string.Create(inv, $"Fed {seconds:N0} seconds × 4 scenarios (a histogram of 200–400 values each) in {fed.TotalSeconds:0} s, through the stop conditions, the live gate (2 abortOnFail thresholds) and the journal."));
Console.WriteLine();
Console.WriteLine("| measure | value | goal |");
Console.WriteLine("|---|---:|---|");
Console.WriteLine(string.Create(inv, $"| RSS at hour 1 | {rssAt[1] / 1048576.0:0.0} MiB | |"));
Console.WriteLine(string.Create(inv, $"| RSS at hour {hours} | {rssAt[hours] / 1048576.0:0.0} MiB | |"));
Console.WriteLine(string.Create(inv, $"| RSS growth, hour 1 → {hours} | {growth / 1048576.0:0.0} MiB | < 50 MB |"));
Console.WriteLine(string.Create(inv, $"| journal on disk | {journalBytes / 1048576.0:0} MiB | (every second, full resolution) |"));
Console.WriteLine(string.Create(inv, $"| run.json built from the journal | {built.TotalSeconds:0.0} s | |"));
Console.WriteLine(string.Create(inv, $"| gate on every journaled second ({gate?.Thresholds.Count} thresholds) | {gated.TotalSeconds:0.0} s | |"));
Console.WriteLine(string.Create(inv, $"| run.json | {json.Length / 1048576.0:0.0} MiB, {run.Scenarios[0].Seconds.Count} points per scenario of {run.Scenarios[0].SecondsPerPoint} s | < 50 MB |"));
renders.Sort();
Console.WriteLine(string.Create(inv, $"| report render from run.json (parse + HTML + Markdown + JUnit), median of 4 | {renders[renders.Count / 2]:0.00} s (first, cold: {renders.Max():0.00} s) | < 5 s |"));
Console.WriteLine();
Console.WriteLine(string.Create(inv, $"RSS per hour (MiB): {string.Join(", ", rssAt.Select(kv => $"{kv.Key}h {kv.Value / 1048576.0:0}"))}"));
if (args.Length < 2)
{
    Directory.Delete(root, recursive: true);
}

/// <summary>The soak has no executor to stop.</summary>
internal sealed class NoControl : IRunControl
{
    public void StopScenario(string scenario, int second, BreakingPoint? breakingPoint)
    {
    }

    public void StopRun(string reason)
    {
    }
}
