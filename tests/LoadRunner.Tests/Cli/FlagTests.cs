using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// Every value on the command line is parsed and checked by the parser: all bad flags of a command line at once, one
/// line each, exit 2, in the user's terms (never a .NET type name), and nothing runs.
/// </summary>
public sealed class FlagTests
{
    private static Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(args);

    [Fact]
    public async Task Load_RateNotANumber_SaysSoWithoutATypeName()
    {
        var (code, output, err) = await Cli("load", "http://127.0.0.1:9/", "--rate", "abc");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("error: --rate must be a number, got 'abc'");
        err.ShouldContain("see: constellation load --help");
        err.ShouldNotContain("System.");
        err.ShouldNotContain("Nullable");
        output.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("20ms")]
    [InlineData("-1ms")]
    [InlineData("200")]
    public async Task PacerBatch_ABadValue_IsOneLineExit2BeforeAnything(string value)
    {
        var (code, output, err) = await CliRunner.RunWithEnvAsync(new Dictionary<string, string> { ["CONSTELLATION_PACER_BATCH"] = value }, "load", "http://127.0.0.1:9/", "--rate", "10", "-d", "1s");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.Trim().ShouldBe($"error: CONSTELLATION_PACER_BATCH must be a duration from 0 to 10ms (e.g. 200us, 1ms), got '{value}'");
        output.ShouldBeEmpty();
        Runs.Engine.OpenModelRunner.ParseReleaseAhead("1ms").Value.ShouldBe(TimeSpan.FromMilliseconds(1));
        Runs.Engine.OpenModelRunner.ParseReleaseAhead(null).ShouldBe((null, null));
        Runs.Engine.OpenModelRunner.ParseReleaseAhead("0").Value.ShouldBe(TimeSpan.Zero);
    }

    [Fact]
    public async Task Run_EveryBadFlag_IsReportedAtOnce()
    {
        var (code, _, err) = await Cli(
            "run", "--run-id", "../x", "--s3-timeout", "0s", "--s3-link-expiry", "200h", "--tag", "a b",
            "--agents", "3", "--agent-weights", "1,1", "--agents-on", "moon", "--agent-lost-after", "soon", "--metrics-port", "70000", "--s3-endpoint", "ftp://x");

        code.ShouldBe(ExitCodes.InvalidInput);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldContain(l => l.StartsWith("error: --run-id may hold letters, digits", StringComparison.Ordinal));
        lines.ShouldContain("error: --s3-timeout must be from 1ms to 10m, got 0s");
        lines.ShouldContain(l => l.StartsWith("error: --s3-link-expiry must be from", StringComparison.Ordinal));
        lines.ShouldContain("error: --tag must be a word without spaces or control characters (at most 100 characters), got 'a b'");
        lines.ShouldContain("error: --agents-on must be local or kubernetes, got 'moon'");
        lines.ShouldContain(l => l.StartsWith("error: --agent-lost-after must be a duration", StringComparison.Ordinal));
        lines.ShouldContain("error: --metrics-port must be from 1 to 65535, got 70000");
        lines.ShouldContain("error: --s3-endpoint must be an absolute http:// or https:// URL, got 'ftp://x'");
        lines.ShouldContain("error: --agents 3 but --agent-weights gives 2 weights");
        lines[^1].ShouldBe("see: constellation run --help");
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("/tmp/x")]
    [InlineData("run id")]
    public async Task Run_RunIdOutsideTheAllowedCharacters_IsRefusedBeforeAnythingRuns(string id)
    {
        // The runs folder inside a folder of its own, so "../x" would land beside it there (not in a shared /tmp, where
        // an x may already be); an absolute id is checked by what its path held before.
        var parent = Directory.CreateTempSubdirectory("constellation-runid-").FullName;
        var output = Directory.CreateDirectory(Path.Combine(parent, "runs")).FullName;
        static string[] Entries(string path) => Directory.Exists(path) ? [.. Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories)] : [];
        var absoluteBefore = Path.IsPathRooted(id) ? (Exists: Path.Exists(id), Entries: Entries(id)) : default;
        try
        {
            var (code, _, err) = await Cli("run", "--run-id", id, "-o", output);

            code.ShouldBe(ExitCodes.InvalidInput);
            err.ShouldContain("--run-id may hold letters, digits, '.', '_' and '-' only");
            Directory.EnumerateFileSystemEntries(output).ShouldBeEmpty();
            Directory.EnumerateFileSystemEntries(parent).ShouldBe([output]);
            if (Path.IsPathRooted(id))
            {
                Path.Exists(id).ShouldBe(absoluteBefore.Exists);
                Entries(id).ShouldBe(absoluteBefore.Entries);
            }
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task RunsTag_RunIdThatIsAPath_IsRefused()
    {
        var (code, _, err) = await Cli("runs", "tag", "../../etc", "x");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("run-id may hold letters, digits");
    }

    [Fact]
    public async Task Load_PlanProblems_SpeakOfTheFlags()
    {
        var (code, _, err) = await Cli("load", "http://127.0.0.1:9/", "-c", "2", "--method", "GE T", "--header", "X-Bad\r\nInjected: 1");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("error: --method: must be one of GET");
        err.ShouldContain("error: --header");
    }

    [Fact]
    public async Task UnknownCommandOrFlag_IsOneLineAndPointsToHelp()
    {
        var (code, _, err) = await Cli("run", "--rate", "5");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("error: Unrecognized command or argument");
        err.ShouldContain("see: constellation run --help");
        err.ShouldNotContain("Usage:");
    }
}
