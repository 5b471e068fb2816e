using Constellation.Core.Logging;
using Constellation.Runs.Distributed;
using Constellation.Tests;

namespace Constellation.Runs.Tests.Distributed;

/// <summary>
/// An agent holds its coordinator to a lease: when the heartbeat in control.json stands still for the lease, it stops
/// sending, writes its share and exits on its own — no load outlives its run. Its secrets come from its environment.
/// </summary>
public sealed class AgentLeaseTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-lease-").FullName;
    private TestTarget _target = null!;

    public async ValueTask InitializeAsync() => _target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task SilentCoordinator_TheAgentStopsAfterTheLease_AndWritesItsShare()
    {
        var ct = TestContext.Current.CancellationToken;
        using var exchange = new FolderExchange(_dir);
        var split = AgentSecrets.Extract(Plan(), new Dictionary<string, Uri> { ["web"] = _target.BaseUrl }, new Core.Plans.SecretSource());
        await exchange.PutAsync(AgentProtocol.AssignmentKey, new AgentAssignment
        {
            RunId = "lease",
            PlanText = split.PlanText,
            TargetUrls = split.TargetUrls,
            Weights = [1],
            StartAtUtc = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(1),
            Lease = TimeSpan.FromSeconds(2),
        }, ct);
        await exchange.PutAsync(AgentProtocol.ControlKey, new AgentControl { Heartbeat = 1 }, ct); // one beat, then silence
        var log = new StringWriter();
        var env = split.Environment;

        var started = TimeProvider.System.GetTimestamp();
        int code = await new AgentWorker(TimeProvider.System, new PlainTextLogger(log)).RunAsync(exchange, 0, TimeSpan.FromSeconds(10), ct, CancellationToken.None, envOverride: name => env.GetValueOrDefault(name));
        var took = TimeProvider.System.GetElapsedTime(started);

        code.ShouldBe(1, log.ToString());
        took.ShouldBeLessThan(TimeSpan.FromSeconds(15), "the plan runs 60 s: the lease ended it");
        log.ToString().ShouldContain("its coordinator has been silent for 2s");
        var outcome = (await exchange.GetAsync<AgentOutcome>(AgentProtocol.ResultKey(0), ct)).ShouldNotBeNull();
        outcome.Orphaned.ShouldBeTrue();
        outcome.Scenarios.Single().Completed.ShouldBe(_target.Requests);
        (await exchange.GetAsync<AgentStatus>(AgentProtocol.StatusKey(0), ct)).ShouldNotBeNull().State.ShouldBe("orphaned");
        _target.RequestsByPath.Keys.ShouldBe(["/ok"]);
    }

    [Fact]
    public void Secrets_StayOutOfTheAssignment_AndComeBackFromTheEnvironment()
    {
        var url = new UriBuilder(_target.BaseUrl) { UserName = "load", Password = "p@ss" }.Uri;

        var split = AgentSecrets.Extract(Plan(), new Dictionary<string, Uri> { ["web"] = url }, new Core.Plans.SecretSource());

        split.PlanText.ShouldNotContain("agent-token");
        split.TargetUrls["web"].ShouldNotContain("p@ss");
        split.TargetUrls["web"].ShouldNotContain("p%40ss");
        split.Environment.Values.ShouldContain("Bearer agent-token");
        var assignment = new AgentAssignment { RunId = "r", PlanText = split.PlanText, TargetUrls = split.TargetUrls, TargetUserInfo = split.TargetUserInfo, Weights = [1], StartAtUtc = default };
        var plan = AgentSecrets.Resolve(assignment, name => split.Environment.GetValueOrDefault(name));
        plan.Scenarios.Single().Request.Headers["Authorization"].ShouldBe("Bearer agent-token");
        plan.Scenarios.Single().Request.Headers["Accept"].ShouldBe("text/plain");
        var resolved = AgentSecrets.TargetUrl(assignment, "web", name => split.Environment.GetValueOrDefault(name));
        resolved.UserInfo.ShouldBe("load:p%40ss");
        Should.Throw<AgentException>(() => AgentSecrets.Resolve(assignment, _ => null)).Message.ShouldContain("in this agent's environment");
    }

    [Fact]
    public void References_AndClearCredentials_NeverReachTheAssignment_AndTheAgentSendsTheSame()
    {
        var file = Path.Combine(_dir, "db-password");
        File.WriteAllText(file, "FILELEAK:with@chars\n");
        var text = $$"""
            name: refs
            targets:
              web: { baseUrl: "http://CLEARUSER:CLEARLEAK@127.0.0.1:1/" }
              other: { baseUrl: "http://${env:USER_REF}:${file:{{file}}}@127.0.0.1:2/" }
            scenarios:
              - name: s
                target: web
                request:
                  method: POST
                  path: "/x?api_key=${env:KEY_REF}&q=1"
                  headers:
                    Authorization: &tok "Bearer ${env:TOKEN_REF}"
                    X-Api-Key: CLEARHEADERLEAK
                    X-Plain: "${env:PLAIN_REF}"
                    Set-Cookie: >-
                      session=BLOCKLEAK
                  body: "${file:{{file}}}"
                load: { model: open, rate: 1, duration: 1s }
              - name: t
                target: other
                request: { headers: { Cookie: *tok } }
                load: { model: open, rate: 1, duration: 1s }
            """;
        var env = new Dictionary<string, string> { ["USER_REF"] = "svc", ["KEY_REF"] = "KEYLEAK", ["TOKEN_REF"] = "TOKENLEAK", ["PLAIN_REF"] = "PLAINLEAK" };
        var secrets = new Core.Plans.SecretSource(n => env.GetValueOrDefault(n));
        var plan = Core.Plans.PlanLoader.Parse(text).Plan.ShouldNotBeNull();
        var coordinatorView = Core.Plans.SecretReferences.Resolve(plan, secrets);
        var targets = coordinatorView.Targets.ToDictionary(t => t.Key, t => t.Value.BaseUrl!);

        var split = AgentSecrets.Extract(text, targets, secrets);

        foreach (var leak in new[] { "CLEARUSER", "CLEARLEAK", "FILELEAK", "KEYLEAK", "TOKENLEAK", "PLAINLEAK", "CLEARHEADERLEAK", "BLOCKLEAK", "svc", file, "USER_REF", "TOKEN_REF" })
        {
            split.PlanText.ShouldNotContain(leak, customMessage: split.PlanText);
            string.Join("\n", split.TargetUrls.Values).ShouldNotContain(leak);
        }

        var assignment = new AgentAssignment { RunId = "r", PlanText = split.PlanText, TargetUrls = split.TargetUrls, TargetUserInfo = split.TargetUserInfo, Weights = [1], StartAtUtc = default };
        var agentView = AgentSecrets.Resolve(assignment, name => split.Environment.GetValueOrDefault(name));
        for (int i = 0; i < 2; i++)
        {
            var (a, c) = (agentView.Scenarios[i].Request, coordinatorView.Scenarios[i].Request);
            a.Path.ShouldBe(c.Path);
            a.Body.ShouldBe(c.Body);
            a.Headers.OrderBy(h => h.Key).ShouldBe(c.Headers.OrderBy(h => h.Key));
        }

        agentView.Scenarios[0].Request.Headers["Authorization"].ShouldBe("Bearer TOKENLEAK");
        agentView.Scenarios[1].Request.Headers["Cookie"].ShouldBe("Bearer TOKENLEAK");
        foreach (var t in new[] { "web", "other" })
        {
            Uri.UnescapeDataString(AgentSecrets.TargetUrl(assignment, t, name => split.Environment.GetValueOrDefault(name)).UserInfo).ShouldBe(Uri.UnescapeDataString(targets[t].UserInfo));
        }
    }

    private static string Plan() => """
        name: lease
        targets:
          web: { baseUrl: "http://127.0.0.1:1" }
        scenarios:
          - name: steady
            target: web
            request: { path: /ok, headers: { Authorization: "Bearer agent-token", Accept: text/plain } }
            load: { model: open, rate: 20, duration: 60s }
        """;
}
