using Hangfire;
using Constellation.Core.Results;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>
/// Writes a running run's partial record to RUN/checkpoint.json every few seconds, so a crash or restart loses at
/// most those seconds: on start, <see cref="RecoverAsync"/> turns every checkpoint without a run.json into an
/// aborted run with its data and its report.
/// </summary>
public sealed class Checkpoints(IOptions<ServiceOptions> options, TimeProvider time, ILogger<Checkpoints> logger)
{
    private ServiceOptions Options => options.Value;
    private TimeProvider Time => time;
    private ILogger Logger => logger;

    public const string FileName = "checkpoint.json";
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    /// <summary>A writer for one run: fed every second by the pipeline, writes at most every <see cref="Interval"/>.</summary>
    public Writer Start(RunState run) => new(this, run);

    /// <summary>Turns interrupted runs into aborted ones (run.json, reports); returns their ids.</summary>
    public async Task<IReadOnlyList<string>> RecoverAsync(CancellationToken ct)
    {
        var recovered = new List<string>();
        if (!Directory.Exists(options.Value.RunsFolder))
        {
            return recovered;
        }

        foreach (var dir in Directory.GetDirectories(options.Value.RunsFolder))
        {
            var checkpoint = Path.Combine(dir, FileName);
            if (!File.Exists(checkpoint))
            {
                continue;
            }

            if (!File.Exists(Path.Combine(dir, "run.json")))
            {
                var record = await RunRecordJson.ReadAsync(checkpoint, ct).ConfigureAwait(false);
                await Reports.Writers.CompositeReportWriter.Default.WriteAsync(record, dir, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct).ConfigureAwait(false);
                logger.LogWarning("run {RunId} was interrupted (the service stopped during it): marked aborted with {Seconds} s of data", record.RunId, record.Scenarios.Select(s => s.Seconds.Count).DefaultIfEmpty().Max());
                recovered.Add(record.RunId);
            }

            File.Delete(checkpoint);
        }

        return recovered;
    }

    /// <summary>Collects a run's seconds and writes them as an aborted record now and then.</summary>
    public sealed class Writer(Checkpoints owner, RunState run)
    {
        private readonly Dictionary<string, List<SecondSample>> _seconds = new(StringComparer.Ordinal);
        private readonly DateTimeOffset _started = owner.Time.GetUtcNow();
        private long _lastWrite = owner.Time.GetTimestamp();

        public void OnSecond(int runSecond, IReadOnlyList<(string Scenario, int Second, SecondSample Sample)> samples)
        {
            foreach (var (scenario, _, sample) in samples)
            {
                if (!_seconds.TryGetValue(scenario, out var list))
                {
                    _seconds[scenario] = list = [];
                }

                list.Add(sample);
            }

            if (owner.Time.GetElapsedTime(_lastWrite) < Interval)
            {
                return;
            }

            _lastWrite = owner.Time.GetTimestamp();
            try
            {
                Write(runSecond);
            }
            catch (IOException e)
            {
                owner.Logger.LogWarning(e, "run {RunId}: could not write its checkpoint", run.Id);
            }
        }

        private void Write(int runSecond)
        {
            var dir = Path.Combine(owner.Options.RunsFolder, run.Id);
            Directory.CreateDirectory(dir);
            var record = new RunRecord
            {
                RunId = run.Id,
                PlanName = run.Plan,
                Status = RunStatus.Aborted,
                Error = $"the service stopped during the run (crash or restart); data up to second {runSecond} (its last checkpoint) is kept",
                Environment = Constellation.Runs.RunPipeline.Environment(_started, owner.Time.GetUtcNow(), new Dictionary<string, Uri>()),
                Scenarios = [.. _seconds.Select(kv => new ScenarioResult
                {
                    Name = kv.Key,
                    Target = kv.Key,
                    Model = "open",
                    Url = string.Empty,
                    StartOffsetSeconds = 0,
                    DurationSeconds = kv.Value.Count,
                    EndReason = "aborted",
                    Seconds = [.. kv.Value],
                    Totals = ScenarioTotalsCalculator.FromSamples(kv.Value, kv.Value.Count),
                })],
                Generator = GeneratorHealthAssessor.Assess([]),
                StartedBy = run.Origin,
                Tags = run.Overrides.Tag is { } t ? [t] : [],
            };
            var path = Path.Combine(dir, FileName);
            var tmp = path + ".tmp";
            File.WriteAllText(tmp, RunRecordJson.Serialize(record));
            File.Move(tmp, path, overwrite: true);
        }
    }
}

/// <summary>At start, before any job runs: interrupted runs become aborted runs; every plan gets its dashboard button.</summary>
public sealed class RecoveryService(Checkpoints checkpoints, RunService runs, Hangfire.IRecurringJobManager recurring, Microsoft.Extensions.Options.IOptions<ServiceOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await checkpoints.RecoverAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (name, _) in runs.Plans())
        {
            // The id says when Quartz runs it, so the dashboard shows the schedule next to the button.
            var crons = options.Value.Schedules.Where(s => s.Plan == name).Select(s => s.Cron).ToList();
            var id = crons.Count == 0 ? $"plan {name}" : $"plan {name} (scheduled: {string.Join(", ", crons)} UTC)";
            recurring.AddOrUpdate<RunService>(id, s => s.StartFromDashboard(name), Hangfire.Cron.Never());
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
