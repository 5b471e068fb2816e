namespace Constellation.Reports.History;

/// <summary>The runs kept under a runs folder (artifacts/runs by default), newest first.</summary>
public static class RunHistory
{
    public static async Task<IReadOnlyList<RunSummary>> LoadAsync(string root, CancellationToken ct)
    {
        if (!Directory.Exists(root))
        {
            return [];
        }

        var runs = new List<RunSummary>();
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            if (Path.GetFileName(dir).StartsWith('.'))
            {
                continue; // a run being pulled from a store (.pull-…), or anything hidden: not a run
            }

            if (await RunSummary.TryReadAsync(dir, ct).ConfigureAwait(false) is { } summary)
            {
                // A copy of a run under another folder name is listed too; its report is in its own folder.
                runs.Add(summary with { Folder = Path.GetFileName(dir) });
            }
        }

        return [.. runs.OrderByDescending(r => r.StartedUtc).ThenByDescending(r => r.RunId, StringComparer.Ordinal)];
    }
}

/// <summary>Writes the runs index (index.html) at the root of a runs folder.</summary>
public static class RunsIndexWriter
{
    public static async Task<string> WriteAsync(string root, CancellationToken ct)
    {
        var runs = await RunHistory.LoadAsync(root, ct).ConfigureAwait(false);
        var path = Path.Combine(root, "index.html");
        await File.WriteAllTextAsync(path, RunsIndexPage.Render(runs), ct).ConfigureAwait(false);
        return path;
    }
}
