using Constellation.Core.Plans;
using Constellation.Runs.Engine;
using Constellation.Tests;

namespace Constellation.Runs.Tests.Engine;

/// <summary>request.expect (JMeter's Response Assertion) and load.iterations (its loop count) in the engine.</summary>
public sealed class ResponseChecksTests : IAsyncLifetime
{
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync() => await _target.DisposeAsync();

    private async Task<Core.Results.ScenarioResult> Run(string path, ResponseExpectation? expect, LoadSpec? load = null)
    {
        var spec = Plans.Scenario(path, load ?? new LoadSpec { Model = LoadModel.Open, Segments = [new LoadSegment(TimeSpan.FromSeconds(0.5), 40, 40)] }, null, []);
        spec = spec with { Request = spec.Request with { Expect = expect } };
        var result = await new LoadEngine(TimeProvider.System).RunAsync(
            [new ResolvedScenario(spec, _target.Url(path.TrimStart('/')))], null, TestContext.Current.CancellationToken);
        return result.Scenarios[0];
    }

    [Fact]
    public async Task BodyContains_Passes_WhenTheTextIsThere()
    {
        var s = await Run("/text?body=spun%20for%202000%20ms", new ResponseExpectation { Status = [200], BodyContains = ["spun"] });

        s.Totals.Outcomes.Status2xx.ShouldBe(20);
        s.Totals.Outcomes.CheckFailed.ShouldBe(0);
        s.Totals.ErrorRate.ShouldBe(0);
    }

    [Fact]
    public async Task BodyContains_FailsTheCheck_AndCountsAsAnError_WhenTheTextIsMissing()
    {
        var s = await Run("/text?body=busy", new ResponseExpectation { BodyContains = ["spun"] });

        s.Totals.Outcomes.Status2xx.ShouldBe(0);
        s.Totals.Outcomes.CheckFailed.ShouldBe(20);
        s.Totals.Outcomes.Errors.ShouldBe(20);
        s.Totals.ErrorRate.ShouldBe(1);
    }

    [Fact]
    public async Task BodyContains_FindsTextAfterSeveralChunks()
    {
        // /chunked sends "first chunk;" then 20 000 x's in a second chunk: the needle spans reads and the chunk framing is not part of the body.
        var pass = await Run("/chunked", new ResponseExpectation { BodyContains = ["first chunk;xxx", new string('x', 20_000)] });
        var fail = await Run("/chunked", new ResponseExpectation { BodyContains = [new string('x', 20_001)] });

        pass.Totals.Outcomes.Status2xx.ShouldBe(20);
        fail.Totals.Outcomes.CheckFailed.ShouldBe(20);
    }

    [Fact]
    public async Task BodyNotContains_And_Status_AreChecked()
    {
        var notContains = await Run("/text?body=error%20page", new ResponseExpectation { BodyNotContains = ["error"] });
        var status = await Run("/text?body=moved&code=202", new ResponseExpectation { Status = [200] });
        var otherStatus = await Run("/text?body=moved&code=202", new ResponseExpectation { Status = [200, 202] });

        notContains.Totals.Outcomes.CheckFailed.ShouldBe(20);
        status.Totals.Outcomes.CheckFailed.ShouldBe(20);
        otherStatus.Totals.Outcomes.Status2xx.ShouldBe(20);
    }

    [Fact]
    public async Task AServerError_StaysA5xx_NotACheckFailure()
    {
        var s = await Run("/status/503", new ResponseExpectation { Status = [200], BodyContains = ["spun"] });

        s.Totals.Outcomes.Status5xx.ShouldBe(20);
        s.Totals.Outcomes.CheckFailed.ShouldBe(0);
    }

    [Fact]
    public async Task Iterations_EachUserSendsExactlyItsLoopCount_AndTheScenarioEndsWhenAllAreDone()
    {
        // 3 users × 4 iterations, bounded by 60 s: JMeter's "loop count 4" thread group ends after 12 samples.
        var load = new LoadSpec
        {
            Model = LoadModel.Closed,
            Segments = [new LoadSegment(TimeSpan.FromSeconds(60), 3, 3)],
            Iterations = 4,
        };

        var s = await Run("/ok", null, load);

        s.Totals.Requests.ShouldBe(12);
        _target.Requests.ShouldBe(12);
        s.DurationSeconds.ShouldBeLessThan(30); // ended by the iteration limit, not the 60 s bound
    }

