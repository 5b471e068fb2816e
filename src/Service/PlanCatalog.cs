using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>
/// Keeps the dashboard's plan buttons in step with the plans folder while the service runs: a plan added gets its
/// button (Trigger now), a plan removed loses it, and each button says the plan's Quartz schedule ("manual only"
/// when it has none) and whether the plan is valid. A file watcher notices changes at once; a scan every few
/// seconds catches what a watcher can miss (network file systems, editors that replace files). A broken plan is
/// listed with its errors (GET /api/plans) and cannot be started (422); nothing in a plan file stops this.
/// </summary>
public sealed partial class PlanCatalog(RunService runs, IRecurringJobManager recurring, JobStorage storage, IOptions<ServiceOptions> options, ILogger<PlanCatalog> logger) : BackgroundService
{
    /// <summary>How often the folder is scanned besides the watcher. Default: 5s.</summary>
    public static TimeSpan ScanEvery { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The recurring job id of a plan's button.</summary>
    public static string ButtonOf(string plan) => $"plan {plan}";

    private readonly SemaphoreSlim _changed = new(0);
    private Dictionary<string, string> _shown = new(StringComparer.Ordinal);

    /// <summary>Makes the buttons match the folder now (also called at start, before jobs run).</summary>
    public void Sync()
    {
        var plans = runs.Plans();
        var wanted = plans.ToDictionary(p => ButtonOf(p.Name), p => Note(p.Name, p.Loaded), StringComparer.Ordinal);
        foreach (var (name, loaded) in plans)
        {
            var id = ButtonOf(name);
            if (!_shown.TryGetValue(id, out var note) || note != wanted[id])
            {
                var shown = wanted[id];
                recurring.AddOrUpdate<RunService>(id, s => s.StartFromDashboard(name, shown, null), Cron.Never());
            }
        }

        using var connection = storage.GetConnection();
        foreach (var stale in connection.GetRecurringJobs().Select(j => j.Id).Where(id => id.StartsWith("plan ", StringComparison.Ordinal) && !wanted.ContainsKey(id)))
        {
            recurring.RemoveIfExists(stale);
            Removed(logger, stale);
        }

        _shown = wanted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watcher = Watch();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Sync();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                SyncFailed(logger, e.Message); // tried again at the next change or scan
            }

            try
            {
                await _changed.WaitAsync(ScanEvery, stoppingToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken).ConfigureAwait(false); // let a burst of writes settle
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    private string Note(string plan, Core.Plans.PlanLoadResult loaded)
    {
        var crons = options.Value.Schedules.Where(s => s.Plan == plan).Select(s => s.Cron).ToList();
        var schedule = crons.Count == 0 ? "manual only" : $"scheduled by Quartz: {string.Join(", ", crons)} (UTC)";
        return loaded.IsValid ? schedule : $"{schedule} — INVALID, {loaded.Errors.Count} problem(s): GET /api/plans lists them";
    }

    private FileSystemWatcher? Watch()
    {
        try
        {
            var watcher = new FileSystemWatcher(options.Value.PlansFolder, "*.yaml") { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
            void Changed(object? sender, EventArgs e) => _changed.Release();
            watcher.Created += Changed;
            watcher.Changed += Changed;
            watcher.Deleted += Changed;
            watcher.Renamed += Changed;
            watcher.Error += (_, e) => _changed.Release();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is ArgumentException or IOException or PlatformNotSupportedException)
        {
            SyncFailed(logger, $"cannot watch {options.Value.PlansFolder} ({e.Message}); scanning it every {ScanEvery.TotalSeconds:0} s");
            return null;
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "{Button}: its plan file is gone, button removed")]
    private static partial void Removed(ILogger logger, string button);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "plans: {Reason}")]
    private static partial void SyncFailed(ILogger logger, string reason);
}
