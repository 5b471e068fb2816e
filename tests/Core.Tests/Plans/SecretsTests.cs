using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Plans;

/// <summary>Secrets by reference (${env:NAME}, ${file:PATH}) and the redaction behind them.</summary>
public sealed class SecretsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-secrets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ISecretSource Env(params (string Name, string Value)[] vars) =>
        new SecretSource(n => vars.FirstOrDefault(v => v.Name == n).Value);

    private string SecretFile(string content)
    {
        var path = Path.Combine(_dir, $"secret-{Guid.NewGuid():N}");
        File.WriteAllText(path, content);
        return path;
    }

    private Plan Parse(string yaml)
    {
        var loaded = PlanLoader.Parse(yaml);
        loaded.Errors.ShouldBeEmpty();
        return loaded.Plan!;
    }

    [Fact]
    public void References_InHeadersBodyPathCredentialsAndLaunchEnv_AreFoundWithTheirPaths()
    {
        var file = SecretFile("pw:with@odd/chars\n");
        var plan = Parse($$"""
            name: p
            targets:
              api: { baseUrl: "https://${env:API_USER}:${file:{{file}}}@127.0.0.1:8443/" }
              spin: { launch: { role: spin, env: { Db__Password: "${env:DB_PASSWORD}" } } }
            scenarios:
              - name: s
                target: api
                request:
                  method: POST
                  path: "/items?api_key=${env:API_KEY}&q=1"
                  headers: { Authorization: "Bearer ${env:TOKEN}", X-Plain: "x" }
                  body: '{"password":"${file:{{file}}}"}'
                load: { model: open, rate: 1, duration: 1s }
            """);

        var found = SecretReferences.Of(plan).Select(r => $"{r.Path} {r.Text}").ToList();

        found.ShouldBe([
            $"targets.api.baseUrl ${{env:API_USER}}",
            $"targets.api.baseUrl ${{file:{file}}}",
            "targets.spin.launch.env.Db__Password ${env:DB_PASSWORD}",
            "scenarios[0].request.path ${env:API_KEY}",
            $"scenarios[0].request.body ${{file:{file}}}",
            "scenarios[0].request.headers.Authorization ${env:TOKEN}",
        ], ignoreOrder: true);
    }

    [Fact]
    public void Resolve_HeadersAndBodiesRaw_PathsPercentEncoded_CredentialsSplitAtTheirOwnColon()
    {
        var file = SecretFile("pw:with@odd/chars\n");
        var plan = Parse($$"""
            name: p
            targets:
              api: { baseUrl: "https://${env:API_USER}:${file:{{file}}}@127.0.0.1:8443/" }
            scenarios:
              - name: s
                target: api
                request:
                  method: POST
                  path: "/items?api_key=${env:API_KEY}"
                  headers: { Authorization: "Bearer ${env:TOKEN}" }
                  body: '{"password":"${file:{{file}}}"}'
                load: { model: open, rate: 1, duration: 1s }
            """);

        var resolved = SecretReferences.Resolve(plan, Env(("API_USER", "svc"), ("API_KEY", "k&y=1"), ("TOKEN", "t0k")));

        var r = resolved.Scenarios[0].Request;
        r.Headers["Authorization"].ShouldBe("Bearer t0k");
        r.Body.ShouldBe("""{"password":"pw:with@odd/chars"}""");
        r.Path.ShouldBe("/items?api_key=k%26y%3D1");
        var url = resolved.Targets["api"].BaseUrl!;
        Uri.UnescapeDataString(url.UserInfo).ShouldBe("svc:pw:with@odd/chars");
        url.Host.ShouldBe("127.0.0.1");
        plan.Scenarios[0].Request.Headers["Authorization"].ShouldBe("Bearer ${env:TOKEN}"); // the plan itself keeps the reference
    }

    [Fact]
    public void Resolve_MissingOrUnfitSecret_SaysWhichReferenceAndWhere_NeverAValue()
    {
        var plan = Parse("""
            name: p
            targets: { api: { baseUrl: "http://127.0.0.1:1/" } }
            scenarios:
              - { name: s, target: api, request: { headers: { X-Token: "${env:TOKEN}" } }, load: { model: open, rate: 1, duration: 1s } }
            """);

        Should.Throw<SecretException>(() => SecretReferences.Resolve(plan, Env())).Message
            .ShouldBe("scenarios[0].request.headers.X-Token: ${env:TOKEN} is not set");
        var e = Should.Throw<SecretException>(() => SecretReferences.Resolve(plan, Env(("TOKEN", "line\r\nInjected: yes"))));
        e.Message.ShouldContain("holds a line break");
        e.Message.ShouldNotContain("Injected");
        SecretReferences.Missing(plan, Env()).ShouldHaveSingleItem().Text.ShouldBe("${env:TOKEN}");
        SecretReferences.Missing(plan, Env(("TOKEN", "x"))).ShouldBeEmpty();
    }

    [Fact]
    public async Task SecretFiles_ARegularFileIsRead_EmptyDevicesAndPipesAreMissing_NeverBlockOrFillMemory_AndTooBigIsMissing()
    {
        var source = new SecretSource();
        SecretReference File_(string path) => new("file", path, "p");

        source.Read(File_(SecretFile("\uFEFFs3cr3t\n"))).ShouldBe("s3cr3t");
        source.Read(File_(SecretFile(string.Empty))).ShouldBeNull(); // an empty credential is a mistake, not a value
        source.Read(File_(SecretFile(new string('x', SecretSource.MaxFileBytes)))).ShouldNotBeNull();
        source.Read(File_(SecretFile(new string('x', SecretSource.MaxFileBytes + 1)))).ShouldBeNull();
        source.Read(File_(Path.Combine(_dir, "absent"))).ShouldBeNull();
        source.Read(File_(_dir)).ShouldBeNull();

        // /dev/zero and /dev/urandom never end; a FIFO with no writer blocks whoever opens it.
        var fifo = Path.Combine(_dir, "fifo");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
        }

        foreach (var path in new[] { "/dev/zero", "/dev/urandom", fifo })
        {
            var read = Task.Run(() => source.Read(File_(path)), TestContext.Current.CancellationToken);
            (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken))).ShouldBe(read, path);
            (await read).ShouldBeNull(path);
        }
    }

    [Theory]
    [InlineData("baseUrl: \"https://${env:HOST}/\"", "targets.api.baseUrl", "only in its user:password")]
    [InlineData("baseUrl: \"http://127.0.0.1:1/${env:TENANT}/\"", "targets.api.baseUrl", "only in its user:password")]
    public void References_WhereTheyAreNotResolved_AreErrors(string target, string path, string message)
    {
        var loaded = PlanLoader.Parse($$"""
            name: p
            targets: { api: { {{target}} } }
            scenarios: [{ name: s, target: api, load: { model: open, rate: 1, duration: 1s } }]
            """);

        loaded.Errors.ShouldContain(e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void References_InAProbePathOrAnExpectCheck_AreErrors_AndABadEnvNameIsNamed()
    {
        var loaded = PlanLoader.Parse("""
            name: p
            targets: { api: { baseUrl: "http://127.0.0.1:1/" } }
            observe: { probes: [{ target: api, path: "/health?k=${env:K}" }] }
            scenarios:
              - name: s
                target: api
                request: { headers: { X-A: "${env:1BAD}" }, expect: { bodyContains: ["${env:SECRET}"] } }
                load: { model: open, rate: 1, duration: 1s }
            """);

        loaded.Errors.ShouldContain(e => e.Path == "observe.probes[0].path" && e.Message.StartsWith("refers to a secret", StringComparison.Ordinal));
        loaded.Errors.ShouldContain(e => e.Path == "scenarios[0].request.expect.bodyContains[0]");
        loaded.Errors.ShouldContain(e => e.Path == "scenarios[0].request.headers.X-A" && e.Message.Contains("environment variable name", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Authorization", true)]
    [InlineData("Proxy-Authorization", true)]
    [InlineData("Cookie", true)]
    [InlineData("X-API_KEY", true)]
    [InlineData("X-Api-Key", true)]
    [InlineData("apiKey", true)]
    [InlineData("Authentication", true)]
    [InlineData("Ocp-Apim-Subscription-Key", true)]
    [InlineData("X-Auth", true)]
    [InlineData("X-CSRF-Token", true)]
    [InlineData("access_token", true)]
    [InlineData("client_secret", true)]
    [InlineData("sig", true)]
    [InlineData("X-Amz-Signature", true)]
    [InlineData("X-Amz-Credential", true)]
    [InlineData("Content-Type", false)]
    [InlineData("Accept", false)]
    [InlineData("X-Request-Id", false)]
    [InlineData("Keep-Alive", false)]
    [InlineData("q", false)]
    public void TheDocumentedList_SaysWhichNamesAreCredentials(string name, bool sensitive) =>
        PlanRedactor.IsSensitiveName(name).ShouldBe(sensitive);

    [Fact]
    public void Redact_MasksClearSecrets_KeepsReferences_AndTheTextStaysTheSamePlan()
    {
        const string yaml = """
            # comments stay
            name: p
            targets:
              api: { baseUrl: "https://bob:PWLEAK@127.0.0.1:8443/" }
              ref: { baseUrl: "https://bob:${env:PASS}@127.0.0.1:8444/" }
            scenarios:
              - name: s
                target: api
                request:
                  path: "/x?api_key=KEYLEAK&access_token=${env:T}&q=keep"
                  headers:
                    Authorization: &tok "Bearer TOKLEAK"
                    X-API_KEY: APIKEYLEAK
                    Ocp-Apim-Subscription-Key: SUBLEAK
                    X-Auth: XAUTHLEAK
                    X-Ref: "Bearer ${env:TOKEN}"
                    Authentication: "Bearer ${env:TOKEN}"
                    Content-Type: text/plain
                load: { model: open, rate: 1, duration: 1s }
              - name: t
                target: api
                request:
                  headers:
                    Cookie: *tok
                    Set-Cookie: >-
                      session=BLOCKLEAK
                      more
                    X-Other: keep
                load: { model: open, rate: 1, duration: 1s }
            """;

        var redacted = PlanRedactor.Redact(yaml);

        foreach (var leak in new[] { "PWLEAK", "KEYLEAK", "TOKLEAK", "APIKEYLEAK", "SUBLEAK", "XAUTHLEAK", "BLOCKLEAK" })
        {
            redacted.ShouldNotContain(leak, customMessage: redacted);
        }

        redacted.ShouldContain("# comments stay");
        redacted.ShouldContain("https://bob:${env:PASS}@127.0.0.1:8444/");
        redacted.ShouldContain("access_token=${env:T}");
        redacted.ShouldContain("q=keep");
        redacted.ShouldContain("\"Bearer ${env:TOKEN}\"");
        var again = PlanLoader.Parse(redacted);
        again.Errors.ShouldBeEmpty(redacted);
        var t = again.Plan!.Scenarios[1].Request.Headers;
        t["Cookie"].ShouldBe(PlanRedactor.Mask); // the alias reads the masked anchor
        t["Set-Cookie"].ShouldBe(PlanRedactor.Mask);
        t["X-Other"].ShouldBe("keep"); // the block scalar's line break is kept
        again.Plan.Scenarios[0].Request.Headers["Content-Type"].ShouldBe("text/plain");
    }

    [Fact]
    public void Redact_AnAnchorDefinedElsewhere_UsedAsAHeader_IsMaskedWhereItIsDefined()
    {
        const string yaml = """
            name: p
            targets: { api: { launch: { role: spin, env: { Token: &secret "ANCHORLEAK" } } } }
            scenarios:
              - { name: s, target: api, request: { headers: { Authorization: *secret } }, load: { model: open, rate: 1, duration: 1s } }
            """;

        var redacted = PlanRedactor.Redact(yaml);

        redacted.ShouldNotContain("ANCHORLEAK");
        PlanLoader.Parse(redacted).Errors.ShouldBeEmpty(redacted);
    }

    [Theory]
    [InlineData("https://bob:PW@h/x?token=T0K&q=1", "https://redacted@h/x?token=***redacted***&q=1")]
    [InlineData("http://h/x?sig=abc&signature=def&key=k", "http://h/x?sig=***redacted***&signature=***redacted***&key=***redacted***")]
    [InlineData("http://h/x?q=1", "http://h/x?q=1")]
    [InlineData("not a url://bob:pw@host", "not a url://redacted@host")]
    public void RedactUrl_MasksUserInfoAndCredentialQueryValues(string url, string expected) =>
        PlanRedactor.RedactUrl(url).ShouldBe(expected);
}
