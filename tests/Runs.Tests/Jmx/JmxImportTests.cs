using Constellation.Runs.Jmx;
using Constellation.Core.Load;
using Constellation.Core.Plans;
using Constellation.Tests;

namespace Constellation.Runs.Tests.Jmx;

/// <summary>import-jmx on the example plans (examples/jmeter) and on small inline ones: shapes, requests, checks, findings.</summary>
public sealed class JmxImportTests
{
    internal static string Example(string name) => Path.Combine(Repo.Root, "examples", "jmeter", name);

    internal static JmxImportResult Import(string file, params (string Name, string Value)[] properties) =>
        JmxImporter.Import(File.ReadAllText(Example(file)), new JmxImportOptions
        {
            Properties = properties.ToDictionary(p => p.Name, p => p.Value),
            SourceName = file,
        });

    /// <summary>Users the converted scenario runs at run time t (its start offset included).</summary>
    private static int Users(ScenarioSpec s, double t) =>
        t < s.StartAfter.TotalSeconds ? 0 : LoadShare.Whole.UsersOf(s.Load.Curve.ValueAt(TimeSpan.FromSeconds(t) - s.StartAfter));

    /// <summary>
    /// The converted curve against JMeter's schedule, every 10 ms: never more than one thread apart (a thread of a
    /// ramp starts up to half a start interval later here), equal whenever JMeter's count has been steady for
    /// <paramref name="steady"/> either side, and ending when JMeter's last thread ends.
    /// </summary>
    private static void ShouldMatch(ScenarioSpec s, Func<double, int> jmeter, double end, double steady)
    {
        (s.StartAfter + s.Load.Duration).TotalSeconds.ShouldBe(end, 0.01);
        for (double t = 0.005; t < end + 1; t += 0.01)
        {
            int expected = jmeter(t), actual = Users(s, t);
            Math.Abs(expected - actual).ShouldBeLessThanOrEqualTo(1, $"at {t:0.000}s JMeter runs {expected} threads, the plan {actual} users");
            if (jmeter(t - steady) == expected && jmeter(t + steady) == expected)
            {
                actual.ShouldBe(expected, $"at {t:0.000}s (a steady step)");
            }
        }
    }

    [Fact]
    public void SteppingThreadGroup_HasJMetersThreadCountsPerStepAndRampTimes()
    {
        var result = Import("spin-ramp.jmx", ("host", "127.0.0.1"), ("port", "18080"));

        result.Unmapped.ShouldBeEmpty();
        result.Validation.Errors.ShouldBeEmpty();
        var spin = result.Validation.Plan!.Scenarios.Single(s => s.Name == "spin ramp");
        spin.Load.Model.ShouldBe(LoadModel.Closed);
        var jmeter = JmeterSchedule.Stepping(threads: 12, delay: 0, inCount: 3, burst: 0, inPeriod: 1, outCount: 12, outPeriod: 1, flight: 2, rampUp: 1);
        ShouldMatch(spin, jmeter.At, jmeter.End, steady: 0.2);
        spin.Load.Segments.Where(x => x.To > x.From).Select(x => x.Duration.TotalSeconds).ShouldBe([1.0, 1.0, 1.0, 1.0]); // each step ramps over rampUp
    }

    [Fact]
    public void SteppingThreadGroup_WithBurstDelayAndStaggeredStop_FollowsThePlugin()
    {
        // 10 threads: a burst of 4 at once after a 2 s delay, then +3 every 5 s over a 3 s ramp, hold 4 s, stop 4 every 2 s.
        var xml = Plan(ThreadGroupXml("kg.apc.jmeter.threads.SteppingThreadGroup", """
            <stringProp name="ThreadGroup.num_threads">10</stringProp>
            <stringProp name="Threads initial delay">2</stringProp>
            <stringProp name="Start users count">3</stringProp>
            <stringProp name="Start users count burst">4</stringProp>
            <stringProp name="Start users period">5</stringProp>
            <stringProp name="Stop users count">4</stringProp>
            <stringProp name="Stop users period">2</stringProp>
            <stringProp name="flighttime">4</stringProp>
            <stringProp name="rampUp">0</stringProp>
            """, Sampler("/x")));

        var result = JmxImporter.Import(xml, new JmxImportOptions());

        result.Validation.Errors.ShouldBeEmpty();
        var jmeter = JmeterSchedule.Stepping(threads: 10, delay: 2, inCount: 3, burst: 4, inPeriod: 5, outCount: 4, outPeriod: 2, flight: 4, rampUp: 0);
        ShouldMatch(result.Validation.Plan!.Scenarios[0], jmeter.At, jmeter.End, steady: 0.1);
    }

