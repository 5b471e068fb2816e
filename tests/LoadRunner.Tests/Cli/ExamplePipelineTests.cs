using System.Text.RegularExpressions;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>The example pipelines call only documented commands with options those commands have.</summary>
public sealed partial class ExamplePipelineTests
{
    [Theory]
    [InlineData("examples/github-actions/scale-test.yml")]
    [InlineData("examples/jenkins/Jenkinsfile")]
    public async Task EveryConstellationCall_IsACommandWithTheseOptions(string file)
    {
        var root = new DirectoryInfo(Constellation.Tests.Repo.Root);
        var text = await File.ReadAllTextAsync(Path.Combine(root.FullName, file), TestContext.Current.CancellationToken);
        var calls = Call().Matches(text).Select(m => m.Groups["args"].Value).ToList();
        calls.Count.ShouldBeGreaterThanOrEqualTo(4);
        var readme = await File.ReadAllTextAsync(Path.Combine(root.FullName, "README.md"), TestContext.Current.CancellationToken);
        foreach (var call in calls)
        {
            var words = call.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var command = words.TakeWhile(w => !w.StartsWith('-') && !w.Contains('/') && !w.Contains('"') && !w.Contains('$')).Take(2).ToArray();
            var o = new StringWriter();
            var code = await ConstellationCli.RunAsync([.. command, "--help"], new CliContext(o, new StringWriter(), false, TestContext.Current.CancellationToken, CancellationToken.None));
            code.ShouldBe(0, call);
            var help = o.ToString();
            foreach (var option in words.Where(w => w.StartsWith("--", StringComparison.Ordinal)))
            {
                help.ShouldContain(option, customMessage: $"'{call}': {string.Join(' ', command)} has no {option}");
            }

            readme.ShouldContain($"constellation {string.Join(' ', command)}", customMessage: $"'{call}' is not documented in the README");
        }
    }

    [GeneratedRegex(@"\./constellation (?<args>[^\n'|]+)")]
    private static partial Regex Call();
}
