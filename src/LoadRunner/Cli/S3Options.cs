using System.CommandLine;
using Constellation.Reports.Stores;

namespace Constellation.LoadRunner.Cli;

/// <summary>
/// Where a run is stored in S3 (the run command's --s3-* options); <c>CallTimeout</c> is --s3-timeout when given,
/// which also bounds each call of an S3 exchange.
/// </summary>
internal sealed record S3Settings(string? Bucket, string Prefix, Uri? Endpoint, string? Region, TimeSpan? CallTimeout);

/// <summary>
/// The --s3-* options, alike on every command that stores or reads runs (run, compare, runs list/tag/promote), each
/// defaulting to its CONSTELLATION_S3_* variable: a CI job sets them once in its environment.
/// </summary>
internal sealed class S3Options
{
    public S3Options(CliContext ctx, string bucketDescription)
    {
        Bucket = new Option<string?>("--s3-bucket") { Description = $"{bucketDescription} (standard AWS credential chain). Default: $CONSTELLATION_S3_BUCKET.", DefaultValueFactory = _ => ctx.Environment("CONSTELLATION_S3_BUCKET") };
        Prefix = new Option<string>("--s3-prefix") { Description = "Key prefix; a run is PREFIX/RUN-ID/. Default: $CONSTELLATION_S3_PREFIX or constellation/runs.", DefaultValueFactory = _ => ctx.Environment("CONSTELLATION_S3_PREFIX") ?? "constellation/runs" };
        Region = new Option<string?>("--s3-region") { Description = "AWS region. Default: $AWS_REGION, else us-east-1." };
        Endpoint = CliOptions.HttpUrl("--s3-endpoint", "An S3-compatible endpoint instead of AWS (MinIO, s3rver). Default: $CONSTELLATION_S3_ENDPOINT.", () => ctx.Environment("CONSTELLATION_S3_ENDPOINT"));
        Timeout = CliOptions.Duration("--s3-timeout", "How long one S3 request may take before it is retried (4 attempts); storing a run gives up after all of them and records why.", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
    }

    public Option<string?> Bucket { get; }

    public Option<string> Prefix { get; }

    public Option<string?> Region { get; }

    public Option<Uri?> Endpoint { get; }

    public Option<Shown<TimeSpan>> Timeout { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Bucket);
        command.Options.Add(Prefix);
        command.Options.Add(Region);
        command.Options.Add(Endpoint);
        command.Options.Add(Timeout);
    }

    public S3Settings Read(ParseResult pr) =>
        new(pr.GetValue(Bucket) is { Length: > 0 } b ? b : null, pr.GetValue(Prefix)!, pr.GetValue(Endpoint), pr.GetValue(Region), pr.GetResult(Timeout) is null ? null : pr.GetValue(Timeout).Value);

    /// <summary>The S3 store, when a bucket is given; null otherwise. <paramref name="linkExpiry"/>: how long its presigned links work.</summary>
    public S3RunStore? Store(ParseResult pr, CliContext ctx, TimeSpan? linkExpiry = null)
    {
        var s3 = Read(pr);
        if (s3.Bucket is not { } bucket)
        {
            return null;
        }

        var attempt = pr.GetValue(Timeout).Value;
        var options = new S3StoreOptions { Bucket = bucket, Prefix = s3.Prefix, Region = s3.Region, ServiceUrl = s3.Endpoint, AttemptTimeout = attempt };
        return new S3RunStore(options with { LinkExpiry = linkExpiry ?? options.LinkExpiry, Deadline = (attempt * options.MaxAttempts) + TimeSpan.FromSeconds(30) }, ctx.Log, time: ctx.Time);
    }
}