    [Fact]
    public void ConcurrencyThreadGroup_StepsAndLinearRamp_FollowThePlannedConcurrency()
    {
        var stepped = Import("spin-ramp.jmx", ("port", "1")).Validation.Plan!.Scenarios.Single(s => s.Name == "webapp control");
        ShouldMatch(stepped, JmeterSchedule.Concurrency(target: 4, rampUp: 2, steps: 2, hold: 7), 9, steady: 0.05);
        stepped.Load.ThinkTime.ShouldBe(TimeSpan.FromMilliseconds(250));

        // Minutes as the unit, a linear ramp (no steps): 6 users over 0.1 min, held 0.2 min.
        var xml = Plan(ThreadGroupXml("com.blazemeter.jmeter.threads.concurrency.ConcurrencyThreadGroup", """
            <stringProp name="TargetLevel">6</stringProp>
            <stringProp name="RampUp">0.1</stringProp>
            <stringProp name="Steps"></stringProp>
            <stringProp name="Hold">0.2</stringProp>
            <stringProp name="Unit">M</stringProp>
            """, Sampler("/x")));
        var linear = JmxImporter.Import(xml, new JmxImportOptions()).Validation.Plan!.Scenarios[0];
        ShouldMatch(linear, JmeterSchedule.Concurrency(target: 6, rampUp: 6, steps: 0, hold: 12), 18, steady: 0.05);
    }

    [Fact]
    public void StandardThreadGroup_RampDelayDurationAndLoops()
    {
        var plan = Import("webapp-steady.jmx", ("port", "18080")).Validation.Plan!;

        var timed = plan.Scenarios.Single(s => s.Name == "static page");
        var jmeter = JmeterSchedule.ThreadGroup(threads: 4, ramp: 2, duration: 6, delay: 1);
        ShouldMatch(timed, jmeter.At, jmeter.End, steady: 0.3);
        timed.StartAfter.ShouldBe(TimeSpan.FromSeconds(1));
        timed.Load.ThinkTime.ShouldBe(TimeSpan.FromMilliseconds(100));
        timed.Load.ThinkTimeMax.ShouldBe(TimeSpan.FromMilliseconds(200));
        timed.Load.Iterations.ShouldBeNull();

        var looped = plan.Scenarios.Single(s => s.Name == "static page x5");
        looped.Load.Iterations.ShouldBe(5);
        looped.Load.Duration.ShouldBe(TimeSpan.FromMinutes(10)); // the --max-duration bound
        looped.Load.Curve.Peak.ShouldBe(3);
        looped.Sequence.Select(r => (r.Name, r.Path)).ShouldBe([("index.html x5", "/index.html?from=loop%20group"), ("home x5", "/")]);
        looped.Sequence[0].Expect!.Status.ShouldBe([200]);
        looped.Sequence[1].Expect.ShouldBeNull();
    }

    [Fact]
    public void Requests_TakeDefaultsVariablesPropertiesHeadersAndAssertions()
    {
        var result = Import("spin-ramp.jmx", ("host", "127.0.0.1"), ("port", "18080"), ("spinMs", "50"));

        var plan = result.Validation.Plan!;
        plan.Name.ShouldBe("Spin scale demo");
        plan.Targets.Values.Single().BaseUrl.ShouldBe(new Uri("http://127.0.0.1:18080"));
        var spin = plan.Scenarios.Single(s => s.Name == "spin ramp").Request;
        spin.Method.ShouldBe("GET");
        spin.Path.ShouldBe("/api/spin?ms=50");
        spin.Headers.ShouldBe(new Dictionary<string, string> { ["X-Load-Test"] = "scale-demo" });
        spin.Timeout.ShouldBe(TimeSpan.FromSeconds(10));
        spin.Expect!.Status.ShouldBe([200]);
        spin.Expect.BodyContains.ShouldBe(["spun"]);
        result.Yaml.ShouldContain("# JMeter properties used: host=127.0.0.1, port=18080, spinMs=50, spinThreads=12");
        result.Notes.ShouldContain(n => n.Path == "Spin scale demo / Summary Report" && n.Message.StartsWith("listener replaced by Constellation's own outputs", StringComparison.Ordinal));
        result.Notes.ShouldContain(n => n.Path == "Spin scale demo / View Results Tree" && n.Message.Contains("disabled", StringComparison.Ordinal));

        // Without -J, __P's default applies; a property without a default is reported.
        var defaults = Import("spin-ramp.jmx");
        defaults.Validation.Plan!.Targets.Values.Single().BaseUrl.ShouldBe(new Uri("http://spin.demo.svc.cluster.local:80"));
        var missing = Import("webapp-steady.jmx");
        missing.Unmapped.ShouldContain(f => f.Path == "Test Plan / Target" && f.Message.Contains("property 'port' has no default", StringComparison.Ordinal) && f.Message.Contains("-J port=VALUE", StringComparison.Ordinal));
    }

