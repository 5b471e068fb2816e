using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

/// <summary>One verdict per run, in the exit codes' order: cancelled, aborted or error, invalid, failed, passed.</summary>
public sealed class RunVerdictTests
{
    [Theory]
    [InlineData(RunStatus.Completed, null, "passed")]
    [InlineData(RunStatus.Completed, "passed", "passed")]
    [InlineData(RunStatus.Completed, "failed", "failed")]
    [InlineData(RunStatus.Completed, "invalid", "invalid")]
    [InlineData(RunStatus.Cancelled, "failed", "cancelled")]
    [InlineData(RunStatus.Aborted, "passed", "aborted")]
    [InlineData(RunStatus.Failed, "failed", "error")]
    [InlineData(RunStatus.Failed, null, "error")]
    public void Of_StatusAndGate_GiveOneVerdict(RunStatus status, string? gate, string expected) =>
        RunVerdict.Of(status, gate).ShouldBe(expected);

    [Fact]
    public void TheRecord_CarriesItsVerdict_InRunJson()
    {
        var run = Constellation.Tests.TestRuns.Sample() with { Gate = new GateResult { Verdict = GateResult.Failed } };

        var json = RunRecordJson.Serialize(run);

        json.ShouldContain("\"verdict\": \"failed\"");
        RunRecordJson.Deserialize(json).Verdict.ShouldBe(RunVerdict.Failed);
        SummaryMarkdown.Render(run).ShouldContain("- Verdict: **failed** ✗ (a threshold failed)");
    }
}
