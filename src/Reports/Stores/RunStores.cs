using Microsoft.Extensions.Logging;
using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Constellation.Core.Results;
using Polly;
using Polly.Retry;

namespace Constellation.Reports.Stores;

/// <summary>Somewhere a finished run's folder is kept besides the local disk.</summary>
public interface IRunStore
{
    string Name { get; }

    /// <summary>Uploads every file of the run folder; never throws for a store failure, it reports it.</summary>
    Task<StoreStatus> StoreAsync(string runDirectory, RunRecord record, CancellationToken ct);
}

/// <summary>
/// The local runs folder (artifacts/runs by default), the store every run has: it renders the outputs into
/// RUN-ID/ and refreshes the folder's runs index. Other stores then copy that folder.
/// </summary>
public sealed class LocalRunStore(string root, ILogger log) : IRunStore
{
    public string Name => "local";

    public string Root { get; } = Path.GetFullPath(root);

    public string DirectoryFor(string runId) => Path.Combine(Root, runId);

    public async Task<StoreStatus> StoreAsync(string runDirectory, RunRecord record, CancellationToken ct)
    {
        var failures = await Writers.CompositeReportWriter.Default.WriteAsync(record, runDirectory, log, ct).ConfigureAwait(false);
        try
        {
            await History.RunsIndexWriter.WriteAsync(Root, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.RunsIndexFailed(e.Message);
        }

        // run.json is written atomically (temp file, then move): it exists only if it was written.
        bool recordWritten = File.Exists(Path.Combine(runDirectory, "run.json"));
        int files = Directory.Exists(runDirectory) ? Directory.GetFiles(runDirectory, "*", SearchOption.AllDirectories).Length : 0;
        return new StoreStatus(Name, recordWritten, runDirectory, files, Path.Combine(runDirectory, "index.html"), failures.Count == 0 ? null : string.Join("; ", failures));
    }
}

/// <summary>Where an S3 store writes. Bound from CLI options or configuration.</summary>
public sealed record S3StoreOptions
{
    public required string Bucket { get; init; }

    /// <summary>Key prefix; runs go to PREFIX/RUN-ID/. Default: constellation/runs.</summary>
    public string Prefix { get; init; } = "constellation/runs";

    /// <summary>Default: AWS_REGION, else us-east-1.</summary>
    public string? Region { get; init; }

    /// <summary>An S3-compatible endpoint (MinIO, s3rver); null for AWS itself.</summary>
    public Uri? ServiceUrl { get; init; }

    /// <summary>How long the presigned link to the report works. Default: 7 days (the SigV4 maximum).</summary>
    public TimeSpan LinkExpiry { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Attempts per file, with exponential backoff between them. Default: 4.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>First backoff delay. Default: 500 ms.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one request may take before it is abandoned and retried (an endpoint that never answers). Default: 30s.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long storing one run may take in all, retries included; then it is recorded as failed and the run finishes. Default: 3m.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(3);
}

/// <summary>
/// Uploads a run folder to S3 (standard AWS credential chain) with the right content types, retries
/// transient failures with exponential backoff, and returns a presigned link to the report.
/// </summary>
/// <summary>Builds S3 clients the same way everywhere: AWS's region and credential chain, or an S3-compatible endpoint.</summary>
public static class S3Clients
{
    /// <summary>Region default: $AWS_REGION, else us-east-1. With <paramref name="serviceUrl"/>, path-style addressing (MinIO, s3rver). No SDK retries: callers count theirs.</summary>
    public static AmazonS3Client Create(string? region, Uri? serviceUrl, AWSCredentials? credentials = null, TimeSpan? attemptTimeout = null)
    {
        region ??= Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1";
        var config = new AmazonS3Config
        {
            RegionEndpoint = RegionEndpoint.GetBySystemName(region),
            MaxErrorRetry = 0,

            // One request's deadline: an endpoint that accepts the connection and never answers is given up on.
            Timeout = attemptTimeout ?? TimeSpan.FromSeconds(30),
        };
        if (serviceUrl is { } url)
        {
            config.ServiceURL = url.ToString();
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region;
        }

        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }

