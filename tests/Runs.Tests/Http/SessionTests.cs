using Constellation.Core.Plans;
using Constellation.Runs.Http;
using Microsoft.Extensions.Time.Testing;

namespace Constellation.Runs.Tests.Http;

/// <summary>The cookie jar against RFC 6265's rules, the extractors and the data file readers.</summary>
public sealed class SessionTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void CookieJar_SendsACookieWhereRfc6265Says()
    {
        var jar = new CookieJar(_time);
        var login = new Uri("http://shop.example.test/account/login");
        jar.Store(login, [
            "sid=abc; Path=/; HttpOnly",
            "pref=1", // default path: /account
            "wide=w; Domain=example.test; Path=/",
            "other=x; Domain=evil.test", // another site: refused
            "safe=s; Secure; Path=/", // over http: refused
            "gone=g; Max-Age=0",
            "later=l; Max-Age=60; Path=/",
        ]);

        jar.HeaderFor(new Uri("http://shop.example.test/account/orders")).ShouldBe("pref=1; sid=abc; wide=w; later=l"); // longer paths first
        jar.HeaderFor(new Uri("http://shop.example.test/")).ShouldBe("sid=abc; wide=w; later=l");
        jar.HeaderFor(new Uri("http://api.example.test/")).ShouldBe("wide=w"); // host-only cookies stay on their host
        jar.HeaderFor(new Uri("http://example.test.evil.test/")).ShouldBeNull();
        jar.HeaderFor(new Uri("http://shop.example.test/accounting")).ShouldBe("sid=abc; wide=w; later=l"); // /account is not a prefix of /accounting's path segments

        _time.Advance(TimeSpan.FromSeconds(61));
        jar.HeaderFor(new Uri("http://shop.example.test/")).ShouldBe("sid=abc; wide=w");

        jar.Store(login, ["sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]); // deleted by an expiry in the past
        jar.HeaderFor(new Uri("http://shop.example.test/")).ShouldBe("wide=w");

        var https = new CookieJar(_time);
        https.Store(new Uri("https://shop.example.test/"), ["safe=s; Secure"]);
        https.HeaderFor(new Uri("https://shop.example.test/")).ShouldBe("safe=s");
        https.HeaderFor(new Uri("http://shop.example.test/")).ShouldBeNull();
    }

    [Fact]
    public void CookieJar_HostileHeaders_AreIgnored_AndItStaysBounded()
    {
        var jar = new CookieJar(_time);
        var url = new Uri("http://127.0.0.1/");
        jar.Store(url, ["", "=novalue", "bad name=x", "ctl=a\u0001b", "ok=1; Domain=0.1", "huge=" + new string('x', 5000)]);
        jar.HeaderFor(url).ShouldBeNull();

        jar.Store(url, Enumerable.Range(0, 1000).Select(i => $"c{i}={i}"));
        jar.Count.ShouldBe(CookieJar.MaxCookies);
    }

    [Fact]
    public void Extractors_TakeJsonRegexHeaderAndBoundaries_AndNameTheOneThatFoundNothing()
    {
        var capture = new ResponseCapture();
        capture.Prepare(["X-Request-Id"], body: true);
        capture.ReadHeaders("HTTP/1.1 200 OK\r\nX-Request-Id: r-42\r\nSet-Cookie: a=b\r\n"u8);
        capture.Feed("""{"token":"t-1","items":[{"id":7},{"id":9}],"n":3} <input name="csrf" value="c-9">"""u8);
        var vars = new Dictionary<string, string>();

        var failed = new Extractors([
            new ExtractSpec { Name = "rid", Kind = ExtractKind.Header, Expression = "x-request-id" },
            new ExtractSpec { Name = "csrf", Kind = ExtractKind.Regex, Expression = "name=\"csrf\" value=\"([^\"]+)\"" },
            new ExtractSpec { Name = "csrf2", Kind = ExtractKind.Boundary, Expression = "value=\"", Right = "\"" },
            new ExtractSpec { Name = "missing", Kind = ExtractKind.Regex, Expression = "nope(\\d+)" },
            new ExtractSpec { Name = "fallback", Kind = ExtractKind.Regex, Expression = "nope(\\d+)", Default = "none" },
        ]).Apply(capture, vars);

        vars.ShouldBe(new Dictionary<string, string> { ["rid"] = "r-42", ["csrf"] = "c-9", ["csrf2"] = "c-9", ["fallback"] = "none" }, ignoreOrder: true);
        failed.ShouldBe("extract missing (regex nope(\\d+)): no match");
        capture.SetCookies.ShouldBe(["a=b"]);

        // JSON paths: the body above is not JSON as a whole, so a JSON body of its own.
        JsonPath.Parse("$.items[-1].id").Select("""{"items":[{"id":7},{"id":9}]}""").ShouldBe("9");
        JsonPath.Parse("$['a b'].c").Select("""{"a b":{"c":true}}""").ShouldBe("true");
        JsonPath.Parse("token").Select("""{"token":"t"}""").ShouldBe("t");
        JsonPath.Parse("$.x").Select("not json").ShouldBeNull();
    }

    [Fact]
    public void DataFiles_ReadCsvWithQuotes_AndJsonLines_AndSayWhatIsWrong()
    {
        var (csv, error) = DataFiles.Csv("\uFEFFuser,note\r\nann,\"a, \"\"quoted\"\"\nline\"\r\nbob,\r\n\r\n", "users.csv");
        error.ShouldBeNull();
        csv!.Columns.ShouldBe(["user", "note"]);
        csv.Rows.ShouldBe([["ann", "a, \"quoted\"\nline"], ["bob", ""]]);

        var (jsonl, jerror) = DataFiles.JsonLines("{\"user\":\"ann\",\"age\":30}\n\n{\"user\":\"bob\",\"admin\":true}\n", "users.jsonl");
        jerror.ShouldBeNull();
        jsonl!.Columns.ShouldBe(["user", "age", "admin"]);
        jsonl.Rows.ShouldBe([["ann", "30", ""], ["bob", "", "true"]]);

        DataFiles.Csv("a,b\n1\n", "x.csv").Error.ShouldBe("x.csv: line 2: 1 field(s), the header has 2");
        DataFiles.Csv("a,b\n\"1,2\n", "x.csv").Error.ShouldBe("x.csv: line 2: a quoted field is not closed");
        DataFiles.Csv("a,a\n1,2\n", "x.csv").Error.ShouldBe("x.csv: the column 'a' is named twice");
        DataFiles.Csv("a\n", "x.csv").Error.ShouldBe("x.csv: no rows after the header");
        DataFiles.JsonLines("[1]\n", "x.jsonl").Error.ShouldBe("x.jsonl: line 1: not a JSON object");
    }

    [Fact]
    public async Task ARequestWithPlaceholders_IsComposedPerUser_ValuesEncodedWhereTheyGo()
    {
        var url = new Uri("http://127.0.0.1:8080/users/${data.user}/orders?q=${vars.q}");
        var endpoint = await HttpEndpoint.CreateAsync(url, "POST", new Dictionary<string, string> { ["Authorization"] = "Bearer ${vars.token}", ["X-Plain"] = "p" }, "{\"u\":\"${data.user}\",\"é\":1}", TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        var session = new Session(null) { Columns = new Dictionary<string, int> { ["user"] = 0 }, Row = ["ann b"] };
        session.Vars["token"] = "t-1\r\nX-Injected: 1";
        session.Vars["q"] = "a&b";
        string? missing = null;

        var text = System.Text.Encoding.UTF8.GetString(endpoint.Compose(session, "sid=s1", ref missing));

        endpoint.Dynamic.ShouldBeTrue();
        missing.ShouldBeNull();
        var body = "{\"u\":\"ann b\",\"é\":1}";
        text.ShouldBe(
            "POST /users/ann%20b/orders?q=a&b HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer t-1  X-Injected: 1\r\nX-Plain: p\r\n"
            + $"User-Agent: constellation/{ToolInfo.Version}\r\nAccept: */*\r\nCookie: sid=s1\r\nContent-Length: {System.Text.Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");

        session.Vars.Clear();
        text = System.Text.Encoding.UTF8.GetString(endpoint.Compose(session, null, ref missing));
        missing.ShouldBe("${vars.q}"); // the first without a value, in the order they are sent
        text.ShouldContain("Authorization: Bearer \r\n"); // sent empty, as k6 does
    }

    [Fact]
    public async Task ARequestWithoutPlaceholders_OnlyGainsTheJarsCookieHeader()
    {
        var endpoint = await HttpEndpoint.CreateAsync(new Uri("http://127.0.0.1:8080/cart"), "POST", new Dictionary<string, string> { ["X-Plain"] = "p" }, "{}", TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        string? missing = null;

        var text = System.Text.Encoding.UTF8.GetString(endpoint.Compose(new Session(null), "sid=s1; é=1", ref missing));

        endpoint.Dynamic.ShouldBeFalse();
        text.ShouldBe($"POST /cart HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Plain: p\r\nUser-Agent: constellation/{ToolInfo.Version}\r\nAccept: */*\r\nCookie: sid=s1; é=1\r\nContent-Length: 2\r\n\r\n{{}}");
        endpoint.Compose(new Session(null), null, ref missing).ShouldBe(endpoint.RequestBytes); // without a cookie: the bytes made once
    }
}
