using System.Diagnostics;
using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Plans;

/// <summary>Malformed and hostile plans: every one ends in located errors, never an exception, a silent cap or a hang.</summary>
public sealed class PlanRobustnessTests
{
    private static IReadOnlyList<string> Errors(string yaml)
    {
        var clock = Stopwatch.StartNew();
        var result = PlanLoader.Parse(yaml);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
        result.IsValid.ShouldBeFalse();
        return [.. result.Errors.Select(e => e.ToString())];
    }

    private const string Valid = """
        name: p
        targets: { web: { baseUrl: "http://127.0.0.1:9" } }
        scenarios:
          - { name: s, target: web, load: { model: open, rate: 5, duration: 10s } }
        """;

    [Fact]
    public void UnclosedFlowMapping_IsAYamlErrorWithLineAndColumn()
    {
        var errors = Errors("name: p\ntargets: { web: { baseUrl: x }\nscenarios: []\n");

        errors.ShouldHaveSingleItem().ShouldStartWith("(yaml): ");
        errors[0].ShouldMatch(@"\(line \d+, column \d+\)$");
        errors[0].ShouldNotContain("Operation is not valid");
    }

    [Fact]
    public void TwoScenariosWithOneName_AreReported_WithTheFilesOtherErrors()
    {
        var errors = Errors("""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, load: { model: open, rate: 5, duration: 10s } }
              - { name: s, target: nowhere, load: { model: open, rate: -1, duration: 10s } }
            """);

        errors.ShouldContain(e => e.StartsWith("scenarios[1].name: 's' is used by another scenario", StringComparison.Ordinal) && e.EndsWith("(line 5)", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("scenarios[1].target: unknown target 'nowhere'", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("scenarios[1].load.rate: must be > 0", StringComparison.Ordinal));
    }

    [Fact]
    public void ANonScalarKey_AndAKeyGivenTwice_AreFormErrors()
    {
        Errors("name: p\n? [a, b]\n: x\n").ShouldContain(e => e.Contains("a mapping key must be a plain name", StringComparison.Ordinal) && e.Contains("(line 2, column 3)", StringComparison.Ordinal));
        Errors("name: p\nname: q\n").ShouldContain(e => e.StartsWith("name: is given twice in the same mapping", StringComparison.Ordinal));
    }

    [Fact]
    public void DeepNesting_IsRefused_WithoutOverflowingTheStack()
    {
        var deep = "name: p\nx: " + new string('[', 40_000) + new string(']', 40_000) + "\n";

        var errors = Errors(deep);

        errors.ShouldHaveSingleItem().ShouldContain($"nests lists and maps deeper than {YamlPreflight.MaxDepth} levels");
    }

    [Fact]
    public void AFileLargerThanTheLimit_IsRefused()
    {
        Errors(Valid + "# " + new string('x', YamlPreflight.MaxBytes)).ShouldHaveSingleItem().ShouldContain("larger than the limit of 1024 KiB");
    }

    [Fact]
    public void ASecondDocument_IsRefused_NotIgnored()
    {
        Errors(Valid + "\n---\nname: second\n").ShouldContain(e => e.Contains("holds more than one YAML document", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAliasBomb_IsRefused()
    {
        var bomb = "name: p\na: &a [x, x, x, x, x, x, x, x, x]\n" + string.Join('\n', Enumerable.Range(0, 120).Select(i => $"b{i}: *a")) + "\n";

        Errors(bomb).ShouldContain(e => e.Contains("uses more than 100 aliases", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("steps: { from: 1, step: 1, every: 1s, to: 50000 }", "scenarios[0].load.steps: makes 50000 steps")]
    [InlineData("steps: { from: 1, step: 0.000001, every: 1s, to: 1000000 }", "scenarios[0].load.steps: makes 999999000001 steps")]
    [InlineData("rate: 5, duration: 25h", "scenarios[0].load: runs for 25h")]
    [InlineData("cycles: { base: 1, peak: 2, baseFor: 1s, peakFor: 1s, count: 1001 }", "scenarios[0].load.cycles.count: must be a whole number from 1 to 1000, got 1001")]
    [InlineData("cycles: { base: 1, peak: 2, baseFor: 10m, peakFor: 10m, count: 100 }", "scenarios[0].load: runs for")]
    public void EveryLimit_IsAnError_NeverASilentCap(string shape, string expected)
    {
        var errors = Errors($$"""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, load: { model: open, {{shape}} } }
            """);

        errors.ShouldContain(e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void StartAfter_CountsTowardsThe24hLimit()
    {
        var errors = Errors("""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, startAfter: 1000h, load: { model: open, rate: 5, duration: 10s } }
            """);

        errors.ShouldContain(e => e.StartsWith("scenarios[0].startAfter: must be at most 24h, got 1000h", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("scenarios: the plan runs for", StringComparison.Ordinal) && e.Contains("start delays included", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("p(NaN) < 1s", "a percentile is between 0 and 100")]
    [InlineData("p(95) < -5s", "a limit on p(95) cannot be negative")]
    [InlineData("error_rate < -1%", "cannot be negative")]
    public void ThresholdsWithNoMeaning_AreRefused_WithTheirLine(string threshold, string expected)
    {
        var errors = Errors($$"""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, load: { model: open, rate: 5, duration: 10s } }
            thresholds:
              - "{{threshold}}"
            """);

        errors.ShouldContain(e => e.StartsWith("thresholds[0]: ", StringComparison.Ordinal) && e.Contains(expected, StringComparison.Ordinal) && e.EndsWith("(line 6)", StringComparison.Ordinal));
    }

    [Fact]
    public void RunLevelThresholdProblems_CarryALine()
    {
        var errors = Errors("""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, load: { model: open, rate: 5, duration: 10s } }
            thresholds:
              - "p(95) < 1s during stage \"nope\""
            """);

        errors.ShouldContain(e => e.StartsWith("thresholds: 'p(95) < 1s during stage \"nope\"': no stage named", StringComparison.Ordinal) && e.EndsWith("(line 6)", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUnknownScenarioKey_HintsAtRequestAndRequests()
    {
        var errors = Errors("""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, reqest: { path: / }, load: { model: open, rate: 5, duration: 10s } }
            """);

        var hint = errors.ShouldHaveSingleItem();
        hint.ShouldStartWith("scenarios[0].reqest: unknown key (known here: ");
        hint.ShouldContain("request, requests");
    }
}
