using Constellation.Reports.Journal;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>At start, before any job runs: runs interrupted by a crash or a restart become aborted runs; every plan gets its dashboard button.</summary>
public sealed partial class RecoveryService(PlanCatalog plans, IOptions<ServiceOptions> options, ILogger<RecoveryService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var id in await RecoverAsync(options.Value.RunsFolder, logger, cancellationToken).ConfigureAwait(false))
        {
            Interrupted(logger, id);
        }

        plans.Sync(); // the buttons exist before the dashboard is served; PlanCatalog keeps them in step after
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Every run folder with a journal and no run.json was interrupted: its record is built from the journal (status
    /// aborted, every second up to the last one journaled) and its outputs are written. Returns their ids.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RecoverAsync(string runsFolder, ILogger logger, CancellationToken ct)
    {
        var recovered = new List<string>();
        if (!Directory.Exists(runsFolder))
        {
            return recovered;
        }

        foreach (var dir in Directory.GetDirectories(runsFolder))
        {
            if (!RunJournal.Exists(dir) || RunJournal.IsLive(dir) || File.Exists(Path.Combine(dir, "run.json")))
            {
                continue;
            }

            try
            {
                var record = RunJournal.Read(dir);
                await Reports.Writers.CompositeReportWriter.Default.WriteAsync(record, dir, logger, ct).ConfigureAwait(false);
                recovered.Add(record.RunId);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
            {
                CannotRecover(logger, Path.GetFileName(dir), e.Message);
            }
        }

        if (recovered.Count > 0)
        {
            await Reports.History.RunsIndexWriter.WriteAsync(runsFolder, ct).ConfigureAwait(false);
        }

        return recovered;
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "run {RunId} was interrupted (the service stopped during it): marked aborted with what its journal kept")]
    private static partial void Interrupted(ILogger logger, string runId);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "run folder {Folder} has a journal that cannot be read: {Reason}")]
    private static partial void CannotRecover(ILogger logger, string folder, string reason);
}
