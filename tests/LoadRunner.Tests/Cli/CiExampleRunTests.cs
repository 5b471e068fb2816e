using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using YamlDotNet.RepresentationModel;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>
/// The GitHub Actions example's own steps, run as the runner runs them — bash in a fresh workspace per night, the
/// job's env, <c>./constellation</c> — against s3rver instead of S3 and a loopback app instead of EKS: night 1 (started
/// by hand with "promote") becomes the baseline; night 2, with the app slower, fails the job at the compare step.
/// </summary>
public sealed partial class CiExampleRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-ci-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TheGitHubActionsExample_Night1PromotedAsBaseline_Night2Regressed_FailsTheJobWithExit99()
    {
        var endpoint = Environment.GetEnvironmentVariable("CONSTELLATION_TEST_S3_ENDPOINT");
        Assert.SkipWhen(string.IsNullOrEmpty(endpoint), "CONSTELLATION_TEST_S3_ENDPOINT is not set (scripts/test.sh starts s3rver)");
        var ct = TestContext.Current.CancellationToken;

        var workflow = new YamlStream();
        workflow.Load(new StringReader(await File.ReadAllTextAsync(Path.Combine(Constellation.Tests.Repo.Root, "examples/github-actions/scale-test.yml"), ct)));
        var job = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)workflow.Documents[0].RootNode)["jobs"])["scale-test"];
        var env = ((YamlMappingNode)((YamlMappingNode)workflow.Documents[0].RootNode)["env"]).ToDictionary(e => e.Key.ToString(), e => e.Value.ToString());
        var steps = ((YamlSequenceNode)job["steps"]).Cast<YamlMappingNode>()
            .Where(s => s.Children.ContainsKey("name")).ToDictionary(s => s["name"].ToString());
        var run = steps["Run the nightly plan (the gate)"];
        var compare = steps["Compare with the baseline"];
        var promote = steps["Promote to baseline"];

        // The runner's conditions, as the example writes them: a promoting night is not compared, and only a passed run is promoted.
        compare["if"].ToString().ShouldContain("!inputs.promote");
        promote["if"].ToString().ShouldContain("inputs.promote");
        promote["if"].ToString().ShouldContain("steps.run.outcome == 'success'");

        // The bucket the example names, on s3rver; a prefix of this test's own.
        var s3rver = new BasicAWSCredentials("S3RVER", "S3RVER");
        using (var s3 = new AmazonS3Client(s3rver, new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" }))
        {
            try
            {
                await s3.PutBucketAsync(env["CONSTELLATION_S3_BUCKET"], ct);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyExists" or "BucketAlreadyOwnedByYou")
            {
                // made by an earlier test against the same s3rver
            }
        }

        int delayMs = 0;
        await using var app = await StartAppAsync(() => delayMs);

        async Task<(int Code, string Output)> Step(YamlMappingNode step, string workspace, int runNumber, int attempt)
        {
            var script = Expressions(step["run"].ToString(), runNumber, attempt, workspace);
            var psi = new ProcessStartInfo("bash", ["-eo", "pipefail", "-c", script]) { WorkingDirectory = workspace, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var (name, value) in env)
            {
                psi.Environment[name] = Expressions(value, runNumber, attempt, workspace);
            }

            psi.Environment["CONSTELLATION_S3_ENDPOINT"] = endpoint;
            psi.Environment["CONSTELLATION_S3_PREFIX"] = _prefix;
            psi.Environment["AWS_ACCESS_KEY_ID"] = "S3RVER";
            psi.Environment["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
            psi.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
            psi.Environment["GITHUB_STEP_SUMMARY"] = Path.Combine(workspace, "step-summary.md");
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            return (process.ExitCode, await stdout + await stderr);
        }

        // Night 1, started by hand with "promote": run, then promote (the compare step is skipped).
        var night1 = Workspace("night-1", app.Url);
        var (code, output) = await Step(run, night1, runNumber: 1, attempt: 1);
        code.ShouldBe(0, output);
        output.ShouldNotContain("NOT stored");
        (code, output) = await Step(promote, night1, runNumber: 1, attempt: 1);
        code.ShouldBe(0, output);
        output.ShouldContain("nightly-1-1 is now the baseline of plan 'eks-nightly'");

        // Night 2, scheduled, in a workspace that starts empty; the app got slower.
        delayMs = 80;
        var night2 = Workspace("night-2", app.Url);
        (code, output) = await Step(run, night2, runNumber: 2, attempt: 1);
        code.ShouldBe(0, output); // the absolute gate still passes: only the comparison can see it
        output.ShouldContain("baseline: nightly-1-1 (tag:baseline)"); // the run's own regression threshold found it in the bucket too
        (code, output) = await Step(compare, night2, runNumber: 2, attempt: 1);
        code.ShouldBe(99, output);
        output.ShouldContain("nightly-1-1");
        output.ShouldContain("**Regression**");
        Directory.Exists(Path.Combine(night2, "artifacts", "runs", "nightly-1-1")).ShouldBeTrue(); // the baseline came from the bucket

        // A re-run of night 2's job gets a new attempt number, so a new run id; the same id again is refused before any load.
        var rerun = Workspace("night-2-again", app.Url);
        var sent = app.Requests;
        (code, output) = await Step(run, rerun, runNumber: 2, attempt: 1);
        code.ShouldBe(2, output);
        output.ShouldContain("nightly-2-1/ already holds a run");
        app.Requests.ShouldBe(sent);
    }

    [Fact]
    public async Task ABucketThatCannotBeRead_MakesARunWithRegressionThresholdsInvalid_NeverAPass()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var target = await Constellation.Tests.TestTarget.StartAsync();
        var plan = Path.Combine(_dir, "plan.yaml");
        await File.WriteAllTextAsync(plan, $"""
            name: gated
            targets:
              web: {"{"} baseUrl: "{target.BaseUrl}" {"}"}
            scenarios:
              - name: s
                target: web
                request: {"{"} path: /ok {"}"}
                load: {"{"} model: open, rate: 10, duration: 1s {"}"}
            thresholds: ["p(95) regression < 10%"]
            baseline: tag:baseline
            """, ct);

        // Nothing listens on port 1: every S3 call is refused, retried, and fails.
        var env = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "x", ["AWS_EC2_METADATA_DISABLED"] = "true" };
        var (code, stdout, stderr) = await Support.CliRunner.RunWithEnvAsync(env, "run", plan, "-o", Path.Combine(_dir, "runs"), "-q", "--s3-bucket", "b", "--s3-endpoint", "http://127.0.0.1:1/", "--s3-timeout", "2s");

        code.ShouldBe(3, stdout + stderr);
        (stdout + stderr).ShouldContain("the baseline (tag:baseline) could not be read, so its regression thresholds were not judged");
        Directory.GetFiles(Path.Combine(_dir, "runs"), "run.json", SearchOption.AllDirectories).ShouldHaveSingleItem(); // the run is still written
    }

    private readonly string _prefix = $"ci-{Guid.NewGuid():N}";

    /// <summary>A fresh checkout: the ./constellation launcher (the built CLI) and plans/eks-nightly.yaml aimed at the loopback app.</summary>
    private string Workspace(string name, Uri app)
    {
        var workspace = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        var launcher = Path.Combine(workspace, "constellation");
        File.WriteAllText(launcher, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "constellation.dll")}' \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Directory.CreateDirectory(Path.Combine(workspace, "plans"));
        File.WriteAllText(Path.Combine(workspace, "plans", "eks-nightly.yaml"), $"""
            name: eks-nightly
            targets:
              webapp: {"{"} baseUrl: "{app}" {"}"}
            scenarios:
              - name: webapp-steady
                target: webapp
                request: {"{"} path: / {"}"}
                load: {"{"} model: open, rate: 20, duration: 3s {"}"}
                thresholds: ["p(95) < 2s", "error_rate < 1%"]
            thresholds: ["p(95) regression < 100000%"]
            baseline: tag:baseline
            """);
        return workspace;
    }

    /// <summary>The runner's <c>${{ … }}</c> expressions this job uses; any other one fails the test.</summary>
    private static string Expressions(string text, int runNumber, int attempt, string workspace)
    {
        var done = text.Replace("${{ github.run_id }}", runNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("${{ github.run_attempt }}", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("${{ github.workspace }}", workspace, StringComparison.Ordinal);
        Expression().IsMatch(done).ShouldBeFalse($"an expression this test does not know: {done}");
        return done;
    }

    [GeneratedRegex(@"\$\{\{")]
    private static partial Regex Expression();

    private static async Task<App> StartAppAsync(Func<int> delayMs)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var web = builder.Build();
        var app = new App(web);
        web.MapGet("/", async () =>
        {
            Interlocked.Increment(ref app.Served);
            if (delayMs() is > 0 and var ms)
            {
                await Task.Delay(ms);
            }

            return "webapp";
        });
        await web.StartAsync();
        app.Url = new Uri(web.Urls.First());
        return app;
    }

    private sealed class App(WebApplication web) : IAsyncDisposable
    {
        public long Served;

        public Uri Url { get; set; } = null!;

        public long Requests => Interlocked.Read(ref Served);

        public ValueTask DisposeAsync() => web.DisposeAsync();
    }
}