    /// <summary>
    /// An answer the SDK could not parse: an S3-compatible server caught mid-overwrite of the object can answer with
    /// an empty or cut ETag, and the SDK's response handler throws an ArgumentException from its own code for it
    /// (seen with s3rver under CPU pressure: <c>AWSSDKUtils.HexStringToBytes</c>). Passing, like a dropped connection.
    /// </summary>
    public static bool IsMalformedAnswer(Exception e) =>
        e is ArgumentException or FormatException
        && e.Source is { } source && source.StartsWith("AWSSDK", StringComparison.Ordinal)
        && e.StackTrace is { } trace && trace.Contains("ResponseHandler", StringComparison.Ordinal); // reading an answer, not checking a request

}

public sealed class S3RunStore : IRunStore, History.IRemoteRuns, IDisposable
{
    private readonly S3StoreOptions _options;
    private readonly IAmazonS3 _s3;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _log;
    private readonly TimeProvider _time;

    public S3RunStore(S3StoreOptions options, ILogger log, AWSCredentials? credentials = null, TimeProvider? time = null)
    {
        _options = options;
        _log = log;
        _time = time ?? TimeProvider.System;
        // The SDK's own timeout is only a backstop: each attempt's deadline is the pipeline's, so it is retried.
        _s3 = S3Clients.Create(options.Region, options.ServiceUrl, credentials, options.AttemptTimeout + TimeSpan.FromSeconds(5));
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(0, options.MaxAttempts - 1),
                Delay = options.FirstRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => IsTransient(e) || e is Polly.Timeout.TimeoutRejectedException),
                OnRetry = a =>
                {
                    _log.S3Retry(a.AttemptNumber + 1, a.Outcome.Exception?.Message, a.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    public string Name => "s3";

    public async Task<StoreStatus> StoreAsync(string runDirectory, RunRecord run, CancellationToken ct)
    {
        var prefix = $"{RootPrefix}{run.RunId}/";
        var location = $"s3://{_options.Bucket}/{prefix}";
        int files = 0;
        var interrupted = ct;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.Deadline);
        ct = deadline.Token;
        try
        {
            // A stored run never changes: a run id the bucket already holds (another workspace's run, a re-run CI job) is refused.
            if (await HasRunAsync(run.RunId, ct).ConfigureAwait(false))
            {
                return new StoreStatus(Name, false, location, 0, null, $"{location} already holds a finished run {run.RunId}; nothing was overwritten (a run is written once: use another --run-id)");
            }

            // The journal's writer lock is held by the run itself and is no part of it.
            // run.json goes last: the bucket holds a run (HasRunAsync, ListAsync) only once all of it is there.
            var writerLock = Path.Combine(Journal.RunJournalWriter.FolderOf(runDirectory), Journal.RunJournalWriter.LockFile);
            var record = Path.Combine(runDirectory, "run.json");
            foreach (var file in Directory.EnumerateFiles(runDirectory, "*", SearchOption.AllDirectories).Where(f => f != writerLock).OrderBy(f => f == record).ThenBy(f => f, StringComparer.Ordinal))
            {
                var key = prefix + Path.GetRelativePath(runDirectory, file).Replace('\\', '/');
                await _retry.ExecuteAsync(
                    async token => await _s3.PutObjectAsync(
                        new PutObjectRequest
                        {
                            BucketName = _options.Bucket,
                            Key = key,
                            FilePath = file,
                            ContentType = ContentType(file),
                            UseChunkEncoding = false, // S3-compatible servers (s3rver) store chunk framing as data
                        },
                        token).ConfigureAwait(false),
                    ct).ConfigureAwait(false);
                files++;
            }

            var link = await PresignAsync(prefix + "index.html").ConfigureAwait(false);
            string? indexLink = null;
            try
            {
                indexLink = await UpdateIndexAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The index is a convenience: the run itself is stored, so this only warns.
                _log.S3IndexFailed($"s3://{_options.Bucket}/{RootPrefix}", e.Message);
            }

            return new StoreStatus(Name, true, location, files, link, null) { IndexLink = indexLink };
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
        {
            return new StoreStatus(Name, false, location, files, null, $"interrupted (Ctrl+C twice) after {files} files");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new StoreStatus(Name, false, location, files, null, $"gave up after {Core.Text.Durations.Format(_options.Deadline)} (its deadline): the endpoint did not answer in time ({files} files stored)");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException)
        {
            return new StoreStatus(Name, false, location, files, null, e is Polly.Timeout.TimeoutRejectedException ? $"no answer within {Core.Text.Durations.Format(_options.AttemptTimeout)} in {_options.MaxAttempts} attempts" : e.Message);
        }
    }

    public void Dispose() => _s3.Dispose();

    public string Location => $"s3://{_options.Bucket}/{RootPrefix}";

    /// <summary>Whether the bucket holds a finished run with this id (its run.json).</summary>
    public Task<bool> HasRunAsync(string runId, CancellationToken ct) =>
        _retry.ExecuteAsync(async token => await ExistsAsync($"{RootPrefix}{runId}/run.json", token).ConfigureAwait(false), ct).AsTask();

    public async Task<IReadOnlyList<History.RunSummary>> ListAsync(CancellationToken ct)
    {
        var root = RootPrefix;
        var objects = await KeysUnderAsync(root, ct).ConfigureAwait(false);
        var all = objects.Select(o => o.Key).ToList();
        var small = objects.Where(o => o.Size <= MaxSummaryBytes).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        var whole = all.Where(k => k.EndsWith("/run.json", StringComparison.Ordinal)).Select(k => k[..^"run.json".Length]).ToHashSet(StringComparer.Ordinal);
        // A run is listed once its run.json is there (stored last): a store cut short is not a run.
        var keys = all.Where(k => k.EndsWith("/" + History.RunSummary.FileName, StringComparison.Ordinal) && k.Count(c => c == '/') == root.Count(c => c == '/') + 1
            && whole.Contains(k[..^History.RunSummary.FileName.Length]) && small.Contains(k));
        var summaries = new List<History.RunSummary>();
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            try
            {
                var summary = await _retry.ExecuteAsync(
                    async token =>
                    {
                        using var obj = await _s3.GetObjectAsync(_options.Bucket, key, token).ConfigureAwait(false);
                        return await System.Text.Json.JsonSerializer.DeserializeAsync<History.RunSummary>(obj.ResponseStream, RunRecordJson.ReadOptions, token).ConfigureAwait(false);
                    },
                    ct).ConfigureAwait(false);
                if (summary is not null && RunNames.IsRunId(summary.RunId) && key == $"{root}{summary.RunId}/{History.RunSummary.FileName}")
                {
                    summaries.Add(summary);
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // A foreign or damaged object is not a run, as in the local folder.
            }
        }

        return summaries;
    }

    public async Task<bool> PullAsync(string runId, string root, CancellationToken ct)
    {
        if (!RunNames.IsRunId(runId) || !await HasRunAsync(runId, ct).ConfigureAwait(false))
        {
            return false;
        }

        var dir = Path.Combine(root, runId);
        if (File.Exists(Path.Combine(dir, "run.json")))
        {
            // The same id in both places must be the same run: a tag sent back must never land on another run.
            var local = await RunRecordJson.ReadAsync(Path.Combine(dir, "run.json"), ct).ConfigureAwait(false);
            var stored = await _retry.ExecuteAsync(
                async token =>
                {
                    using var obj = await _s3.GetObjectAsync(_options.Bucket, $"{RootPrefix}{runId}/run.json", token).ConfigureAwait(false);
                    using var reader = new StreamReader(obj.ResponseStream);
                    return RunRecordJson.Deserialize(await reader.ReadToEndAsync(token).ConfigureAwait(false));
                },
                ct).ConfigureAwait(false);
            if (stored.RunId != local.RunId || stored.PlanName != local.PlanName || stored.Environment.StartedUtc != local.Environment.StartedUtc)
            {
                throw new InvalidDataException($"run {runId} in {root} is not the run {runId} in {Location} (plan '{local.PlanName}' started {local.Environment.StartedUtc:u} here, '{stored.PlanName}' started {stored.Environment.StartedUtc:u} there): nothing changed in either");
            }

            // The store's tags are the shared ones: a folder that lives on (a Jenkins workspace) may hold stale ones,
            // which a tag sent back from here would otherwise restore (a second baseline).
            if (!stored.Tags.SequenceEqual(local.Tags, StringComparer.Ordinal))
            {
                using var held = Journal.RunJournal.Exists(dir) ? Journal.RunJournalWriter.Hold(dir) : null;
                if (held is not null)
                {
                    Journal.RunJournalWriter.AppendTo(dir, new Journal.JournalTags { Tags = stored.Tags });
                }

                var refreshed = local with { Tags = stored.Tags };
                await RunRecordJson.WriteAsync(refreshed, Path.Combine(dir, "run.json"), ct).ConfigureAwait(false);
                await new Writers.RunSummaryWriter().WriteAsync(refreshed, dir, ct).ConfigureAwait(false);
            }

            return true;
        }

        // Into a temporary folder first, then moved: a pull cut short never leaves a half run that looks whole.
        var prefix = $"{RootPrefix}{runId}/";
        var partial = Path.Combine(root, $".pull-{runId}-{Guid.NewGuid():N}");
        try
        {
            var objects = await KeysUnderAsync(prefix, ct).ConfigureAwait(false);
            if (objects.FirstOrDefault(o => o.Key == prefix + "run.json") is { Size: > MaxRecordBytes } huge)
            {
                throw new InvalidDataException($"{Location}{runId}/run.json is {huge.Size / (1024 * 1024)} MiB, more than the {MaxRecordBytes / (1024 * 1024)} MiB a run record may be: not used");
            }

            if (objects.Sum(o => o.Size) > MaxRunBytes)
            {
                throw new InvalidDataException($"{Location}{runId}/ holds {objects.Sum(o => o.Size) / (1024 * 1024)} MiB, more than the {MaxRunBytes / (1024 * 1024)} MiB a run may be copied with: not used");
            }

            foreach (var key in objects.Select(o => o.Key))
            {
                var relative = key[prefix.Length..];
                var target = Path.GetFullPath(Path.Combine(partial, relative));
                if (relative.Length == 0 || relative.EndsWith('/') || !target.StartsWith(partial + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    continue; // a key that would land outside the run's folder is not the run's
                }

                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    await _retry.ExecuteAsync(
                        async token =>
                        {
                            using var obj = await _s3.GetObjectAsync(_options.Bucket, key, token).ConfigureAwait(false);
                            await using var file = File.Create(target);
                            await obj.ResponseStream.CopyToAsync(file, token).ConfigureAwait(false);
                        },
                        ct).ConfigureAwait(false);
                }
                catch (IOException) when (relative is not ("run.json" or History.RunSummary.FileName))
                {
                    // A stray object that cannot be a file here (a name too long, a file and a folder of one name) is
                    // not the run's; the run's own record is.
                }
            }

            // What came down must be the run it was asked for.
            RunRecord pulled;
            try
            {
                pulled = await RunRecordJson.ReadAsync(Path.Combine(partial, "run.json"), ct).ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{Location}{runId}/run.json is not a run record this version reads ({e.Message.ReplaceLineEndings(" ")}): not used", e);
            }

            if (pulled.RunId != runId)
            {
                throw new InvalidDataException($"{Location}{runId}/run.json holds run '{pulled.RunId}', not {runId}: not used");
            }

            if (!Directory.Exists(dir))
            {
                Directory.Move(partial, dir);
            }

            return true;
        }
        finally
        {
            if (Directory.Exists(partial))
            {
                Directory.Delete(partial, recursive: true);
            }
        }
    }

    public async Task PushTagsAsync(string runId, string root, CancellationToken ct)
    {
        var dir = Path.Combine(root, runId);
        string[] changed = ["run.json", History.RunSummary.FileName, Path.Combine(Journal.RunJournalWriter.FolderName, Journal.RunJournalWriter.EntriesFile)];
        foreach (var relative in changed.Where(f => File.Exists(Path.Combine(dir, f))))
        {
            await _retry.ExecuteAsync(
                async token => await _s3.PutObjectAsync(
                    new PutObjectRequest
                    {
                        BucketName = _options.Bucket,
                        Key = $"{RootPrefix}{runId}/{relative.Replace('\\', '/')}",
                        FilePath = Path.Combine(dir, relative),
                        ContentType = ContentType(relative),
                        UseChunkEncoding = false,
                    },
                    token).ConfigureAwait(false),
                ct).ConfigureAwait(false);
        }

        await UpdateIndexAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The most a run-summary.json, a run.json and a whole run may weigh to be listed or copied (a 24-hour soak's run.json is ~16 MiB).</summary>
    private const long MaxSummaryBytes = 1024 * 1024;
    private const long MaxRecordBytes = 128L * 1024 * 1024;
    private const long MaxRunBytes = 4L * 1024 * 1024 * 1024;

    private async Task<List<(string Key, long Size)>> KeysUnderAsync(string prefix, CancellationToken ct)
    {
        var keys = new List<(string Key, long Size)>();
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = prefix };
        ListObjectsV2Response page;
        do
        {
            page = await _retry.ExecuteAsync(async token => await _s3.ListObjectsV2Async(request, token).ConfigureAwait(false), ct).ConfigureAwait(false);
            keys.AddRange((page.S3Objects ?? []).Select(o => (o.Key, o.Size ?? 0)));
            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);

        return keys;
    }

    /// <summary>
    /// Whether the object is there, by listing its exact key: a HEAD of a missing key answers 403 to a role that may
    /// list only under a prefix (the least-privilege policy in infra/), where a listing answers.
    /// </summary>
    private async Task<bool> ExistsAsync(string key, CancellationToken ct)
    {
        var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = key, MaxKeys = 10 }, ct).ConfigureAwait(false);
        return (page.S3Objects ?? []).Any(o => o.Key == key);
    }

    private static readonly TimeSpan MaxLinkExpiry = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1);

