using System.Text;
using Constellation.LoadRunner.Cli;
using Constellation.LoadRunner.Tests.Support;
using Constellation.Tests;
using static Constellation.Tests.RawHttpServer;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// Secrets by reference end to end: the target receives the resolved values; nothing the run writes or prints holds
/// one — in one process or spread over an agent; a missing secret stops validate and run before anything happens.
/// </summary>
public sealed class SecretsEndToEndTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Env = new()
    {
        ["CONSTELLATION_TEST_TOKEN"] = "TOKENVALUE42",
        ["CONSTELLATION_TEST_KEY"] = "KEYVALUE42",
        ["CONSTELLATION_TEST_USER"] = "loaduser",
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-secrets-e2e-").FullName;
    private RawHttpServer _server = null!;
    private string _passwordFile = null!;

    public ValueTask InitializeAsync()
    {
        _server = new RawHttpServer(_ => [Send.Text("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")]);
        _passwordFile = Path.Combine(_dir, "password.txt");
        File.WriteAllText(_passwordFile, "FILEPASS42\n");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Plan(string extraHeader = "") => $$"""
        name: secrets
        targets:
          api: { baseUrl: "http://${env:CONSTELLATION_TEST_USER}:${file:{{_passwordFile}}}@127.0.0.1:{{_server.BaseUrl.Port}}/" }
        scenarios:
          - name: s
            target: api
            request:
              method: POST
              path: "/items?api_key=${env:CONSTELLATION_TEST_KEY}&q=1"
              headers: { X-Token: "Bearer ${env:CONSTELLATION_TEST_TOKEN}"{{extraHeader}} }
              body: "secret body ${file:{{_passwordFile}}}"
            load: { model: open, rate: 10, duration: 1s }
        """;

    [Theory]
    [InlineData("one-process")]
    [InlineData("agent")]
    public async Task TheTargetGetsTheValues_AndNothingWrittenOrPrintedHoldsThem(string mode)
    {
        var plan = Path.Combine(_dir, $"plan-{mode}.yaml");
        await File.WriteAllTextAsync(plan, Plan(), TestContext.Current.CancellationToken);
        string[] agents = mode == "agent" ? ["--agents", "1", "--agent-start-lead", "1s"] : [];

        var (code, output, err) = await CliRunner.RunWithEnvAsync(Env, ["run", plan, "-o", _dir, "--run-id", mode, .. agents]);

        code.ShouldBe(ExitCodes.Ok, err);
        var heads = _server.Heads.Select(h => Encoding.Latin1.GetString(h)).ToList();
        heads.Count.ShouldBeGreaterThanOrEqualTo(10);
        heads.ShouldAllBe(h => h.StartsWith("POST /items?api_key=KEYVALUE42&q=1 HTTP/1.1", StringComparison.Ordinal) && h.Contains("X-Token: Bearer TOKENVALUE42", StringComparison.Ordinal));
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("loaduser:FILEPASS42"));
        heads.ShouldAllBe(h => h.Contains("Authorization: Basic " + basic, StringComparison.Ordinal));
        _server.Bodies.Select(b => Encoding.UTF8.GetString(b)).ShouldAllBe(b => b == "secret body FILEPASS42");

        var values = new[] { "TOKENVALUE42", "KEYVALUE42", "FILEPASS42", basic };
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_dir, mode), "*", SearchOption.AllDirectories))
        {
            var text = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
            values.ShouldAllBe(v => !text.Contains(v, StringComparison.Ordinal), file);
        }

        values.ShouldAllBe(v => !output.Contains(v, StringComparison.Ordinal) && !err.Contains(v, StringComparison.Ordinal));
        var record = await Core.Results.RunRecordJson.ReadAsync(Path.Combine(_dir, mode, "run.json"), TestContext.Current.CancellationToken);
        record.PlanText.ShouldNotBeNull().ShouldContain("Bearer ${env:CONSTELLATION_TEST_TOKEN}");
        record.Scenarios[0].Url.ShouldContain("api_key=${env:CONSTELLATION_TEST_KEY}");
        Directory.Exists(Path.Combine(_dir, mode, "agents")).ShouldBeFalse(); // the exchange lives as long as the run
    }

    [Fact]
    public async Task AMissingSecret_ValidateAndRunSayWhichAndWhere_AndNothingRuns()
    {
        var plan = Path.Combine(_dir, "missing.yaml");
        await File.WriteAllTextAsync(plan, Plan(", X-Other: \"${env:CONSTELLATION_TEST_NOT_SET}\"").Replace(_passwordFile, _passwordFile + ".gone", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var (code, output, err) = await CliRunner.RunWithEnvAsync(Env, "validate", plan);

        code.ShouldBe(ExitCodes.InvalidInput);
        output.ShouldContain("secrets: ${env:CONSTELLATION_TEST_USER}");
        err.ShouldContain("scenarios[0].request.headers.X-Other: ${env:CONSTELLATION_TEST_NOT_SET} is not set");
        err.ShouldContain($"targets.api.baseUrl: ${{file:{_passwordFile}.gone}} is not a readable, non-empty file");

        (code, _, err) = await CliRunner.RunWithEnvAsync(Env, "run", plan, "-o", _dir, "--run-id", "missing");

        code.ShouldBe(ExitCodes.InvalidInput);
        err.ShouldContain("${env:CONSTELLATION_TEST_NOT_SET} is not set");
        Directory.Exists(Path.Combine(_dir, "missing")).ShouldBeFalse();
        _server.Requests.ShouldBe(0);
    }
}
