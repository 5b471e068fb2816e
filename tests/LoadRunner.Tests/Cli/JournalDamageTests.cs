using System.Text.Json.Nodes;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;
using Constellation.Reports.Journal;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// A run's journal as an attacker or a crash leaves it: torn, edited, crafted, half-deleted. Every case ends in a
/// record that says what it lacks, or a one-line error (exit 2) — never a record built as if the journal were whole,
/// a file written outside the run, another run's listing broken, or a tag silently lost. One real run (probes on a
/// target with credentials in its URL) is copied for each case.
/// </summary>
public sealed class JournalDamageTests(JournalDamageTests.OneRun run) : IClassFixture<JournalDamageTests.OneRun>
{
    private const string Password = "PWLEAK42";
    private readonly string _dir = run.Dir;
    private readonly string _original = run.Original;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The real run every case copies, made once for the class.</summary>
    public sealed class OneRun : IAsyncLifetime
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("constellation-damage-").FullName;

        public string Original { get; private set; } = null!;

        public TestTarget Target { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Target = await TestTarget.StartAsync();
            var withCredentials = new UriBuilder(Target.BaseUrl) { UserName = "bob", Password = Password }.Uri;
            var plan = Path.Combine(Dir, "plan.yaml");
            await File.WriteAllTextAsync(plan, $$"""
                name: damage
                targets:
                  web: { baseUrl: "{{withCredentials}}" }
                observe:
                  probes: [{ target: web, path: /ok, rate: 5 }]
                scenarios:
                  - { name: steady, target: web, request: { path: /ok }, load: { model: open, rate: 20, duration: 3s } }
                """);
            var runs = Path.Combine(Dir, "original");
            var (code, _, err) = await CliRunner.RunAsync("run", plan, "-o", runs, "--run-id", "base", "-q");
            code.ShouldBe(ExitCodes.Ok, err);
            Original = Path.Combine(runs, "base");
        }