    [Fact]
    public async Task Iterations_UsersThatArriveDuringARamp_EachGetTheirOwnLoops()
    {
        // 0 → 4 users over 1 s (users start one after another), 5 iterations each, think time 10–30 ms.
        var load = new LoadSpec
        {
            Model = LoadModel.Closed,
            Segments = [new LoadSegment(TimeSpan.FromSeconds(1), 0, 4), new LoadSegment(TimeSpan.FromSeconds(60), 4, 4)],
            Iterations = 5,
            ThinkTime = TimeSpan.FromMilliseconds(10),
            ThinkTimeMax = TimeSpan.FromMilliseconds(30),
        };

        var s = await Run("/ok", null, load);

        s.Totals.Requests.ShouldBe(20);
    }

    [Fact]
    public async Task Sequence_EachUserSendsTheRequestsInOrder_AndIterationsCountWholeSequences()
    {
        // 2 users × 3 iterations of /ok → /text → /chunked, each request with its own check: 6 of each, 18 in all.
        var load = new LoadSpec { Model = LoadModel.Closed, Segments = [new LoadSegment(TimeSpan.FromSeconds(60), 2, 2)], Iterations = 3, ThinkTime = TimeSpan.FromMilliseconds(5) };
        RequestSpec[] sequence =
        [
            new() { Path = "/ok", Name = "first" },
            new() { Path = "/text?body=second", Expect = new ResponseExpectation { BodyContains = ["second"] } },
            new() { Path = "/chunked", Expect = new ResponseExpectation { BodyContains = ["nope"] } },
        ];
        var spec = Plans.Scenario("/ok", load, null, []) with { Request = sequence[0], Sequence = sequence };
        var resolved = ResolvedScenario.On(spec, _target.BaseUrl);

        var result = await new LoadEngine(TimeProvider.System).RunAsync([resolved], null, TestContext.Current.CancellationToken);

        var s = result.Scenarios[0];
        s.Totals.Requests.ShouldBe(18);
        s.Totals.Outcomes.Status2xx.ShouldBe(12);
        s.Totals.Outcomes.CheckFailed.ShouldBe(6); // the third request's check fails, the others pass
        _target.RequestsByPath["/ok"].ShouldBe(6);
        _target.RequestsByPath["/text"].ShouldBe(6);
        _target.RequestsByPath["/chunked"].ShouldBe(6);
    }
}

/// <summary>The streaming body scan: a text is found wherever the reads split it.</summary>
public sealed class BodyScanTests
{
    [Fact]
    public void Feed_TextSplitAtEveryPosition_IsFound()
    {
        var checks = new Constellation.Runs.Http.ResponseChecks(new ResponseExpectation { BodyContains = ["needle-in-a-haystack"], BodyNotContains = ["poison"] });
        var body = System.Text.Encoding.UTF8.GetBytes("........needle-in-a-haystack........");
        for (int split1 = 0; split1 <= body.Length; split1++)
        {
            for (int split2 = split1; split2 <= body.Length; split2++)
            {
                var scan = new Constellation.Runs.Http.BodyScan();
                scan.Reset(checks);
                scan.Feed(body.AsSpan(0, split1));
                scan.Feed(body.AsSpan(split1, split2 - split1));
                scan.Feed(body.AsSpan(split2));
                checks.Pass(200, scan).ShouldBeTrue($"split at {split1} and {split2}");
            }
        }
    }

    [Fact]
    public void Feed_OneByteAtATime_FindsAForbiddenText()
    {
        var checks = new Constellation.Runs.Http.ResponseChecks(new ResponseExpectation { BodyNotContains = ["poison"] });
        var scan = new Constellation.Runs.Http.BodyScan();
        scan.Reset(checks);
        foreach (var b in "a little poison here"u8.ToArray())
        {
            scan.Feed([b]);
        }

        checks.Pass(200, scan).ShouldBeFalse();
        checks.Pass(200, "no harm"u8).ShouldBeTrue();
    }
}