    [Fact]
    public void UnsupportedElements_AreEachListedWithTheirPath()
    {
        var result = Import("unsupported.jmx");

        result.Complete.ShouldBeFalse();
        result.Unmapped.Select(f => f.Path).Distinct().Order(StringComparer.Ordinal).ShouldBe(
        [
            "Checkout journey / seed data",
            "Checkout journey / shoppers / compute",
            "Checkout journey / shoppers / if logged in",
            "Checkout journey / shoppers / login",
            "Checkout journey / shoppers / login / token",
            "Checkout journey / shoppers / login / token regex",
            "Checkout journey / shoppers / login / under 1s",
            "Checkout journey / shoppers / think",
        ]);
        result.Unmapped.ShouldContain(f => f.Message.Contains("${__Random(1,1000)}", StringComparison.Ordinal));
        result.Unmapped.ShouldContain(f => f.Path.EndsWith("login / token", StringComparison.Ordinal) && f.Message.Contains("needs a reference name and a regular expression", StringComparison.Ordinal));
        result.Notes.ShouldContain(n => n.Path == "Checkout journey / InfluxDB" && n.Element == "BackendListener");
        result.Notes.ShouldContain(n => n.Path == "Checkout journey / shoppers / debug" && n.Message.Contains("disabled", StringComparison.Ordinal));

        // What did map is still a valid plan: login (POST with its raw body) then catalog, 5 users over 5 s for 30 s;
        // "cart" sits in the If Controller, which is listed.
        var shoppers = result.Validation.Plan!.Scenarios.Single();
        shoppers.Sequence.Select(r => r.Name).ShouldBe(["login", "catalog"]);
        shoppers.Request.Method.ShouldBe("POST");
        shoppers.Request.Body.ShouldBe("""{"user":"${data.user}","nonce":"${__Random(1,1000)}"}"""); // the CSV Data Set's column
        shoppers.Cookies.ShouldBe(new CookieSpec(true, ClearEachIteration: true)); // the Cookie Manager
        shoppers.Data.ShouldNotBeNull().Columns.ShouldBe(["user", "password"]);
        shoppers.Load.Duration.ShouldBe(TimeSpan.FromSeconds(30));
        result.Yaml.ShouldContain("# NOT converted (imported with --allow-partial):");
    }

