using Constellation.Tests;
using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

public sealed class RunRecordJsonTests
{
    [Fact]
    public void SerializeDeserialize_RoundTripsExactly()
    {
        var record = TestRuns.Sample();

        var json = RunRecordJson.Serialize(record);
        var back = RunRecordJson.Deserialize(json);

        RunRecordJson.Serialize(back).ShouldBe(json);
        json.ShouldContain("\"schemaVersion\": 2");
        json.ShouldContain("\"status\": \"completed\"");
        back.Scenarios[0].BreakingPoint!.LastHealthyStage.ShouldBe("ramp");
    }

    [Fact]
    public void Deserialize_NewerSchema_IsRefusedWithAClearMessage()
    {
        var json = RunRecordJson.Serialize(TestRuns.Sample() with { SchemaVersion = 99 });

        Should.Throw<InvalidDataException>(() => RunRecordJson.Deserialize(json)).Message.ShouldContain("schemaVersion 99");
    }

    [Fact]
    public void SummaryMarkdown_PipesAndNewlinesInNames_DoNotBreakTheTable()
    {
        var md = SummaryMarkdown.Render(TestRuns.Sample(planName: "nightly | spin", scenarioName: "a|b\nc"));

        md.ShouldContain("— nightly \\| spin");
        md.ShouldContain("| a\\|b c |");
    }

    [Fact]
    public void SummaryMarkdown_MatchesApprovedFile()
    {
        Approvals.Verify("summary.md", SummaryMarkdown.Render(TestRuns.Sample()));
    }
}
