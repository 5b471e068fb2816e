namespace Constellation.Reports.History;

/// <summary>
/// A shared copy of the runs folder — the S3 store — for a workspace that starts empty (a CI job): its runs'
/// summaries, one run brought into the local runs folder, and a run's tags sent back. The measurements of a stored
/// run never change; its tags (run.json's and run-summary.json's <c>tags</c>) are the one thing that does.
/// </summary>
public interface IRemoteRuns
{
    /// <summary>Where the runs are, for messages: <c>s3://bucket/prefix/</c>.</summary>
    string Location { get; }

    /// <summary>The stored runs' summaries (order does not matter).</summary>
    Task<IReadOnlyList<RunSummary>> ListAsync(CancellationToken ct);

    /// <summary>
    /// Whether the store has <paramref name="runId"/>; when it has and ROOT does not, the run's folder (its report and
    /// journal too) is copied into ROOT/RUN-ID/. A run ROOT holds under the same id must be the same run (else
    /// <see cref="InvalidDataException"/>).
    /// </summary>
    Task<bool> PullAsync(string runId, string root, CancellationToken ct);

    /// <summary>Sends ROOT/RUN-ID's run.json, run-summary.json and journal entries back (its tags changed) and refreshes the store's index.</summary>
    Task PushTagsAsync(string runId, string root, CancellationToken ct);
}

/// <summary>
/// The local runs folder and, when there is one, the remote store: every run once, newest first. A run in both is
/// the store's copy (its tags are the shared ones: a workspace that lives on, as Jenkins' does, may hold stale tags).
/// </summary>
public static class RunCatalog
{
    public static async Task<IReadOnlyList<RunSummary>> LoadAsync(string root, IRemoteRuns? remote, CancellationToken ct)
    {
        var local = await RunHistory.LoadAsync(root, ct).ConfigureAwait(false);
        if (remote is null)
        {
            return local;
        }

        var stored = (await remote.ListAsync(ct).ConfigureAwait(false)).Where(r => r.IsPlausible()).ToList();
        var ids = stored.Select(r => r.RunId).ToHashSet(StringComparer.Ordinal);
        return [.. stored.Concat(local.Where(r => !ids.Contains(r.RunId)))
            .OrderByDescending(r => r.StartedUtc).ThenByDescending(r => r.RunId, StringComparer.Ordinal)];
    }
}