    [Fact]
    public void ConstantThroughputTimer_BecomesAnArrivalRate()
    {
        // 120/min for this thread only × a 0 → 4 thread ramp: 2 req/s per user; 600/min shared by all threads: 10 req/s.
        var perThread = Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 4, ramp: 4, duration: 10), Sampler("/x") + Ctt(120, calcMode: 0)));
        var shared = Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 4, ramp: 4, duration: 10), Sampler("/x") + Ctt(600, calcMode: 2)));

        var a = JmxImporter.Import(perThread, new JmxImportOptions()).Validation.Plan!.Scenarios[0].Load;
        var b = JmxImporter.Import(shared, new JmxImportOptions()).Validation.Plan!.Scenarios[0].Load;

        a.Model.ShouldBe(LoadModel.Open);
        a.Curve.ValueAt(TimeSpan.FromSeconds(2)).ShouldBe(4, 0.001);
        a.Curve.ValueAt(TimeSpan.FromSeconds(6)).ShouldBe(8, 0.001);
        a.MaxInFlight.ShouldBe(4);
        b.Model.ShouldBe(LoadModel.Open);
        b.Curve.ValueAt(TimeSpan.FromSeconds(0.5)).ShouldBe(10, 0.001);
        b.Curve.ValueAt(TimeSpan.FromSeconds(9)).ShouldBe(10, 0.001);
        b.Duration.ShouldBe(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// JMeter's calcMode, from its ConstantThroughputTimer.calculateDelay: a group "timed" (2 threads, 600/min) beside
    /// a group "background" (4 threads ramped up over 8 s). Mode 1 shares the rate among the test's active threads,
    /// so "timed" sends 10 × 2 ÷ (2 + background's threads): 5/s when 2 background threads run (4 s), 3.33/s when 4 do.
    /// </summary>
    [Theory]
    [InlineData(0, 20.0, 20.0)]
    [InlineData(1, 5.0, 10.0 / 3)]
    [InlineData(2, 10.0, 10.0)]
    [InlineData(3, 10.0, 10.0)] // shared by the threads whose timer is in mode 3: only "timed"'s
    [InlineData(4, 10.0, 10.0)]
    public void ConstantThroughputTimer_EachCalcMode_SendsWhatJMeterSends(int calcMode, double at4s, double at12s)
    {
        var timed = ThreadGroupXml("ThreadGroup", Standard(threads: 2, ramp: 0, duration: 20), Sampler("/timed") + Ctt(600, calcMode)).Replace("testname=\"group\"", "testname=\"timed\"", StringComparison.Ordinal);
        var background = ThreadGroupXml("ThreadGroup", Standard(threads: 4, ramp: 8, duration: 20), Sampler("/background")).Replace("testname=\"group\"", "testname=\"background\"", StringComparison.Ordinal);

        var result = JmxImporter.Import(Plan(timed + background), new JmxImportOptions());

        var load = result.Validation.Plan.ShouldNotBeNull(string.Join("; ", result.Validation.Errors)).Scenarios.Single(s => s.Name == "timed").Load;
        load.Model.ShouldBe(LoadModel.Open);
        load.Curve.ValueAt(TimeSpan.FromSeconds(4)).ShouldBe(at4s, 0.01);
        load.Curve.ValueAt(TimeSpan.FromSeconds(12)).ShouldBe(at12s, 0.01);
        load.Duration.ShouldBe(TimeSpan.FromSeconds(20));
        result.Notes.ShouldContain(n => n.Element == "ConstantThroughputTimer" && n.Message.Contains($"calcMode {calcMode}", StringComparison.Ordinal));
    }

    [Fact]
    public void ConstantThroughputTimer_SharedMode3_InTwoGroups_SplitsTheRateByTheirThreads()
    {
        var timed = ThreadGroupXml("ThreadGroup", Standard(threads: 2, ramp: 0, duration: 20), Sampler("/timed") + Ctt(600, 3)).Replace("testname=\"group\"", "testname=\"timed\"", StringComparison.Ordinal);
        var other = ThreadGroupXml("ThreadGroup", Standard(threads: 6, ramp: 0, duration: 20), Sampler("/other") + Ctt(600, 3)).Replace("testname=\"group\"", "testname=\"other\"", StringComparison.Ordinal);

        var plan = JmxImporter.Import(Plan(timed + other), new JmxImportOptions()).Validation.Plan!;

        plan.Scenarios.Single(s => s.Name == "timed").Load.Curve.ValueAt(TimeSpan.FromSeconds(10)).ShouldBe(2.5, 0.01);
        plan.Scenarios.Single(s => s.Name == "other").Load.Curve.ValueAt(TimeSpan.FromSeconds(10)).ShouldBe(7.5, 0.01);
    }

    [Fact]
    public void JourneyElements_BecomeCookiesDataAndExtractors_AndTheirVariablesPlaceholders()
    {
        const string journey = """
            <CookieManager testclass="CookieManager" testname="cookies" enabled="true"><boolProp name="CookieManager.clearEachIteration">false</boolProp></CookieManager><hashTree/>
            <CSVDataSet testclass="CSVDataSet" testname="accounts" enabled="true">
              <stringProp name="filename">accounts.csv</stringProp><stringProp name="variableNames">email,secret</stringProp>
              <boolProp name="ignoreFirstLine">true</boolProp><boolProp name="recycle">false</boolProp><boolProp name="stopThread">true</boolProp>
            </CSVDataSet><hashTree/>
            """;
        var login = Sampler("/login?email=${email}", """
            <JSONPostProcessor testclass="JSONPostProcessor" testname="json" enabled="true">
              <stringProp name="JSONPostProcessor.referenceNames">token;id</stringProp>
              <stringProp name="JSONPostProcessor.jsonPathExprs">$.token;$.items[0].id</stringProp>
              <stringProp name="JSONPostProcessor.match_numbers">1;1</stringProp>
              <stringProp name="JSONPostProcessor.defaultValues">;none</stringProp>
            </JSONPostProcessor><hashTree/>
            <BoundaryExtractor testclass="BoundaryExtractor" testname="csrf" enabled="true">
              <stringProp name="BoundaryExtractor.refname">csrf</stringProp><stringProp name="BoundaryExtractor.lboundary">value="</stringProp><stringProp name="BoundaryExtractor.rboundary">"</stringProp>
            </BoundaryExtractor><hashTree/>
            <RegexExtractor testclass="RegexExtractor" testname="all" enabled="true">
              <stringProp name="RegexExtractor.refname">all</stringProp><stringProp name="RegexExtractor.regex">(a)</stringProp><stringProp name="RegexExtractor.template">$1$</stringProp><stringProp name="RegexExtractor.match_number">-1</stringProp>
            </RegexExtractor><hashTree/>
            """);
        var use = Sampler("/orders/${id}?t=${token}&amp;c=${csrf}", string.Empty).Replace("</HTTPSamplerProxy>", """
            <elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
              <elementProp name="note" elementType="HTTPArgument"><boolProp name="HTTPArgument.always_encode">true</boolProp>
                <stringProp name="Argument.name">who</stringProp><stringProp name="Argument.value">a b ${email}</stringProp></elementProp>
            </collectionProp></elementProp></HTTPSamplerProxy>
            """, StringComparison.Ordinal);

        var result = JmxImporter.Import(Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 2, ramp: 0, duration: 10), journey + login + use)), new JmxImportOptions());

        var s = result.Validation.Plan.ShouldNotBeNull(string.Join("; ", result.Validation.Errors)).Scenarios.Single();
        s.Cookies.ShouldBe(new CookieSpec(true));
        var data = s.Data.ShouldNotBeNull();
        (data.File, data.SkipFirstLine, data.Recycle, data.Bind).ShouldBe(("accounts.csv", true, false, DataBinding.Iteration)); // named columns, header skipped, stop at the end
        data.Columns.ShouldBe(["email", "secret"]);
        s.Sequence[0].Path.ShouldBe("/login?email=${data.email}");
        s.Sequence[0].Extract.ShouldBe([
            new ExtractSpec { Name = "token", Kind = ExtractKind.Json, Expression = "$.token" },
            new ExtractSpec { Name = "id", Kind = ExtractKind.Json, Expression = "$.items[0].id", Default = "none" },
            new ExtractSpec { Name = "csrf", Kind = ExtractKind.Boundary, Expression = "value=\"", Right = "\"" },
        ]);
        s.Sequence[1].Path.ShouldBe("/orders/${vars.id}?t=${vars.token}&c=${vars.csrf}&who=a%20b%20${data.email}"); // URL-encoded around the placeholder
        result.Unmapped.ShouldContain(f => f.Element == "RegexExtractor" && f.Message.Contains("match number -1", StringComparison.Ordinal));
        result.Notes.ShouldContain(n => n.Message.Contains("'token': no default value, so an answer without a match is a failed check here", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutACookieManager_ASequenceKeepsNoCookies_AsInJMeter()
    {
        var plan = JmxImporter.Import(Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 1, ramp: 0, duration: 5), Sampler("/a") + Sampler("/b"))), new JmxImportOptions()).Validation.Plan!;

        plan.Scenarios.Single().Cookies.ShouldBe(new CookieSpec(false));

        // A Cookie Manager's own cookies are not dropped silently: listed.
        const string manager = """
            <CookieManager testclass="CookieManager" testname="cookies" enabled="true">
              <collectionProp name="CookieManager.cookies"><elementProp name="lang" elementType="Cookie"><stringProp name="Cookie.value">en</stringProp></elementProp></collectionProp>
            </CookieManager><hashTree/>
            """;
        var withCookies = JmxImporter.Import(Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 1, ramp: 0, duration: 5), manager + Sampler("/a"))), new JmxImportOptions());
        withCookies.Unmapped.ShouldContain(f => f.Element == "CookieManager" && f.Message.Contains("user-defined cookies", StringComparison.Ordinal));
    }

    [Fact]
    public void Assertions_ThatDoNotMap_AreListed_AndScopesApply()
    {
        // A Header Manager at the thread-group level and one on the sampler (which wins for the same name); a code
        // list with OR; a NOT-contains; an equals on the body (does not map).
        var sampler = Sampler("/x", children: Headers(("Accept", "text/plain")) + Assertion("Assertion.response_code", 8 | 32, "200", "204")
            + Assertion("Assertion.response_data", 16 | 4, "error") + Assertion("Assertion.response_data", 8, "exactly this"));
        var xml = Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 1, ramp: 0, duration: 5), Headers(("Accept", "*/*"), ("X-Team", "a")) + sampler));

        var result = JmxImporter.Import(xml, new JmxImportOptions());

        var request = result.Validation.Plan!.Scenarios[0].Request;
        request.Headers.ShouldBe(new Dictionary<string, string> { ["X-Team"] = "a", ["Accept"] = "text/plain" });
        request.Expect!.Status.ShouldBe([200, 204]);
        request.Expect.BodyNotContains.ShouldBe(["error"]);
        result.Unmapped.Single().Message.ShouldContain("test type 8 (equals)");
    }

    [Fact]
    public void UltimateThreadGroup_StackedRows_FollowThePlugin()
    {
        // 10 threads from 0 s over 10 s, held 20 s, stopped over 5 s; 6 more at 15 s at once, held 10 s, stopped at once.
        var xml = Plan(ThreadGroupXml("kg.apc.jmeter.threads.UltimateThreadGroup", """
            <collectionProp name="ultimatethreadgroupdata">
              <collectionProp name="1"><stringProp name="a">10</stringProp><stringProp name="b">0</stringProp><stringProp name="c">10</stringProp><stringProp name="d">20</stringProp><stringProp name="e">5</stringProp></collectionProp>
              <collectionProp name="2"><stringProp name="a">${__P(extra,6)}</stringProp><stringProp name="b">15</stringProp><stringProp name="c">0</stringProp><stringProp name="d">10</stringProp><stringProp name="e">0</stringProp></collectionProp>
            </collectionProp>
            """, Sampler("/x")));

        var result = JmxImporter.Import(xml, new JmxImportOptions());

        result.Validation.Errors.ShouldBeEmpty();
        var jmeter = JmeterSchedule.Ultimate((10, 0, 10, 20, 5), (6, 15, 0, 10, 0));
        ShouldMatch(result.Validation.Plan!.Scenarios[0], jmeter.At, jmeter.End, steady: 1.1);
    }

    [Fact]
    public void ArrivalsThreadGroups_BecomeTheOpenModelWithTheSameRates()
    {
        // Arrivals: 120/min reached in 3 steps over 0.5 min, held 0.5 min; concurrency limit 50.
        var arrivals = Plan(ThreadGroupXml("com.blazemeter.jmeter.threads.arrivals.ArrivalsThreadGroup", """
            <stringProp name="TargetLevel">120</stringProp>
            <stringProp name="RampUp">0.5</stringProp>
            <stringProp name="Steps">3</stringProp>
            <stringProp name="Hold">0.5</stringProp>
            <stringProp name="Unit">M</stringProp>
            <stringProp name="ConcurrencyLimit">50</stringProp>
            """, Sampler("/x") + Ctt(60, calcMode: 0)));
        var linear = Plan(ThreadGroupXml("com.blazemeter.jmeter.threads.arrivals.ArrivalsThreadGroup", """
            <stringProp name="TargetLevel">8</stringProp>
            <stringProp name="RampUp">4</stringProp>
            <stringProp name="Hold">6</stringProp>
            """, Sampler("/x")));
        // Free-form: 1 → 10/s over 30 s, 10/s for 5 s, then 10 → 1/s over 15 s.
        var freeForm = Plan(ThreadGroupXml("com.blazemeter.jmeter.threads.arrivals.FreeFormArrivalsThreadGroup", """
            <collectionProp name="Schedule">
              <collectionProp name="1"><stringProp name="0">1</stringProp><stringProp name="1">10</stringProp><stringProp name="2">30</stringProp></collectionProp>
              <collectionProp name="2"><stringProp name="0">10</stringProp><stringProp name="1">10</stringProp><stringProp name="2">5</stringProp></collectionProp>
              <collectionProp name="3"><stringProp name="0">10</stringProp><stringProp name="1">1</stringProp><stringProp name="2">15</stringProp></collectionProp>
            </collectionProp>
            """, Sampler("/x")));

        var a = JmxImporter.Import(arrivals, new JmxImportOptions());
        var l = JmxImporter.Import(linear, new JmxImportOptions()).Validation.Plan!.Scenarios[0].Load;
        var f = JmxImporter.Import(freeForm, new JmxImportOptions()).Validation.Plan!.Scenarios[0].Load;

        var load = a.Validation.Plan!.Scenarios[0].Load;
        load.Model.ShouldBe(LoadModel.Open);
        load.MaxInFlight.ShouldBe(50);
        a.Notes.ShouldContain(n => n.Element == "ConstantThroughputTimer" && n.Message.Contains("left out", StringComparison.Ordinal));
        foreach (var (spec, oracle, end) in new[] { (load, JmeterSchedule.Arrivals(2, 30, 3, 30), 60.0), (l, JmeterSchedule.Arrivals(8, 4, 0, 6), 10.0) })
        {
            spec.Duration.TotalSeconds.ShouldBe(end);
            for (double t = 0.05; t < end; t += 0.1)
            {
                spec.Curve.ValueAt(TimeSpan.FromSeconds(t)).ShouldBe(oracle(t), 1e-6, $"at {t:0.00}s"); // the YAML keeps 6 decimals
            }
        }

        f.Model.ShouldBe(LoadModel.Open);
        f.Duration.ShouldBe(TimeSpan.FromSeconds(50));
        f.Curve.ValueAt(TimeSpan.Zero).ShouldBe(1);
        f.Curve.ValueAt(TimeSpan.FromSeconds(15)).ShouldBe(5.5, 1e-9);
        f.Curve.ValueAt(TimeSpan.FromSeconds(32)).ShouldBe(10);
        f.Curve.ValueAt(TimeSpan.FromSeconds(42.5)).ShouldBe(5.5, 1e-9);
    }

    [Fact]
    public void FractionalDelay_AndAnUnusableThroughputTimer_StillGiveAValidPlan()
    {
        // startAfter counts whole seconds: 2.5 s becomes startAfter 2s and half a second without users. A Constant
        // Throughput Timer without a rate is listed, and the threads set the load.
        var xml = Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 2, ramp: 0, duration: 4) + """<stringProp name="ThreadGroup.delay">2.5</stringProp>""",
            Sampler("/x") + """<ConstantThroughputTimer testclass="ConstantThroughputTimer" testname="ctt" enabled="true"><intProp name="calcMode">1</intProp></ConstantThroughputTimer><hashTree/>"""));

        var result = JmxImporter.Import(xml, new JmxImportOptions());

        result.Validation.Errors.ShouldBeEmpty();
        var s = result.Validation.Plan!.Scenarios[0];
        s.StartAfter.ShouldBe(TimeSpan.FromSeconds(2));
        s.Load.Model.ShouldBe(LoadModel.Closed);
        Users(s, 2.4).ShouldBe(0);
        Users(s, 2.6).ShouldBe(2);
        (s.StartAfter + s.Load.Duration).ShouldBe(TimeSpan.FromSeconds(6.5));
        result.Unmapped.Single().Message.ShouldContain("target throughput is missing");
    }

    [Fact]
    public void SeveralSamplers_BecomeASequence_OnOneServer_AndInTheClosedModelOnly()
    {
        // a → b on one server, then c on another (listed). Under a Constant Throughput Timer only the first is kept.
        var other = Sampler("/c").Replace("<stringProp name=\"HTTPSampler.port\">1</stringProp>", "<stringProp name=\"HTTPSampler.port\">2</stringProp>", StringComparison.Ordinal);
        var xml = Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 2, ramp: 0, duration: 5), Sampler("/a") + Sampler("/b") + other));
        var paced = Plan(ThreadGroupXml("ThreadGroup", Standard(threads: 2, ramp: 0, duration: 5), Sampler("/a") + Sampler("/b") + Ctt(60, calcMode: 1)));

        var result = JmxImporter.Import(xml, new JmxImportOptions());
        var pacedResult = JmxImporter.Import(paced, new JmxImportOptions());

        result.Validation.Plan!.Scenarios[0].Sequence.Select(r => r.Path).ShouldBe(["/a", "/b"]);
        result.Unmapped.Single().Message.ShouldContain("http://127.0.0.1:2 is not http://127.0.0.1:1");
        pacedResult.Validation.Plan!.Scenarios[0].Sequence.Select(r => r.Path).ShouldBe(["/a"]);
        pacedResult.Unmapped.Single().Message.ShouldContain("a Constant Throughput Timer paces every sample, not iterations");
    }

    // ---- inline .jmx builders -----------------------------------------------------------------------------------

    [Theory]
    [InlineData("spin-ramp.jmx")]
    [InlineData("webapp-steady.jmx")]
    [InlineData("unsupported.jmx")]
    public void ImportedPlan_IsWrittenByTheEmitter_AndReadsBackToTheSamePlan(string file)
    {
        var result = Import(file, ("host", "127.0.0.1"), ("port", "18080"));
        result.Validation.Errors.ShouldBeEmpty();

        var again = PlanLoader.Parse(result.Yaml);

        again.Errors.ShouldBeEmpty(result.Yaml);
        Canonical(again.Plan!).ShouldBe(Canonical(result.Validation.Plan!), result.Yaml);
        result.Yaml.ShouldContain("# from: ");
    }

    [Fact]
    public void HostileNamesAndValues_StayStrings_AndNeverBreakTheYaml()
    {
        // Quotes, YAML indicators, a comment start, line breaks and a document marker in every string the plan carries.
        // (a header value cannot hold a line break: the validator refuses it, so the header gets the one-line form)
        const string nasty = "x: \"y\" #z &a *b !t |\n--- [1]{2}";
        const string OneLine = "x: \"y\" #z &a *b !t | --- [1]{2}";
        var xml = Plan(ThreadGroupXml("ThreadGroup", Standard(2, 0, 5).Replace("<stringProp name=\"ThreadGroup.num_threads\">", "<stringProp name=\"ThreadGroup.num_threads\">", StringComparison.Ordinal), Sampler("/p?q=" + Uri.EscapeDataString(nasty), Headers(("X-Nasty", System.Security.SecurityElement.Escape(OneLine)!))))).Replace("testname=\"group\"", $"testname=\"{System.Security.SecurityElement.Escape(nasty)}\"", StringComparison.Ordinal);

        var result = JmxImporter.Import(xml, new JmxImportOptions { SourceName = "evil\n- name: injected.jmx" });

        result.Validation.Errors.ShouldBeEmpty();
        var again = PlanLoader.Parse(result.Yaml);
        again.Errors.ShouldBeEmpty(result.Yaml);
        var scenario = again.Plan!.Scenarios.ShouldHaveSingleItem();
        scenario.Name.ShouldBe(OneLine); // (XML turns a line break in an attribute into a space)
        scenario.Request.Headers["X-Nasty"].ShouldBe(OneLine);
        result.Yaml.ShouldNotContain("\n- name: injected");
    }

    [Fact]
    public void HugeNumbers_AreListedOrRefusedByTheValidator_NeverAnOverflow()
    {
        var xml = Plan(ThreadGroupXml("com.blazemeter.jmeter.threads.concurrency.ConcurrencyThreadGroup", """
            <stringProp name="TargetLevel">5</stringProp>
            <stringProp name="RampUp">1e300</stringProp>
            <stringProp name="Steps">2000000000</stringProp>
            <stringProp name="Hold">Infinity</stringProp>
            """, Sampler("/x")));

        var result = JmxImporter.Import(xml, new JmxImportOptions());

        result.Unmapped.ShouldContain(f => f.Message.Contains("steps is more than", StringComparison.Ordinal));
    }

    /// <summary>The plan as JSON, without its source text (the only part that differs between two writings).</summary>
    private static string Canonical(Plan plan) => System.Text.Json.JsonSerializer.Serialize(
        plan with { SourceText = null },
        new System.Text.Json.JsonSerializerOptions { WriteIndented = true, ReferenceHandler = System.Text.Json.Serialization.ReferenceHandler.IgnoreCycles });

    private static string Plan(string threadGroups) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <jmeterTestPlan version="1.2" properties="5.0" jmeter="5.6.3">
          <hashTree>
            <TestPlan guiclass="TestPlanGui" testclass="TestPlan" testname="inline" enabled="true"/>
            <hashTree>
              {threadGroups}
            </hashTree>
          </hashTree>
        </jmeterTestPlan>
        """;

    private static string ThreadGroupXml(string tag, string props, string children) =>
        $"""<{tag} testclass="{tag}" testname="group" enabled="true">{props}</{tag}><hashTree>{children}</hashTree>""";

    private static string Standard(int threads, int ramp, int duration) => $"""
        <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><intProp name="LoopController.loops">-1</intProp></elementProp>
        <stringProp name="ThreadGroup.num_threads">{threads}</stringProp>
        <stringProp name="ThreadGroup.ramp_time">{ramp}</stringProp>
        <boolProp name="ThreadGroup.scheduler">true</boolProp>
        <stringProp name="ThreadGroup.duration">{duration}</stringProp>
        """;

    private static string Sampler(string path, string children = "") => $"""
        <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="req" enabled="true">
          <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
          <stringProp name="HTTPSampler.port">1</stringProp>
          <stringProp name="HTTPSampler.path">{path}</stringProp>
          <stringProp name="HTTPSampler.method">GET</stringProp>
        </HTTPSamplerProxy>
        <hashTree>{children}</hashTree>
        """;

    private static string Ctt(double perMinute, int calcMode) => $"""
        <ConstantThroughputTimer testclass="ConstantThroughputTimer" testname="ctt" enabled="true">
          <intProp name="calcMode">{calcMode}</intProp>
          <doubleProp><name>throughput</name><value>{perMinute}</value><savedValue>0.0</savedValue></doubleProp>
        </ConstantThroughputTimer>
        <hashTree/>
        """;

    private static string Headers(params (string Name, string Value)[] headers) => $"""
        <HeaderManager testclass="HeaderManager" testname="headers" enabled="true">
          <collectionProp name="HeaderManager.headers">
            {string.Concat(headers.Select(h => $"""<elementProp name="" elementType="Header"><stringProp name="Header.name">{h.Name}</stringProp><stringProp name="Header.value">{h.Value}</stringProp></elementProp>"""))}
          </collectionProp>
        </HeaderManager>
        <hashTree/>
        """;

    private static string Assertion(string field, int type, params string[] patterns) => $"""
        <ResponseAssertion testclass="ResponseAssertion" testname="assert {type}" enabled="true">
          <collectionProp name="Asserion.test_strings">{string.Concat(patterns.Select(p => $"<stringProp name=\"0\">{p}</stringProp>"))}</collectionProp>
          <stringProp name="Assertion.test_field">{field}</stringProp>
          <intProp name="Assertion.test_type">{type}</intProp>
        </ResponseAssertion>
        <hashTree/>
        """;
}
