using Constellation.Core.Results;

namespace Constellation.Reports.History;

/// <summary>
/// Finds the run to compare with: a run id, <c>latest-passed</c> (the newest completed run of the same plan
/// whose gate did not fail) or <c>tag:NAME</c> (the newest run carrying that tag, of the same plan when there is one).
/// Tags are kept in run.json and run-summary.json; <c>promote</c> moves the <c>baseline</c> tag to one run of a plan.
/// With a remote store (<see cref="IRemoteRuns"/>, the S3 store) its runs count too: the run picked is brought into the
/// local runs folder, and a changed tag is sent back, so a fresh CI workspace finds last night's baseline.
/// </summary>
public static class Baselines
{
    public const string PromotedTag = "baseline";

    /// <summary>The baseline's record (null when none matched) and its folder (its journal holds its per-second histograms).</summary>
    public sealed record Found(RunRecord? Record, string Message)
    {
        public string? Directory { get; init; }
    }

    public static async Task<Found> ResolveAsync(string root, string spec, string? planName, string? excludeRunId, CancellationToken ct, IRemoteRuns? remote = null)
    {
        var runs = (await RunCatalog.LoadAsync(root, remote, ct).ConfigureAwait(false)).Where(r => r.RunId != excludeRunId).ToList();
        var where = remote is null ? root : $"{root} or {remote.Location}";
        var pick = Pick(runs, spec, planName);
        if (pick is null)
        {
            return new Found(null, $"no run in {where} matches '{spec}'{(planName is null || !spec.Contains(':') && spec != "latest-passed" ? string.Empty : $" for plan '{planName}'")}");
        }

        var path = Path.Combine(root, pick.RunId, "run.json");
        if (!File.Exists(path) && remote is not null)
        {
            await remote.PullAsync(pick.RunId, root, ct).ConfigureAwait(false);
        }

        if (!File.Exists(path))
        {
            return new Found(null, $"run {pick.RunId} has no run.json in {where}");
        }

        return new Found(await RunRecordJson.ReadAsync(path, ct).ConfigureAwait(false), $"{pick.RunId} ({spec})") { Directory = Path.Combine(root, pick.RunId) };
    }

    /// <summary>The run <paramref name="spec"/> names among <paramref name="newestFirst"/>, or null.</summary>
    public static RunSummary? Pick(IReadOnlyList<RunSummary> newestFirst, string spec, string? planName)
    {
        if (spec == "latest-passed")
        {
            return newestFirst.FirstOrDefault(r => (planName is null || r.PlanName == planName) && r.Outcome == RunVerdict.Passed);
        }

        if (spec.StartsWith("tag:", StringComparison.Ordinal))
        {
            var tag = spec[4..];
            var tagged = newestFirst.Where(r => r.Tags.Contains(tag, StringComparer.Ordinal)).ToList();
            return tagged.FirstOrDefault(r => r.PlanName == planName) ?? tagged.FirstOrDefault();
        }

        return newestFirst.FirstOrDefault(r => r.RunId == spec);
    }

    /// <summary>Adds (or removes) a tag on a stored run: run.json and run-summary.json are rewritten (and sent back to the remote store).</summary>
    public static Task<RunRecord> TagAsync(string root, string runId, string tag, bool remove, CancellationToken ct, IRemoteRuns? remote = null) =>
        TagAsync(root, runId, tag, remove, remote, localOnlyIsFine: false, ct);

    /// <summary>
    /// With a remote store, a run must be there to be tagged (a run whose upload failed is refused, so a CI job never
    /// promotes a baseline the next job cannot find) — unless <paramref name="localOnlyIsFine"/> (taking a tag off).
    /// </summary>
    private static async Task<RunRecord> TagAsync(string root, string runId, string tag, bool remove, IRemoteRuns? remote, bool localOnlyIsFine, CancellationToken ct)
    {
        if (!RunNames.IsRunId(runId))
        {
            throw new ArgumentException($"a run id holds {RunNames.RunIdRule}, got '{runId}'", nameof(runId));
        }

        if (!RunNames.IsTag(tag))
        {
            throw new ArgumentException($"a tag is {RunNames.TagRule}, got '{tag}'", nameof(tag));
        }

        var dir = Path.Combine(root, runId);
        var path = Path.Combine(dir, "run.json");
        // A run the store has is tagged there too; a run only this folder has stays only here.
        bool stored = remote is not null && await remote.PullAsync(runId, root, ct).ConfigureAwait(false);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no run '{runId}' in {root}{(remote is null ? string.Empty : $" or {remote.Location}")}", path);
        }

        if (remote is not null && !stored && !localOnlyIsFine)
        {
            throw new FileNotFoundException($"run '{runId}' is in {root} but not in {remote.Location} (its upload failed, or it ran without the bucket; see 'stores' in its run.json): nothing tagged", path);
        }

        // The journal's lock for the whole change: never while the run is still being written, never two at once.
        using var held = Journal.RunJournal.Exists(dir) ? Journal.RunJournalWriter.Hold(dir) : null;
        var record = await RunRecordJson.ReadAsync(path, ct).ConfigureAwait(false);
        var tags = record.Tags.Where(t => t != tag).ToList();
        if (!remove)
        {
            tags.Add(tag);
        }

        record = record with { Tags = tags };
        if (Journal.RunJournal.Exists(dir))
        {
            // The journal stays the run's whole story: a rebuilt run.json keeps the tags.
            Journal.RunJournalWriter.AppendTo(dir, new Journal.JournalTags { Tags = tags });
        }

        await RunRecordJson.WriteAsync(record, path, ct).ConfigureAwait(false);
        await new Writers.RunSummaryWriter().WriteAsync(record, dir, ct).ConfigureAwait(false);
        if (stored)
        {
            await remote!.PushTagsAsync(runId, root, ct).ConfigureAwait(false);
        }

        return record;
    }

    /// <summary>Makes a run its plan's baseline: it gets the baseline tag, every other run of the plan loses it.</summary>
    public static async Task<RunRecord> PromoteAsync(string root, string runId, CancellationToken ct, IRemoteRuns? remote = null)
    {
        var record = await TagAsync(root, runId, PromotedTag, remove: false, remote, localOnlyIsFine: false, ct).ConfigureAwait(false);
        foreach (var other in await RunCatalog.LoadAsync(root, remote, ct).ConfigureAwait(false))
        {
            if (other.RunId != runId && other.PlanName == record.PlanName && other.Tags.Contains(PromotedTag))
            {
                await TagAsync(root, other.RunId, PromotedTag, remove: true, remote, localOnlyIsFine: true, ct).ConfigureAwait(false);
            }
        }

        return record;
    }
}
