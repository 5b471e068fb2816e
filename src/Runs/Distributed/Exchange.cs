using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Constellation.Runs.Distributed;

/// <summary>
/// Where a distributed run's coordinator and agents meet: a plain key/value store of small JSON documents — a
/// folder locally, a prefix in S3 on EKS. No agent ever talks to another or to the coordinator directly; each
/// writes its own keys and reads the coordinator's.
/// </summary>
public interface IExchange : IDisposable
{
    /// <summary>The location as given to agents: a folder path or s3://bucket/prefix.</summary>
    string Location { get; }

    /// <summary>Writes a document whole; a reader sees either the old or the new one, never half.</summary>
    Task PutAsync(string key, byte[] content, CancellationToken ct);

    /// <summary>The document, or null when there is none (yet).</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken ct);

    /// <summary>Removes a document if it is there.</summary>
    Task DeleteAsync(string key, CancellationToken ct);

    /// <summary>Removes every document of the run: the exchange lives as long as its run.</summary>
    Task DeleteAllAsync(CancellationToken ct);

    /// <summary>The keys under <paramref name="prefix"/> after <paramref name="startAfter"/>, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, string? startAfter, CancellationToken ct);

    /// <summary>Opens a folder path or an s3://bucket/prefix location; <paramref name="s3CallTimeout"/> bounds each S3 call.</summary>
    static IExchange Open(string location, Uri? s3Endpoint = null, string? s3Region = null, TimeSpan? s3CallTimeout = null) =>
        location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)
            ? S3Exchange.Parse(location, s3Endpoint, s3Region, s3CallTimeout)
            : new FolderExchange(location);

    /// <summary>Why a location cannot be an exchange (an s3:// location without a valid bucket, an empty path), or null.</summary>
    static string? Problem(string location)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            return "an exchange is a folder or s3://BUCKET/PREFIX, got nothing";
        }

        if (!location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var bucket = location["s3://".Length..].Split('/')[0];
        return bucket.Length is >= 3 and <= 63 && bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-') && char.IsAsciiLetterOrDigit(bucket[0])
            ? null
            : $"an S3 exchange is s3://BUCKET/PREFIX with a bucket name of 3 to 63 lowercase letters, digits, '.' and '-', got '{location}'";
    }
}

/// <summary>A folder on this machine: documents are files, written to a temporary name and renamed into place.</summary>
public sealed class FolderExchange(string root) : IExchange
{
    public string Location { get; } = Path.GetFullPath(root);

    public async Task PutAsync(string key, byte[] content, CancellationToken ct)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        await File.WriteAllBytesAsync(tmp, content, ct).ConfigureAwait(false);
        File.Move(tmp, path, overwrite: true);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllBytesAsync(PathOf(key), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        File.Delete(PathOf(key));
        return Task.CompletedTask;
    }

    public Task DeleteAllAsync(CancellationToken ct)
    {
        if (Directory.Exists(Location))
        {
            Directory.Delete(Location, recursive: true);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, string? startAfter, CancellationToken ct)
    {
        var dir = PathOf(prefix.TrimEnd('/'));
        if (!Directory.Exists(dir))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        IReadOnlyList<string> keys = [.. Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Location, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(k => startAfter is null || string.CompareOrdinal(k, startAfter) > 0)
            .Order(StringComparer.Ordinal)];
        return Task.FromResult(keys);
    }

    public void Dispose()
    {
    }

    private string PathOf(string key) => Path.Combine(Location, key.Replace('/', Path.DirectorySeparatorChar));
}

/// <summary>A prefix in an S3 bucket (or an S3-compatible server): what agents in a Kubernetes Job can all reach.</summary>
public sealed class S3Exchange(IAmazonS3 s3, string bucket, string prefix) : IExchange
{
    /// <summary>How long one S3 call of the exchange may take unless told (run --s3-timeout). Default: 10s.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    public string Location => $"s3://{bucket}/{prefix}";

