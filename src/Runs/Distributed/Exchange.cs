using System.Net;
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

    /// <summary>The keys under <paramref name="prefix"/> after <paramref name="startAfter"/>, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, string? startAfter, CancellationToken ct);

    /// <summary>Opens a folder path or an s3://bucket/prefix location.</summary>
    static IExchange Open(string location, Uri? s3Endpoint = null, string? s3Region = null) =>
        location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)
            ? S3Exchange.Parse(location, s3Endpoint, s3Region)
            : new FolderExchange(location);
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
    public string Location => $"s3://{bucket}/{prefix}";

    public static S3Exchange Parse(string location, Uri? endpoint, string? region)
    {
        var rest = location["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? string.Empty : rest[(slash + 1)..].Trim('/');
        if (bucket.Length == 0)
        {
            throw new ArgumentException($"an S3 exchange is s3://BUCKET/PREFIX, got '{location}'", nameof(location));
        }

        return new S3Exchange(Reports.Stores.S3Clients.Create(region, endpoint), bucket, prefix);
    }

    public async Task PutAsync(string key, byte[] content, CancellationToken ct)
    {
        using var body = new MemoryStream(content);
        await s3.PutObjectAsync(
            new PutObjectRequest { BucketName = bucket, Key = KeyOf(key), InputStream = body, ContentType = "application/json", UseChunkEncoding = false },
            ct).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        try
        {
            using var response = await s3.GetObjectAsync(bucket, KeyOf(key), ct).ConfigureAwait(false);
            using var copy = new MemoryStream();
            await response.ResponseStream.CopyToAsync(copy, ct).ConfigureAwait(false);
            return copy.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task DeleteAsync(string key, CancellationToken ct) => s3.DeleteObjectAsync(bucket, KeyOf(key), ct);

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
