using System.Globalization;
using Constellation.Core.Text;
using Constellation.Runs.Engine;
using Spectre.Console;

namespace Constellation.LoadRunner.Cli;

/// <summary>
/// Shows a running load: a live table in an interactive terminal, plain periodic lines otherwise (CI logs).
/// Everything goes to stderr so stdout stays clean for results and --json.
/// </summary>
public sealed class ProgressView
{
    private readonly TextWriter _error;
    private readonly bool _interactive;
    private readonly TimeSpan _plainEvery;
    private TimeSpan? _lastPlain;
    private readonly IAnsiConsole? _console;

    public ProgressView(TextWriter error, bool interactive, TimeSpan? plainEvery = null)
    {
        _error = error;
        _interactive = interactive;
        _plainEvery = plainEvery ?? TimeSpan.FromSeconds(5);
        if (interactive)
        {
            _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error), Interactive = InteractionSupport.Yes });
        }
    }

    /// <summary>True when stderr is a terminal and not a CI job.</summary>
    public static bool DetectInteractive() =>
        !Console.IsErrorRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");

    public void Update(EngineProgress p)
    {
        if (_interactive && _console is not null)
        {
            RenderTable(p);
            return;
        }

        if (_lastPlain is { } last && p.Elapsed - last < _plainEvery && p.Scenarios.Any(s => s.State is "running" or "waiting"))
        {
            return;
        }

        _lastPlain = p.Elapsed;
        _error.WriteLine(PlainLine(p));
    }

    /// <summary>Clears the live view before the summary is printed.</summary>
    public void Finish()
    {
        if (_interactive)
        {
            _error.WriteLine();
        }
    }

    public static string PlainLine(EngineProgress p)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = p.Scenarios.Select(s => string.Create(inv,
            $"{s.Name} [{s.State}, {s.Stage}] offered {s.Offered:0.#} {s.Unit}, {s.CompletedLastSecond}/s done, {s.ErrorsLastSecond} err, {s.DroppedLastSecond} dropped, p95 {Durations.Format(TimeSpan.FromMilliseconds(s.P95Ms))}, in flight {s.InFlight}"));
        return string.Create(inv, $"[{Elapsed(p.Elapsed)}/{Elapsed(p.PlannedDuration)}] {string.Join(" | ", parts)} | cpu {p.GeneratorCpuPercent:0}%");
    }

    private void RenderTable(EngineProgress p)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title(string.Create(CultureInfo.InvariantCulture, $"constellation  {Elapsed(p.Elapsed)} / {Elapsed(p.PlannedDuration)}  (time left {Elapsed(p.PlannedDuration - p.Elapsed)}, generator cpu {p.GeneratorCpuPercent:0}%)"))
            .AddColumns("scenario", "state", "stage", "offered", "done/s", "errors/s", "dropped/s", "p95", "in flight", "total", "errors");
        foreach (var s in p.Scenarios)
        {
            table.AddRow(
                Markup.Escape(s.Name),
                s.State,
                Markup.Escape(s.Stage),
                string.Create(CultureInfo.InvariantCulture, $"{s.Offered:0.#} {s.Unit}"),
                s.CompletedLastSecond.ToString(CultureInfo.InvariantCulture),
                s.ErrorsLastSecond > 0 ? $"[red]{s.ErrorsLastSecond}[/]" : "0",
                s.DroppedLastSecond > 0 ? $"[yellow]{s.DroppedLastSecond}[/]" : "0",
                Durations.Format(TimeSpan.FromMilliseconds(s.P95Ms)),
                s.InFlight.ToString(CultureInfo.InvariantCulture),
                s.TotalRequests.ToString(CultureInfo.InvariantCulture),
                s.TotalErrors.ToString(CultureInfo.InvariantCulture));
        }

        _console!.Clear(home: true);
        _console.Write(table);
    }

    private static string Elapsed(TimeSpan t)
    {
        if (t < TimeSpan.Zero)
        {
            t = TimeSpan.Zero;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes:0}:{t.Seconds:00}");
    }
}
