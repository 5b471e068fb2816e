using Constellation.Tests;
using System.Xml.Linq;
using Constellation.Core.Results;
using Constellation.Reports.JUnit;

namespace Constellation.Reports.Tests;

public sealed class JUnitReportTests
{
    [Fact]
    public void Render_CompletedRun_MatchesApprovedFile()
    {
        Approvals.Verify("junit.xml", JUnitReport.Render(TestRuns.Sample()));
    }

    [Fact]
    public void Render_CancelledScenario_IsAnError()
    {
        var run = TestRuns.Sample();
        run = run with { Status = RunStatus.Cancelled, Scenarios = [run.Scenarios[0] with { EndReason = EndReason.Cancelled, BreakingPoint = null }] };

        var xml = XDocument.Parse(JUnitReport.Render(run));

        xml.Root!.Attribute("errors")!.Value.ShouldBe("1");
        xml.Descendants("error").Single().Attribute("type")!.Value.ShouldBe("cancelled");
    }

    [Fact]
    public void Render_FailedRun_HasARunTestCaseWithTheErrorEscaped()
    {
        var run = TestRuns.Sample() with { Status = RunStatus.Failed, Scenarios = [], Error = "target 'spin' exited <1> & died" };

        var xml = XDocument.Parse(JUnitReport.Render(run));

        xml.Descendants("testcase").Single().Attribute("name")!.Value.ShouldBe("run");
        xml.Descendants("error").Single().Attribute("message")!.Value.ShouldBe("target 'spin' exited <1> & died");
    }
}
