using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Constellation.Reports.Stores;
using Constellation.Reports.Writers;
using Constellation.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Constellation.Reports.Tests;

public sealed class S3RunStoreTests : IDisposable
{
    private static readonly BasicAWSCredentials S3rverCredentials = new("S3RVER", "S3RVER");
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-s3-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<Core.Results.RunRecord> WriteRunAsync()
    {
        var run = TestRuns.Sample();
        await CompositeReportWriter.Default.WriteAsync(run, _dir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TestContext.Current.CancellationToken);
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "logs", "spin.log"), "SPINSERVICE_READY role=spin\n", TestContext.Current.CancellationToken);
        return run;
    }

    /// <summary>The s3rver test.sh starts (else the test is skipped) and a prefix of the test's own.</summary>
    private static (string Endpoint, S3StoreOptions Options) S3rver()
    {
        var endpoint = Environment.GetEnvironmentVariable("CONSTELLATION_TEST_S3_ENDPOINT");
        Assert.SkipWhen(string.IsNullOrEmpty(endpoint), "CONSTELLATION_TEST_S3_ENDPOINT is not set (scripts/test.sh starts s3rver)");
        return (endpoint!, new S3StoreOptions { Bucket = "constellation-test", Prefix = $"t-{Guid.NewGuid():N}", ServiceUrl = new Uri(endpoint!) });
    }

    [Fact]
    public async Task Store_AgainstS3rver_UploadsEveryFileWithContentTypesAndAWorkingPresignedLink()
    {
        var (endpoint, options) = S3rver();
        var ct = TestContext.Current.CancellationToken;
        var run = await WriteRunAsync();
        using var store = new S3RunStore(options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, S3rverCredentials);

        var status = await store.StoreAsync(_dir, run, ct);

        status.Ok.ShouldBeTrue(status.Error);
        status.Files.ShouldBe(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories).Length);
        status.Location.ShouldBe($"s3://constellation-test/{options.Prefix}/{run.RunId}/");
        status.ReportLink.ShouldNotBeNull().ShouldContain("X-Amz-Signature="); // SigV4, not a legacy SigV2 link
        using var http = new HttpClient();
        using var page = await http.GetAsync(new Uri(status.ReportLink!), ct);
        page.IsSuccessStatusCode.ShouldBeTrue();
        page.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        (await page.Content.ReadAsStringAsync(ct)).ShouldBe(await File.ReadAllTextAsync(Path.Combine(_dir, "index.html"), ct));

        using var s3 = new AmazonS3Client(S3rverCredentials, new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "constellation-test", Prefix = $"{options.Prefix}/" }, ct);
        listed.S3Objects.Select(o => o.Key).ShouldContain($"{options.Prefix}/{run.RunId}/logs/spin.log");
        var json = await s3.GetObjectAsync("constellation-test", $"{options.Prefix}/{run.RunId}/run.json", ct);
        json.Headers.ContentType.ShouldBe("application/json");

        // A second run under the same prefix: the bucket's runs index lists both, newest first, with signed links.
        var second = run with { RunId = run.RunId + "-second", Environment = run.Environment with { StartedUtc = run.Environment.StartedUtc.AddDays(1) } };
        await CompositeReportWriter.Default.WriteAsync(second, _dir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        var secondStatus = await store.StoreAsync(_dir, second, ct);
        using var index = await http.GetAsync(new Uri(secondStatus.IndexLink.ShouldNotBeNull()), ct);
        index.IsSuccessStatusCode.ShouldBeTrue();
        var indexHtml = await index.Content.ReadAsStringAsync(ct);
        indexHtml.IndexOf(second.RunId + "</a>", StringComparison.Ordinal).ShouldBeLessThan(indexHtml.IndexOf(run.RunId + "</a>", StringComparison.Ordinal));
        indexHtml.ShouldContain("X-Amz-Signature");
        indexHtml.ShouldContain("<h2>Trend: nightly</h2>");
    }

    [Fact]
    public async Task AStoredRun_IsNeverOverwritten_AndAFreshFolderFindsTagsAndPromotesThroughTheBucket()
    {
        var (endpoint, options) = S3rver();
        var ct = TestContext.Current.CancellationToken;
        var run = await WriteRunAsync();
        using var store = new S3RunStore(options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, S3rverCredentials);
        Directory.CreateDirectory(Journal.RunJournalWriter.FolderOf(_dir));
        using (Journal.RunJournalWriter.Hold(_dir))
        {
            // As in a real run: the run holds its journal's writer lock while it is stored; the lock is not the run's.
            var stored = await store.StoreAsync(_dir, run, ct);
            stored.Ok.ShouldBeTrue(stored.Error);
        }

        (await store.HasRunAsync(run.RunId, ct)).ShouldBeTrue();
        (await store.HasRunAsync("no-such-run", ct)).ShouldBeFalse();

        // The same run id again (a re-run CI job, another workspace): refused, and the stored run is the first one.
        var impostor = run with { Environment = run.Environment with { StartedUtc = run.Environment.StartedUtc.AddDays(3) } };
        await CompositeReportWriter.Default.WriteAsync(impostor, _dir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        var again = await store.StoreAsync(_dir, impostor, ct);
        again.Ok.ShouldBeFalse();
        again.Files.ShouldBe(0);
        again.Error.ShouldNotBeNull().ShouldContain($"already holds a finished run {run.RunId}; nothing was overwritten");
        (await store.ListAsync(ct)).ShouldHaveSingleItem().StartedUtc.ShouldBe(run.Environment.StartedUtc);

        // A second run of the plan, then a workspace that starts empty (a CI job) promotes the first: it is pulled,
        // tagged, and sent back; a third empty workspace finds the baseline in the bucket.
        var second = run with { RunId = run.RunId + "-2", Environment = run.Environment with { StartedUtc = run.Environment.StartedUtc.AddDays(1) } };
        var secondDir = Directory.CreateDirectory(Path.Combine(_dir, "second")).FullName;
        await CompositeReportWriter.Default.WriteAsync(second, secondDir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        (await store.StoreAsync(secondDir, second, ct)).Ok.ShouldBeTrue();

        var ci1 = Directory.CreateDirectory(Path.Combine(_dir, "ci-1")).FullName;
        (await History.Baselines.ResolveAsync(ci1, "tag:baseline", run.PlanName, null, ct, store)).Record.ShouldBeNull();
        await History.Baselines.PromoteAsync(ci1, run.RunId, ct, store);
        File.Exists(Path.Combine(ci1, run.RunId, "index.html")).ShouldBeTrue(); // the whole run came over, its report too
        Directory.GetDirectories(ci1).Select(Path.GetFileName).ShouldBe([run.RunId]); // no half-pulled leftovers

        var ci2 = Directory.CreateDirectory(Path.Combine(_dir, "ci-2")).FullName;
        var found = await History.Baselines.ResolveAsync(ci2, "tag:baseline", run.PlanName, second.RunId, ct, store);
        found.Record.ShouldNotBeNull().RunId.ShouldBe(run.RunId);
        found.Record.Tags.ShouldContain("baseline");

        // Promoting the second run moves the tag in the bucket: one baseline per plan, wherever it is read from.
        var ci3 = Directory.CreateDirectory(Path.Combine(_dir, "ci-3")).FullName;
        await History.Baselines.PromoteAsync(ci3, second.RunId, ct, store);
        var listed = await store.ListAsync(ct);
        listed.Single(r => r.RunId == second.RunId).Tags.ShouldContain("baseline");
        listed.Single(r => r.RunId == run.RunId).Tags.ShouldNotContain("baseline");
        var ci4 = Directory.CreateDirectory(Path.Combine(_dir, "ci-4")).FullName;
        (await History.Baselines.ResolveAsync(ci4, "tag:baseline", run.PlanName, null, ct, store)).Record.ShouldNotBeNull().RunId.ShouldBe(second.RunId);

        // ci-1 lives on (a Jenkins workspace) and still says the first run is the baseline; a tag sent from there
        // starts from the bucket's tags, so it never brings that baseline back.
        await History.Baselines.TagAsync(ci1, run.RunId, "release-1", false, ct, store);
        var after = await store.ListAsync(ct);
        after.Single(r => r.RunId == run.RunId).Tags.ShouldBe(["release-1"]);
        after.Count(r => r.Tags.Contains("baseline")).ShouldBe(1);
        Should.Throw<FileNotFoundException>(() => History.Baselines.TagAsync(ci4, "not-stored-anywhere", "x", false, ct, store)).Message.ShouldContain(store.Location);
    }

    [Fact]
    public async Task WhatTheBucketHolds_IsCheckedBeforeItIsUsed_AndATagNeverLandsOnAnotherRun()
    {
        var (endpoint, options) = S3rver();
        var ct = TestContext.Current.CancellationToken;
        var run = await WriteRunAsync();
        using var store = new S3RunStore(options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, S3rverCredentials);
        (await store.StoreAsync(_dir, run, ct)).Ok.ShouldBeTrue();
        using var s3 = new AmazonS3Client(S3rverCredentials, new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

        // Another workspace holds a different run under the same id: tagging it would push its record over the stored one.
        var elsewhere = Directory.CreateDirectory(Path.Combine(_dir, "elsewhere")).FullName;
        var other = run with { Environment = run.Environment with { StartedUtc = run.Environment.StartedUtc.AddHours(5) } };
        await CompositeReportWriter.Default.WriteAsync(other, Path.Combine(elsewhere, run.RunId), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        (await Should.ThrowAsync<InvalidDataException>(() => History.Baselines.TagAsync(elsewhere, run.RunId, "baseline", false, ct, store))).Message.ShouldContain("is not the run");
        (await store.ListAsync(ct)).ShouldHaveSingleItem().Tags.ShouldNotContain("baseline");
        (await Core.Results.RunRecordJson.ReadAsync(Path.Combine(elsewhere, run.RunId, "run.json"), ct)).Tags.ShouldNotContain("baseline");

        // A run only this folder has (its upload failed): with the bucket, it is not tagged, so no CI job promotes what the next cannot find.
        var localOnly = run with { RunId = "local-only" };
        await CompositeReportWriter.Default.WriteAsync(localOnly, Path.Combine(elsewhere, "local-only"), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        (await Should.ThrowAsync<FileNotFoundException>(() => History.Baselines.PromoteAsync(elsewhere, "local-only", ct, store))).Message.ShouldContain($"not in {store.Location}");

        // A store cut short (a summary, no run.json) is not a run; a run.json that names another run is not pulled.
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "constellation-test", Key = $"{options.Prefix}/cut/run-summary.json", ContentBody = await File.ReadAllTextAsync(Path.Combine(_dir, "run-summary.json"), ct), UseChunkEncoding = false }, ct);
        (await store.ListAsync(ct)).Select(r => r.RunId).ShouldBe([run.RunId]);
        (await store.HasRunAsync("cut", ct)).ShouldBeFalse();
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "constellation-test", Key = $"{options.Prefix}/impostor/run.json", ContentBody = await File.ReadAllTextAsync(Path.Combine(_dir, "run.json"), ct), UseChunkEncoding = false }, ct);
        var fresh = Directory.CreateDirectory(Path.Combine(_dir, "fresh")).FullName;
        (await Should.ThrowAsync<InvalidDataException>(() => store.PullAsync("impostor", fresh, ct))).Message.ShouldContain($"holds run '{run.RunId}'");
        Directory.GetDirectories(fresh).ShouldBeEmpty(); // nothing half-pulled is left to look like a run
    }

    [Fact]
    public async Task Store_TransientFailures_AreRetriedWithBackoff_AndDeniedAccessIsNot()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = await WriteRunAsync();
        int puts = 0;
        await using var fake = await FakeS3.StartAsync(ctx =>
        {
            if (ctx.Request.Method == "HEAD")
            {
                return 404; // no run.json yet: the run id is free
            }

            if (ctx.Request.Method != "PUT" || !ctx.Request.Path.Value!.Contains(run.RunId, StringComparison.Ordinal))
            {
                return 200; // listing and the runs index are not what this test counts
            }

            int n = Interlocked.Increment(ref puts);
            return ctx.Request.Path.Value!.Contains("deny", StringComparison.Ordinal) ? 403 : n <= 2 ? 503 : 200;
        });
        var retried = new S3StoreOptions { Bucket = "b", Prefix = "ok", ServiceUrl = fake.Url, FirstRetryDelay = TimeSpan.FromMilliseconds(10) };
        var log = new StringWriter();
        using (var store = new S3RunStore(retried, new Constellation.Core.Logging.PlainTextLogger(log), S3rverCredentials))
        {
            var status = await store.StoreAsync(_dir, run, ct);

            status.Ok.ShouldBeTrue(status.Error);
            log.ToString().ShouldContain("retrying");
        }

        var filesUploaded = Directory.GetFiles(_dir, "*", SearchOption.AllDirectories).Length;
        puts.ShouldBe(filesUploaded + 2);

        puts = 0;
        using var denied = new S3RunStore(retried with { Prefix = "deny" }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, S3rverCredentials);
        var failed = await denied.StoreAsync(_dir, run, ct);

        failed.Ok.ShouldBeFalse();
        failed.Error.ShouldNotBeNull();
        puts.ShouldBe(1); // 403 is not transient: no retry
        File.Exists(Path.Combine(_dir, "run.json")).ShouldBeTrue(); // the local copy is untouched
    }

    [Fact]
    public async Task StoreAsync_AnEndpointThatNeverAnswers_IsRetriedThenRecordedAsFailed_WithinTheDeadline()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = TestRuns.Sample();
        await CompositeReportWriter.Default.WriteAsync(run, _dir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);

        using var silent = new Constellation.Tests.SilentServer();
        var url = silent.Url;
        var log = new StringWriter();
        using var store = new S3RunStore(
            new S3StoreOptions { Bucket = "b", ServiceUrl = url, AttemptTimeout = TimeSpan.FromMilliseconds(500), FirstRetryDelay = TimeSpan.FromMilliseconds(10), Deadline = TimeSpan.FromSeconds(10) },
            new Constellation.Core.Logging.PlainTextLogger(log),
            S3rverCredentials);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var status = await store.StoreAsync(_dir, run, ct);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        status.Ok.ShouldBeFalse();
        status.Error.ShouldNotBeNull().ShouldContain("no answer within 500ms in 4 attempts");
        log.ToString().ShouldContain("S3 request attempt 2 failed");
        silent.Connections.ShouldBeGreaterThanOrEqualTo(4); // every attempt was a new try

        using var tight = new S3RunStore(
            new S3StoreOptions { Bucket = "b", ServiceUrl = url, AttemptTimeout = TimeSpan.FromSeconds(30), Deadline = TimeSpan.FromSeconds(1) },
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            S3rverCredentials);
        var late = await tight.StoreAsync(_dir, run, ct);
        late.Ok.ShouldBeFalse();
        late.Error.ShouldNotBeNull().ShouldContain("gave up after 1s (its deadline)");
    }

    /// <summary>A tiny S3 stand-in on loopback that answers PUTs with the status the test chooses.</summary>
    private sealed class FakeS3 : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeS3(WebApplication app, Uri url)
        {
            _app = app;
            Url = url;
        }

        public Uri Url { get; }

        public static async Task<FakeS3> StartAsync(Func<HttpContext, int> status)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.Run(async ctx =>
            {
                await ctx.Request.Body.CopyToAsync(Stream.Null);
                int code = status(ctx);
                ctx.Response.StatusCode = code;
                if (code == 200 || HttpMethods.IsHead(ctx.Request.Method))
                {
                    ctx.Response.Headers.ETag = "\"0\"";
                    return;
                }

                ctx.Response.ContentType = "application/xml";
                var s3Code = code == 403 ? "AccessDenied" : "SlowDown";
                await ctx.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{s3Code}</Code><Message>{s3Code}</Message><RequestId>1</RequestId></Error>");
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new FakeS3(app, new Uri(address));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
