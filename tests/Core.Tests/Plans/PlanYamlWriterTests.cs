using System.Text.Json;
using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Plans;

/// <summary>Plans written with the YAML emitter read back to the same plan, whatever their strings hold.</summary>
public sealed class PlanYamlWriterTests
{
    /// <summary>Every valid plan of the repository: plans/, and the corpus of test plans.</summary>
    public static TheoryData<string> ValidPlans()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(Constellation.Tests.Repo.Root, "plans"), "*.yaml").Concat(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Plans", "Corpus"), "*.yaml")).Order(StringComparer.Ordinal))
        {
            data.Add(f);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ValidPlans))]
    public void Write_ThenParse_GivesTheSamePlan(string file)
    {
        var original = PlanLoader.LoadFile(file);
        original.Errors.ShouldBeEmpty();

        var yaml = PlanYamlWriter.Write(original.Plan!, ["written by the test", "second line: with a colon"]);
        var again = PlanLoader.Parse(yaml);

        again.Errors.ShouldBeEmpty(yaml);
        Canonical(again.Plan!).ShouldBe(Canonical(original.Plan!), yaml);
        yaml.ShouldStartWith("# written by the test\n# second line: with a colon\n");
    }

    [Fact]
    public void Write_APlanBuiltFromSegments_WritesStagesThatDrawThem()
    {
        var plan = PlanLoader.Parse("""
            name: p
            targets: { web: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - { name: s, target: web, load: { model: open, rate: 5, duration: 10s } }
            """).Plan!;
        var load = plan.Scenarios[0].Load with { Shape = null, Segments = [new LoadSegment(TimeSpan.FromSeconds(5), 0, 10), new LoadSegment(TimeSpan.FromSeconds(5), 20, 20, "jump")] };
        plan = plan with { Scenarios = [plan.Scenarios[0] with { Load = load }] };

        var again = PlanLoader.Parse(PlanYamlWriter.Write(plan)).Plan!;

        again.Scenarios[0].Load.Segments.Where(s => s.Duration > TimeSpan.Zero).Select(s => (s.Duration.TotalSeconds, s.From, s.To)).ShouldBe([(5.0, 0.0, 10.0), (5.0, 20.0, 20.0)]);
    }

    /// <summary>The plan as JSON, without its source text (the only part that differs between two writings).</summary>
    private static string Canonical(Plan plan) => JsonSerializer.Serialize(
        plan with { SourceText = null },
        new JsonSerializerOptions { WriteIndented = true, ReferenceHandler = System.Text.Json.Serialization.ReferenceHandler.IgnoreCycles });
}