    public static S3Exchange Parse(string location, Uri? endpoint, string? region, TimeSpan? callTimeout = null)
    {
        var rest = location["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? string.Empty : rest[(slash + 1)..].Trim('/');
        if (bucket.Length == 0)
        {
            throw new ArgumentException($"an S3 exchange is s3://BUCKET/PREFIX, got '{location}'", nameof(location));
        }

        // Every call has a deadline: a hung S3 must not hang a coordinator or an agent (each retries on its next tick).
        return new S3Exchange(Reports.Stores.S3Clients.Create(region, endpoint, attemptTimeout: callTimeout ?? CallTimeout), bucket, prefix);
    }

    public Task PutAsync(string key, byte[] content, CancellationToken ct) => Guard(
        $"writing {key}",
        async token =>
        {
            using var body = new MemoryStream(content);
            await s3.PutObjectAsync(
                new PutObjectRequest { BucketName = bucket, Key = KeyOf(key), InputStream = body, ContentType = "application/json", UseChunkEncoding = false },
                token).ConfigureAwait(false);
            return true;
        },
        ct);

    public Task<byte[]?> GetAsync(string key, CancellationToken ct) => Guard(
        $"reading {key}",
        async token =>
        {
            try
            {
                using var response = await s3.GetObjectAsync(bucket, KeyOf(key), token).ConfigureAwait(false);
                using var copy = new MemoryStream();
                await response.ResponseStream.CopyToAsync(copy, token).ConfigureAwait(false);
                return copy.ToArray();
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        },
        ct);

    /// <summary>
    /// A call with a few quick retries for what is passing (a response caught mid-overwrite fails its checksum or
    /// carries a cut ETag, a connection drops, an attempt times out); what still fails is an <see cref="IOException"/>, which every caller
    /// of the exchange treats as "try again on the next tick".
    /// </summary>
    private static async Task<T> Guard<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested
                && (e is AmazonClientException or HttpRequestException or IOException or OperationCanceledException or TimeoutException
                    || (e is AmazonServiceException s && (int)s.StatusCode >= 500) || Reports.Stores.S3Clients.IsMalformedAnswer(e)))
            {
                if (attempt >= 3)
                {
                    throw new IOException($"{what} in the S3 exchange failed {attempt} times: {e.Message}", e);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public Task DeleteAsync(string key, CancellationToken ct) => s3.DeleteObjectAsync(bucket, KeyOf(key), ct);

    public async Task DeleteAllAsync(CancellationToken ct)
    {
        var keys = await ListAsync(string.Empty, null, ct).ConfigureAwait(false);
        foreach (var batch in keys.Chunk(1000))
        {
            try
            {
                await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = bucket, Objects = [.. batch.Select(k => new KeyVersion { Key = KeyOf(k) })] }, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.NotFound))
            {
                // Some S3-compatible servers (s3rver) do not take multi-object deletes: one at a time then.
                foreach (var key in batch)
                {
                    await s3.DeleteObjectAsync(bucket, KeyOf(key), ct).ConfigureAwait(false);
                }
            }
        }
    }

    public async Task<IReadOnlyList<string>> ListAsync(string listPrefix, string? startAfter, CancellationToken ct)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = KeyOf(listPrefix), StartAfter = startAfter is null ? null : KeyOf(startAfter) };
        ListObjectsV2Response response;
        do
        {
            response = await s3.ListObjectsV2Async(request, ct).ConfigureAwait(false);
            keys.AddRange((response.S3Objects ?? []).Select(o => prefix.Length == 0 ? o.Key : o.Key[(prefix.Length + 1)..]));
            request.ContinuationToken = response.NextContinuationToken;
        }
        while (response.IsTruncated == true);
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    public void Dispose() => s3.Dispose();

    private string KeyOf(string key) => prefix.Length == 0 ? key : $"{prefix}/{key}";
}
