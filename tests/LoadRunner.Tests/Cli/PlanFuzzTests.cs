using System.Diagnostics;
using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;
using Constellation.Tests;
using CsCheck;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// `validate` on thousands of seeded mutations of every valid plan of the repository (<see cref="PlanMutator"/>): each
/// ends with exit 0 or 2 and a message in a few lines — never another exit code, an exception trace, a .NET type name
/// or more than 2 s. A failing case prints its (seed, plan, operations); it is kept below as a regular test.
/// </summary>
public sealed class PlanFuzzTests : IDisposable
{
    private static readonly IReadOnlyList<(string Name, string Text)> Corpus = PlanMutator.Corpus();
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Gen<(int Seed, int Plan, int Operations)> Cases =
        Gen.Select(Gen.Int, Gen.Int[0, Corpus.Count - 1], Gen.Int[1, 4]);

    [Fact]
    public async Task Validate_ThousandsOfMutatedPlans_EndWithExit0Or2AndAMessage()
    {
        int[] codes = new int[3];
        await Cases.SampleAsync(
            async c =>
            {
                var code = await CheckAsync(c.Seed, c.Plan, c.Operations);
                codes[code == 0 ? 0 : 1]++;
            },
            iter: 2000,
            threads: 1);

        codes[1].ShouldBeGreaterThan(500); // most mutations break the plan: the fuzz is not validating the corpus only
    }

    /// <summary>
    /// Cases a fuzz run found, kept as regular tests (seed, plan index, operations). (0, 0, 3) cuts a flow mapping
    /// open, on which YamlDotNet throws InvalidOperationException rather than a YamlException.
    /// </summary>
    [Theory]
    [InlineData(0, 0, 3)]
    public async Task Validate_KeptFuzzCases(int seed, int plan, int operations) => await CheckAsync(seed, plan, operations);

    private async Task<int> CheckAsync(int seed, int plan, int operations)
    {
        var (name, text) = Corpus[plan % Corpus.Count];
        var mutated = PlanMutator.Mutate(text, seed, operations);
        var path = Path.Combine(_dir, "fuzzed.yaml");
        await File.WriteAllTextAsync(path, mutated, TestContext.Current.CancellationToken);
        var clock = Stopwatch.StartNew();

        var (code, output, err) = await CliRunner.RunAsync("validate", path);

        var what = $"seed {seed}, plan {name}, {operations} operation(s):\n{(mutated.Length > 3000 ? mutated[..3000] + "…" : mutated)}\n--- stdout\n{output}\n--- stderr\n{err}";
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2), what);
        code.ShouldBeOneOf([ExitCodes.Ok, ExitCodes.InvalidInput], what);
        (code == ExitCodes.Ok ? output : err).Trim().ShouldNotBeEmpty(what);
        foreach (var bad in new[] { "Exception", "   at ", "System.", "Stack overflow", "Unhandled" })
        {
            (output + err).ShouldNotContain(bad, Case.Sensitive, what);
        }

        err.Split('\n').Length.ShouldBeLessThanOrEqualTo(110, what); // at most 100 problems, then a line that says so
        return code;
    }
}