    /// <summary>Most runs the bucket's index lists (the newest).</summary>
    public const int IndexedRuns = 200;

    private string RootPrefix => _options.Prefix.Trim('/').Length == 0 ? string.Empty : _options.Prefix.Trim('/') + "/";

    private Task<string> PresignAsync(string key) => _s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
    {
        BucketName = _options.Bucket,
        Key = key,
        // SigV4 links live at most 7 days; asked for exactly that, the SDK can fall back to a SigV2 link,
        // which newer buckets refuse. A minute's margin keeps every link SigV4.
        Expires = _time.GetUtcNow().UtcDateTime.Add(_options.LinkExpiry < MaxLinkExpiry ? _options.LinkExpiry : MaxLinkExpiry),
        Verb = HttpVerb.GET,
        Protocol = _options.ServiceUrl?.Scheme == Uri.UriSchemeHttp ? Protocol.HTTP : Protocol.HTTPS,
    });

    /// <summary>
    /// Rebuilds PREFIX/index.html from the run-summary.json of the runs in the bucket, with presigned links
    /// (a private bucket has no other working links), and returns a presigned link to it.
    /// </summary>
    private async Task<string> UpdateIndexAsync(CancellationToken ct)
    {
        var root = RootPrefix;
        var summaries = (await ListAsync(ct).ConfigureAwait(false)).OrderByDescending(r => r.StartedUtc).Take(IndexedRuns);
        var newestFirst = summaries.OrderByDescending(r => r.StartedUtc).ThenByDescending(r => r.RunId, StringComparer.Ordinal).ToList();
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in newestFirst)
        {
            links[r.RunId] = await PresignAsync($"{root}{r.RunId}/index.html").ConfigureAwait(false);
        }

        var html = History.RunsIndexPage.Render(newestFirst, r => links[r.RunId]);
        await _retry.ExecuteAsync(
            async token => await _s3.PutObjectAsync(
                new PutObjectRequest { BucketName = _options.Bucket, Key = root + "index.html", ContentBody = html, ContentType = ContentType("index.html"), UseChunkEncoding = false },
                token).ConfigureAwait(false),
            ct).ConfigureAwait(false);
        return await PresignAsync(root + "index.html").ConfigureAwait(false);
    }

    internal static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".json" => "application/json",
        ".md" => "text/markdown; charset=utf-8",
        ".xml" => "application/xml",
        ".log" or ".txt" => "text/plain; charset=utf-8",
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private static bool IsTransient(Exception e) => e switch
    {
        AmazonServiceException s => s.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout
            or (HttpStatusCode)429 || s.InnerException is HttpRequestException or IOException,
        AmazonClientException or HttpRequestException or IOException => true,
        _ => S3Clients.IsMalformedAnswer(e),
    };
}
