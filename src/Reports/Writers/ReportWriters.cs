using Microsoft.Extensions.Logging;
using Constellation.Core.Results;
using Constellation.Reports.Html;

namespace Constellation.Reports.Writers;

/// <summary>Writes one output of a run into its folder.</summary>
public interface IReportWriter
{
    /// <summary>The file it writes, for messages.</summary>
    string FileName { get; }

    Task WriteAsync(RunRecord record, string directory, CancellationToken ct);
}

/// <summary>run.json, the canonical record.</summary>
public sealed class RunJsonWriter : IReportWriter
{
    public string FileName => "run.json";

    public Task WriteAsync(RunRecord record, string directory, CancellationToken ct) =>
        RunRecordJson.WriteAsync(record, Path.Combine(directory, FileName), ct);
}

/// <summary>summary.md, for CI step summaries and PR comments.</summary>
public sealed class SummaryMarkdownWriter : IReportWriter
{
    public string FileName => "summary.md";

    public Task WriteAsync(RunRecord record, string directory, CancellationToken ct) =>
        File.WriteAllTextAsync(Path.Combine(directory, FileName), SummaryMarkdown.Render(record), ct);
}

/// <summary>junit.xml, for CI test reporters.</summary>
public sealed class JUnitWriter : IReportWriter
{
    public string FileName => "junit.xml";

    public Task WriteAsync(RunRecord record, string directory, CancellationToken ct) =>
        File.WriteAllTextAsync(Path.Combine(directory, FileName), JUnit.JUnitReport.Render(record), ct);
}

/// <summary>run-summary.json: the key numbers the runs index and trends read without parsing run.json.</summary>
public sealed class RunSummaryWriter : IReportWriter
{
    public string FileName => History.RunSummary.FileName;

    public async Task WriteAsync(RunRecord record, string directory, CancellationToken ct)
    {
        await using var stream = File.Create(Path.Combine(directory, FileName));
        await System.Text.Json.JsonSerializer.SerializeAsync(stream, History.RunSummary.From(record), RunRecordJson.Options, ct).ConfigureAwait(false);
    }
}

/// <summary>index.html, the self-contained report.</summary>
public sealed class HtmlReportWriter : IReportWriter
{
    public string FileName => "index.html";

    public Task WriteAsync(RunRecord record, string directory, CancellationToken ct) =>
        File.WriteAllTextAsync(Path.Combine(directory, FileName), HtmlReport.Render(record), ct);
}

/// <summary>
/// Runs every writer; one that fails is reported and the others still run, so a broken chart never costs
/// the run.json. Returns the failures.
/// </summary>
public sealed class CompositeReportWriter(IReadOnlyList<IReportWriter> writers)
{
    /// <summary>run.json, run-summary.json, summary.md, junit.xml and index.html.</summary>
    public static CompositeReportWriter Default { get; } = new([new RunJsonWriter(), new RunSummaryWriter(), new SummaryMarkdownWriter(), new JUnitWriter(), new HtmlReportWriter()]);

    /// <summary>Everything rendered from run.json (for `constellation report`).</summary>
    public static CompositeReportWriter Renderers { get; } = new([new RunSummaryWriter(), new SummaryMarkdownWriter(), new JUnitWriter(), new HtmlReportWriter()]);

    public IReadOnlyList<IReportWriter> Writers => writers;

    public async Task<IReadOnlyList<string>> WriteAsync(RunRecord record, string directory, ILogger log, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var failures = new List<string>();
        foreach (var w in writers)
        {
            try
            {
                await w.WriteAsync(record, directory, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var message = $"could not write {w.FileName}: {e.Message}";
                failures.Add(message);
                log.WriterFailed(message);
            }
        }

        return failures;
    }
}
