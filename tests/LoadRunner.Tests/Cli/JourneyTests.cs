using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// A login journey against a loopback server that refuses /account without the session cookie its login set and
/// the token its login answered: cookies, data and extraction end to end.
/// </summary>
public sealed class JourneyTests() : LoopbackRunTests("journey")
{
    private async Task<string> PlanAsync(string scenarioExtra = "", string extract = "{ name: token, json: $.token }", string users = "user,password\nann,ann-pw\nbob,bob-pw\n\"c, d\",\"c, d-pw\"\n", string load = "{ model: closed, users: 3, duration: 30s, iterations: 4 }")
    {
        await File.WriteAllTextAsync(Path.Combine(Dir, "users.csv"), users, TestContext.Current.CancellationToken);
        var path = Path.Combine(Dir, $"journey-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, $$"""
            name: journey
            targets:
              web: { baseUrl: "{{Target.BaseUrl}}" }
            scenarios:
              - name: login
                target: web
                data: { file: users.csv, bind: user }
                {{scenarioExtra}}
                requests:
                  - name: login
                    method: POST
                    path: /login
                    headers: { Content-Type: application/json }
                    body: '{"user": "${data.user}", "password": "${data.password}"}'
                    extract: [{{extract}}]
                  - name: account
                    path: /account
                    headers: { Authorization: "Bearer ${vars.token}" }
                    expect: { bodyContains: [account of] }
                load: {{load}}
            """, TestContext.Current.CancellationToken);
        return path;
    }

    [Fact]
    public async Task ALoginJourney_WithCookiesDataAndAnExtractedToken_ReadsEveryAccount()
    {
        var (code, record, log) = await RunAsync(await PlanAsync(), "journey");

        code.ShouldBe(ExitCodes.Ok, log);
        var s = record.Scenarios.Single();
        s.Requests.Select(r => (r.Name, r.Totals.Requests, r.Totals.Outcomes.Errors)).ShouldBe([("login", 12L, 0L), ("account", 12L, 0L)], log);

        // One row per user for its life (bind: user): each of the three users logged in as its own row, a quoted CSV field included.
        Target.AccountsRead.ShouldBe(new Dictionary<string, long> { ["ann"] = 4, ["bob"] = 4, ["c, d"] = 4 }, ignoreOrder: true);
        s.Failures.ShouldBeEmpty();
    }

    [Fact]
    public async Task WithoutCookies_TheServerRefusesTheAccount()
    {
        var (code, record, log) = await RunAsync(await PlanAsync(scenarioExtra: "cookies: false"), "nocookies");

        code.ShouldBe(ExitCodes.Ok, log); // no threshold: the run passes, its errors are in the numbers
        var account = record.Scenarios.Single().Requests.Single(r => r.Name == "account");
        account.Totals.Outcomes.Status4xx.ShouldBe(12, log);
        Target.AccountsRead.ShouldBeEmpty();
    }

    [Fact]
    public async Task AnExtractorThatFindsNothing_IsAFailedCheckNamedByIt()
    {
        var (_, record, log) = await RunAsync(await PlanAsync(extract: "{ name: token, json: $.access_token }"), "noextract");

        var s = record.Scenarios.Single();
        var login = s.Requests.Single(r => r.Name == "login");
        login.Totals.Outcomes.CheckFailed.ShouldBe(12, log);
        s.Failures.ShouldBe(new Dictionary<string, long> { ["extract token (json $.access_token): no match"] = 12, ["${vars.token} had no value: sent empty"] = 12 }, ignoreOrder: true);
        s.Requests.Single(r => r.Name == "account").Totals.Outcomes.Status4xx.ShouldBe(12); // sent with an empty token, refused
        (await File.ReadAllTextAsync(Path.Combine(Dir, "noextract", "summary.md"), TestContext.Current.CancellationToken)).ShouldContain("| login | extract token (json $.access_token): no match | 12 |");
    }

    [Fact]
    public async Task UniqueDataThatStops_EachRowOnce_ThenTheUsersStop()
    {
        var rows = "user,password\n" + string.Concat(Enumerable.Range(1, 5).Select(i => $"u{i},u{i}-pw\n"));
        var plan = await PlanAsync(users: rows, load: "{ model: closed, users: 2, duration: 30s }");
        plan = await Rewrite(plan, "data: { file: users.csv, bind: user }", "data: { file: users.csv, order: unique, atEnd: stop }");

        var started = DateTime.UtcNow;
        var (code, record, log) = await RunAsync(plan, "unique");

        code.ShouldBe(ExitCodes.Ok, log);
        Target.AccountsRead.ShouldBe(Enumerable.Range(1, 5).ToDictionary(i => $"u{i}", _ => 1L), ignoreOrder: true);
        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(20)); // ended when the rows did, not at 30 s
        record.Scenarios.Single().Requests.Single(r => r.Name == "login").Totals.Requests.ShouldBe(5);
    }

    [Fact]
    public async Task InTheOpenModel_EachArrivalIsAWholeJourney_WithASessionOfItsOwn()
    {
        var (code, record, log) = await RunAsync(await PlanAsync(load: "{ model: open, rate: 10, duration: 3s }"), "open");

        code.ShouldBe(ExitCodes.Ok, log);
        var s = record.Scenarios.Single();
        s.Seconds.Sum(x => x.Offered).ShouldBe(30, 0.001); // the plan counts arrivals: journeys
        s.Requests.Select(r => (r.Name, r.Totals.Requests, r.Totals.Outcomes.Errors)).ShouldBe([("login", 30L, 0L), ("account", 30L, 0L)], log);
        Target.AccountsRead.Values.Sum().ShouldBe(30); // each arrival logged in and read its account with its own cookie and token
        s.Totals.Outcomes.Dropped.ShouldBe(0);
    }

    [Fact]
    public async Task UniqueRowsThatWouldBeRecycled_AreRefused()
    {
        var plan = await Rewrite(await PlanAsync(), "data: { file: users.csv, bind: user }", "data: { file: users.csv, order: unique, atEnd: recycle }");

        var (code, _, err) = await CliRunner.RunAsync("run", plan, "-o", Dir);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("unique rows are each used once");
    }

    [Theory]
    [InlineData("${vars.nope}", "${vars.nope} is not extracted by an earlier request")]
    [InlineData("${data.email}", "users.csv has no column 'email' (its columns: user, password)")]
    public async Task APlaceholderThatCanNeverHaveAValue_IsRefusedBeforeAnyLoad(string placeholder, string message)
    {
        var plan = await Rewrite(await PlanAsync(), "Bearer ${vars.token}", $"Bearer {placeholder}");
        var before = Target.Requests;

        var (code, _, err) = await CliRunner.RunAsync("run", plan, "-o", Dir);

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain(message);
        Target.Requests.ShouldBe(before);
    }

    [Theory]
    [InlineData("{ name: token, regex: '(unclosed' }", "is not a regular expression")]
    [InlineData("{ name: token, json: '$.items[?(@.id)]' }", "neither an index nor a quoted name")]
    [InlineData("{ name: token, regex: 'a(b)', group: 3 }", "group 3 does not exist")]
    [InlineData("{ name: token, json: $.a, header: X }", "takes one of json")]
    [InlineData("{ name: token, header: Transfer-Encoding }", "frames the answer for the connection")]
    public async Task ABadExtractor_IsRefusedBeforeAnyLoad(string extract, string message)
    {
        var (code, _, err) = await CliRunner.RunAsync("run", await PlanAsync(extract: extract), "-o", Dir);

        code.ShouldBe(ExitCodes.InvalidInput, err);
        err.ShouldContain(message);
    }

    private static async Task<string> Rewrite(string plan, string from, string to)
    {
        var text = await File.ReadAllTextAsync(plan, TestContext.Current.CancellationToken);
        text.ShouldContain(from);
        await File.WriteAllTextAsync(plan, text.Replace(from, to, StringComparison.Ordinal), TestContext.Current.CancellationToken);
        return plan;
    }
}
