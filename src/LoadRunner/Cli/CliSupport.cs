using System.CommandLine;
using System.Reflection;
using System.Text.Json;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.Runs;
using Constellation.Runs.Engine;

namespace Constellation.LoadRunner.Cli;

/// <summary>What several commands share: the embedded plan, the exit-code contract, reading a named run, progress and live metrics.</summary>
internal static class CliSupport
{
    public const string EmbeddedPlanName = "plans/local.yaml";

    /// <summary>The embedded default plan's text (plans/local.yaml, built into the executable).</summary>
    public static string EmbeddedPlan()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EmbeddedPlanName)
            ?? throw new InvalidOperationException($"{EmbeddedPlanName} is not embedded in this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The exit-code contract for a finished run: interrupted, error, invalid, thresholds failed, ok — in that order.</summary>
    public static int ExitCodeOf(RunRecord record) => record.Verdict switch
    {
        RunVerdict.Cancelled => ExitCodes.Interrupted,
        RunVerdict.Error or RunVerdict.Aborted => ExitCodes.RuntimeError,
        RunVerdict.Invalid => ExitCodes.RunInvalid,
        RunVerdict.Failed => ExitCodes.ThresholdsFailed,
        _ => ExitCodes.Ok,
    };

    /// <summary>
    /// Reads the run record a command names (a run.json or the run folder that holds it), or says on stderr why it
    /// cannot (the caller exits 2).
    /// </summary>
    public static async Task<(RunRecord Record, string Json)?> ReadRunArgumentAsync(CliContext ctx, string path, CancellationToken ct)
    {
        var json = Directory.Exists(path) ? Path.Combine(path, "run.json") : path;
        if (!File.Exists(json))
        {
            ctx.Error.WriteLine($"error: no run.json at '{Path.GetFullPath(json)}'");
            return null;
        }

        try
        {
            return (await RunRecordJson.ReadAsync(json, ct).ConfigureAwait(false), json);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            ctx.Error.WriteLine($"error: {json} is not a readable run record: {e.Message}");
            return null;
        }
    }

    public static void PrintErrors(TextWriter error, string source, IReadOnlyList<PlanError> errors)
    {
        error.WriteLine($"{source}: {errors.Count} problem(s):");
        foreach (var e in errors)
        {
            error.WriteLine($"  {e}");
        }
    }

    /// <summary>
    /// Whether every secret the plan refers to can be read here (the environment, files); says on stderr which cannot,
    /// naming the reference and where the plan uses it, never a value.
    /// </summary>
    public static bool SecretsPresent(CliContext ctx, string source, Plan plan)
    {
        var missing = SecretReferences.Missing(plan, new SecretSource(ctx.Environment));
        if (missing.Count == 0)
        {
            return true;
        }

        ctx.Error.WriteLine($"{source}: {missing.Count} secret(s) the plan refers to cannot be read here:");
        foreach (var r in missing)
        {
            ctx.Error.WriteLine($"  {r.Path}: {r.Text} {SecretReferences.WhyMissing(r)}");
        }

        return false;
    }

    /// <summary>
    /// Runs <paramref name="body"/> with the S3 store (or null), disposed after; a store that fails or does not answer
    /// is one line and exit 1 (an outside service's failure, not bad input), Ctrl+C exit 130.
    /// </summary>
    public static async Task<int> WithStoreAsync(CliContext ctx, Reports.Stores.S3RunStore? store, Func<Reports.Stores.S3RunStore?, Task<int>> body)
    {
        using (store)
        {
            try
            {
                return await body(store).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ctx.Cancel.IsCancellationRequested)
            {
                ctx.Error.WriteLine("interrupted");
                return ExitCodes.Interrupted;
            }
            catch (Exception e) when (store is not null && e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or Polly.Timeout.TimeoutRejectedException or IOException or InvalidDataException)
            {
                ctx.Error.WriteLine($"error: {store.Location}: {(e is Polly.Timeout.TimeoutRejectedException ? "no answer in time" : e.Message)}");
                return ExitCodes.RuntimeError;
            }
        }
    }

    /// <summary>
    /// Whether the S3 store already holds <paramref name="runId"/>, asked before any load is sent. A store that does
    /// not answer within 15 s does not stop the run (it is checked again when the run is stored): a warning says so.
    /// </summary>
    public static async Task<bool> StoredAlreadyAsync(CliContext ctx, Reports.Stores.S3RunStore store, string runId)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cancel);
        bound.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            return await store.HasRunAsync(runId, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException)
        {
            if (ctx.Cancel.IsCancellationRequested)
            {
                return false; // Ctrl+C: the run that follows stops at once and says so
            }

            ctx.Error.WriteLine($"warning: could not ask {store.Location} whether run {runId} is there ({(e is OperationCanceledException ? "no answer within 15s" : e.Message)}); it is checked again when the run is stored");
            return false;
        }
    }

    /// <summary>In GitHub Actions, the run's summary.md goes into the job's step summary too.</summary>
    public static void AppendStepSummary(CliContext ctx, string summaryPath)
    {
        if (ctx.Environment("GITHUB_STEP_SUMMARY") is not { Length: > 0 } target || !File.Exists(summaryPath))
        {
            return;
        }

        try
        {
            File.AppendAllText(target, File.ReadAllText(summaryPath) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ctx.Error.WriteLine($"warning: could not append to $GITHUB_STEP_SUMMARY ({target}): {e.Message}");
        }
    }

    public static Option<int?> MetricsPortOption() =>
        CliOptions.Integer("--metrics-port", "Serve live Prometheus metrics on http://127.0.0.1:PORT/metrics while the load runs.", 1, 65535);

    /// <summary>The progress view and the live metrics as one per-second callback (null when neither is wanted).</summary>
    public static Action<EngineProgress>? Progress(ProgressView? view, Runs.Telemetry.LiveMetrics? metrics) => (view, metrics) switch
    {
        (null, null) => null,
        (not null, null) => view.Update,
        (null, not null) => metrics.Update,
        _ => p =>
        {
            metrics!.Update(p);
            view!.Update(p);
        },
    };

    /// <summary>The host's listeners of a run: progress and live metrics.</summary>
    public static IReadOnlyList<IRunListener> Listeners(ProgressView? view, Runs.Telemetry.LiveMetrics? metrics) =>
        Progress(view, metrics) is { } each ? [new Runs.Listeners.CallbackListener(each)] : [];

    /// <summary>Live metrics on a loopback port, or null; a port in use is a one-line error.</summary>
    public static Runs.Telemetry.LiveMetrics? StartMetrics(CliContext ctx, int? port)
    {
        if (port is not { } p)
        {
            return null;
        }

        Runs.Telemetry.LiveMetrics metrics;
        try
        {
            metrics = new Runs.Telemetry.LiveMetrics(p);
        }
        catch (System.Net.HttpListenerException e)
        {
            throw new InvalidOperationException($"cannot serve metrics on 127.0.0.1:{p}: {e.Message}", e);
        }

        ctx.Error.WriteLine($"live metrics: http://127.0.0.1:{p}/metrics");
        return metrics;
    }
}