        public async ValueTask DisposeAsync()
        {
            await Target.DisposeAsync();
            Directory.Delete(Dir, recursive: true);
        }
    }

    [Fact]
    public async Task CredentialsInTheTargetUrl_ReachNeitherTheRecordNorTheJournal()
    {
        foreach (var file in Directory.EnumerateFiles(_original, "*", SearchOption.AllDirectories))
        {
            (await File.ReadAllTextAsync(file, Ct)).ShouldNotContain(Password, customMessage: file);
        }

        var record = await RunRecordJson.ReadAsync(Path.Combine(_original, "run.json"), Ct);
        record.Observation.ShouldNotBeNull().Probes.ShouldHaveSingleItem().Url.ShouldContain("redacted@");
    }

    [Fact]
    public async Task KilledBeforeTheObserversAccount_TheStreamedProbesAreKept()
    {
        var (_, dir) = Copy("killed-probes");
        Cut(dir, line => line.Contains("\"type\":\"observation\"", StringComparison.Ordinal) || line.Contains("\"type\":\"end\"", StringComparison.Ordinal)
            || line.Contains("\"type\":\"gate\"", StringComparison.Ordinal) || line.Contains("\"type\":\"stores\"", StringComparison.Ordinal));
        File.Delete(Path.Combine(dir, "run.json"));

        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        var record = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), Ct);
        record.Status.ShouldBe(RunStatus.Aborted);
        record.Observation.ShouldNotBeNull().Probes.ShouldHaveSingleItem().Samples.Count.ShouldBeGreaterThan(5);
        var junit = await File.ReadAllTextAsync(Path.Combine(dir, "junit.xml"), Ct);
        junit.ShouldContain("type=\"aborted\"");
        junit.ShouldNotContain("errors=\"0\"");
    }

    [Fact]
    public async Task TornLastLine_ThenTwoTags_TheTagsAreKept_AndTheJournalStaysReadable()
    {
        var (runs, dir) = Copy("torn");
        var journal = Path.Combine(dir, "journal", "run.jsonl");
        using (var f = new FileStream(journal, FileMode.Open))
        {
            f.SetLength(f.Length - 30); // a kill in the middle of the last line
        }

        (await CliRunner.RunAsync("runs", "tag", "torn", "first", "-o", runs)).Code.ShouldBe(ExitCodes.Ok);
        (await CliRunner.RunAsync("runs", "tag", "torn", "second", "-o", runs)).Code.ShouldBe(ExitCodes.Ok);
        File.Delete(Path.Combine(dir, "run.json"));
        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        (await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), Ct)).Tags.ShouldBe(["first", "second"]);
        (await File.ReadAllLinesAsync(journal, Ct)).ShouldAllBe(l => l.StartsWith('{') && l.EndsWith('}'));
    }

    [Fact]
    public async Task TaggingARunStillBeingWritten_IsRefused_NotLost()
    {
        var (runs, dir) = Copy("live");
        using (new FileStream(Path.Combine(dir, "journal", RunJournalWriter.LockFile), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var (code, _, err) = await CliRunner.RunAsync("runs", "tag", "live", "during-upload", "-o", runs);

            code.ShouldNotBe(ExitCodes.Ok);
            err.ShouldContain("is being written right now");
        }

        (await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), Ct)).Tags.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("no-type", """{"second":1}""", "line 2 ")]
    [InlineData("null-item", """{"type":"second","second":77,"scenarios":[null]}""", "holds a null")]
    [InlineData("missing-list", """{"type":"second","second":77}""", "line 2 ")]
    [InlineData("unknown-type", """{"type":"nonsense"}""", "line 2 ")]
    public async Task MalformedLineInTheMiddle_ReportSaysWhichLine_AndTheOtherRunsStillList(string runId, string line, string expected)
    {
        var (runs, dir) = Copy(runId);
        var journal = Path.Combine(dir, "journal", "run.jsonl");
        var lines = (await File.ReadAllLinesAsync(journal, Ct)).ToList();
        lines.Insert(1, line);
        await File.WriteAllLinesAsync(journal, lines, Ct);
        File.Delete(Path.Combine(dir, "run.json"));
        File.Delete(Path.Combine(dir, "run-summary.json"));
        CopyFolder(_original, Path.Combine(runs, "healthy"));

        var (code, _, err) = await CliRunner.RunAsync("report", dir);
        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain(expected);
        err.Trim().Split('\n').Length.ShouldBe(1, err);

        (code, var listed, err) = await CliRunner.RunAsync("runs", "list", "-o", runs);
        code.ShouldBe(ExitCodes.Ok, err);
        listed.ShouldContain("base");
    }

    [Fact]
    public async Task CraftedIntervalLogName_IsRefused_AndNothingIsWrittenOutside()
    {
        var (_, dir) = Copy("crafted");
        var journal = Path.Combine(dir, "journal", "run.jsonl");
        var lines = await File.ReadAllLinesAsync(journal, Ct);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains("\"type\":\"load\"", StringComparison.Ordinal))
            {
                var load = JsonNode.Parse(lines[i])!;
                load["scenarios"]![0]!["file"] = "../../../pwned-by-journal";
                lines[i] = load.ToJsonString();
            }
        }

        await File.WriteAllLinesAsync(journal, lines, Ct);
        File.Delete(Path.Combine(dir, "run.json"));

        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("not a plain file name");
        Directory.EnumerateFiles(_dir, "pwned-by-journal*", SearchOption.AllDirectories).ShouldBeEmpty();
        File.Exists(Path.Combine(Path.GetDirectoryName(_dir)!, "pwned-by-journal.latency.hlog")).ShouldBeFalse();
    }

    [Fact]
    public async Task MissingIntervalLog_TheRecordSaysItsLatencyIsIncomplete()
    {
        var (_, dir) = Copy("no-hlog");
        File.Delete(Path.Combine(dir, "journal", "steady.latency.hlog"));
        File.Delete(Path.Combine(dir, "run.json"));

        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        var record = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), Ct);
        record.Generator.Warnings.ShouldContain(w => w.Contains("no latency histogram", StringComparison.Ordinal) && w.Contains("missing", StringComparison.Ordinal));
        (await File.ReadAllTextAsync(Path.Combine(dir, "summary.md"), Ct)).ShouldContain("no latency histogram");
    }

    [Fact]
    public async Task OutOfOrderIntervalLogLine_HidesNoOtherSecond()
    {
        var (_, dir) = Copy("out-of-order");
        var hlog = Path.Combine(dir, "journal", "steady.latency.hlog");
        var lines = (await File.ReadAllLinesAsync(hlog, Ct)).ToList();
        int first = lines.FindIndex(l => char.IsDigit(l[0]));
        lines.Insert(first, "1000.000,1.000,1.000," + lines[first].Split(',')[3]);
        await File.WriteAllLinesAsync(hlog, lines, Ct);
        var before = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), Ct);
        File.Delete(Path.Combine(dir, "run.json"));

        var (code, _, err) = await CliRunner.RunAsync("report", dir);

        code.ShouldBe(ExitCodes.Ok, err);
        var after = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), Ct);
        after.Scenarios[0].Totals.Latency.Count.ShouldBe(before.Scenarios[0].Totals.Latency.Count);
        after.Generator.Warnings.ShouldBeEmpty();
    }

    [Fact]
    public async Task CompareARunKilledBeforeItsLoad_IsNothingToCompare_NotNoRegression()
    {
        var (runs, dir) = Copy("empty");
        Cut(dir, line => !line.Contains("\"type\":\"start\"", StringComparison.Ordinal));
        foreach (var f in Directory.EnumerateFiles(dir).Concat(Directory.EnumerateFiles(Path.Combine(dir, "journal"), "*.hlog")))
        {
            File.Delete(f);
        }

        (await CliRunner.RunAsync("report", dir)).Code.ShouldBe(ExitCodes.Ok);
        CopyFolder(_original, Path.Combine(runs, "base"));

        var (code, output, err) = await CliRunner.RunAsync("compare", "empty", "--baseline", "base", "-o", runs);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("nothing to compare: run empty has no scenario results (aborted");
        output.ShouldNotContain("No regression");
    }

    [Fact]
    public async Task RunIdAlreadyTaken_IsInvalidInput_AndTheRunIsUntouched()
    {
        var (runs, dir) = Copy("taken");
        var before = await File.ReadAllBytesAsync(Path.Combine(dir, "run.json"), Ct);
        var plan = Path.Combine(_dir, "again.yaml");
        await File.WriteAllTextAsync(plan, $$"""
            name: again
            targets: { web: { baseUrl: "{{run.Target.BaseUrl}}" } }
            scenarios: [{ name: s, target: web, load: { model: open, rate: 5, duration: 1s } }]
            """, Ct);

        var (code, _, err) = await CliRunner.RunAsync("run", plan, "-o", runs, "--run-id", "taken", "-q");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("already holds a run");
        (await File.ReadAllBytesAsync(Path.Combine(dir, "run.json"), Ct)).ShouldBe(before);
    }

    /// <summary>A fresh copy of the original run under its own runs folder, with the given run id.</summary>
    private (string Runs, string Dir) Copy(string runId)
    {
        var runs = Path.Combine(_dir, "case-" + runId);
        var dir = Path.Combine(runs, runId);
        CopyFolder(_original, dir);

        // The run id is in the journal's start line and the record: give the copy its own.
        var journal = Path.Combine(dir, "journal", "run.jsonl");
        File.WriteAllText(journal, File.ReadAllText(journal).Replace("\"runId\":\"base\"", $"\"runId\":\"{runId}\"", StringComparison.Ordinal));
        var json = Path.Combine(dir, "run.json");
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"runId\": \"base\"", $"\"runId\": \"{runId}\"", StringComparison.Ordinal));
        return (runs, dir);
    }

    private static void Cut(string dir, Func<string, bool> drop)
    {
        var journal = Path.Combine(dir, "journal", "run.jsonl");
        File.WriteAllLines(journal, File.ReadAllLines(journal).Where(l => !drop(l)));
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
