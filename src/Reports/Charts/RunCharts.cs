using System.Globalization;
using Constellation.Core.Results;
using ScottPlot;

namespace Constellation.Reports.Charts;

/// <summary>
/// Draws a run's charts as SVG with ScottPlot: load (offered vs achieved, errors, dropped), latency over time,
/// and the latency percentile spectrum. Colours come from a colour-blind-safe palette; text uses the shipped
/// DejaVu Sans, since ScottPlot draws no text at all when it finds no font.
/// </summary>
public static class RunCharts
{
    public const string FontName = "DejaVu Sans";
    public const int Width = 900;
    public const int Height = 380;

    private static readonly Lock FontLock = new();
    private static bool _fontRegistered;
    private static readonly IPalette Palette = new ScottPlot.Palettes.ColorblindFriendly();

    /// <summary>Offered load, achieved ok/s, errors and dropped per second, with the breaking point marked.</summary>
    public static string LoadChart(ScenarioResult s)
    {
        var plot = NewPlot($"{s.Name}: load", "seconds since start", s.Model == "open" ? "requests/s" : "requests/s (users: offered)");
        // A long run's points each sum several seconds: per second is the point's value over its seconds.
        double per = Math.Max(1, s.SecondsPerPoint);
        double[] xs = [.. s.Seconds.Select(x => (double)x.Second)];
        Line(plot, xs, [.. s.Seconds.Select(x => x.Offered / per)], s.Model == "open" ? "offered (planned)" : "users (planned)", 0, dashed: true);
        Line(plot, xs, [.. s.Seconds.Select(x => x.Outcomes.Ok / per)], "ok/s (2xx, 3xx)", 1);
        Line(plot, xs, [.. s.Seconds.Select(x => x.Outcomes.Errors / per)], "errors/s", 5);
        Line(plot, xs, [.. s.Seconds.Select(x => x.Outcomes.Dropped / per)], "dropped/s", 3);
        MarkBreakingPoint(plot, s);
        TimeAxis(plot, s);
        plot.Axes.SetLimitsY(0, Math.Max(1, s.Seconds.Select(x => Math.Max(x.Offered, x.Outcomes.Completed + x.Outcomes.Dropped) / per).DefaultIfEmpty(1).Max() * 1.1));
        return Render(plot);
    }

    /// <summary>p50, p95, p99 and max latency per second; service time p99 dashed for comparison.</summary>
    public static string LatencyChart(ScenarioResult s)
    {
        var plot = NewPlot($"{s.Name}: latency", "seconds since start", "milliseconds");
        var seconds = s.Seconds.Where(x => x.Latency.Count > 0).ToList();
        double[] xs = [.. seconds.Select(x => (double)x.Second)];
        Line(plot, xs, [.. seconds.Select(x => x.Latency.P50Ms)], "p50", 1, keepMax: true);
        Line(plot, xs, [.. seconds.Select(x => x.Latency.P95Ms)], "p95", 2, keepMax: true);
        Line(plot, xs, [.. seconds.Select(x => x.Latency.P99Ms)], "p99", 3, keepMax: true);
        Line(plot, xs, [.. seconds.Select(x => x.Latency.MaxMs)], "max", 5, keepMax: true);
        if (s.Model == "open")
        {
            Line(plot, xs, [.. seconds.Select(x => x.ServiceTime.P99Ms)], "service time p99 (from send)", 7, dashed: true, keepMax: true);
        }

        foreach (var limit in s.LatencyLimits)
        {
            var h = plot.Add.HorizontalLine(limit.Ms, 1.5f, Colors.Gray, LinePattern.Dashed);
            h.LegendText = $"limit: {limit.Label}";
        }

        MarkBreakingPoint(plot, s);
        TimeAxis(plot, s);
        plot.Axes.SetLimitsY(0, Math.Max(1, seconds.Select(x => x.Latency.MaxMs).Concat(s.LatencyLimits.Select(l => l.Ms)).DefaultIfEmpty(1).Max() * 1.1));
        return Render(plot);
    }

    /// <summary>The HdrHistogram percentile spectrum of the whole scenario: x is 50%, 90%, 99%, 99.9%… on a "nines" scale.</summary>
    public static string PercentileChart(ScenarioResult s)
    {
        var plot = NewPlot($"{s.Name}: latency by percentile", "percentile", "milliseconds");
        var points = PercentileSpectrum(s.Totals.LatencyHistogram);
        Line(plot, [.. points.Select(p => p.Nines)], [.. points.Select(p => p.Ms)], "latency", 1);
        if (s.Model == "open")
        {
            var service = PercentileSpectrum(s.Totals.ServiceTimeHistogram);
            Line(plot, [.. service.Select(p => p.Nines)], [.. service.Select(p => p.Ms)], "service time", 7, dashed: true);
        }

        double[] ticks = [0, 1, 2, 3, 4, 5];
        string[] labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, labels);
        plot.Axes.SetLimitsX(0, Math.Max(2, points.Select(p => p.Nines).DefaultIfEmpty(2).Max()));
        return Render(plot);
    }

    /// <summary>
    /// The capacity model: each second's (concurrency, ok/s) as a point and the fitted Universal Scalability Law as a
    /// line through them, its predicted peak marked; with no model (a poor fit) only the points.
    /// </summary>
    public static string CapacityChart(ScenarioResult s, CapacityModel m)
    {
        var plot = NewPlot($"{s.Name}: capacity (Universal Scalability Law)", "concurrency (Little's law: completions/s × mean latency)", "ok/s");
        var (xs, ys) = Downsample([.. m.Measured.Select(p => p.Concurrency)], [.. m.Measured.Select(p => p.OkPerSecond)], MaxPointsPerLine, keepMax: true);
        var dots = plot.Add.ScatterPoints(xs, ys, Palette.GetColor(1));
        dots.LegendText = "measured seconds";
        dots.MarkerSize = 5;
        double xMax = Math.Max(1, m.MeasuredMaxConcurrency) * 1.1;
        double yMax = Math.Max(1, m.MeasuredPeakOkPerSecond);
        if (m.Fit is { } f)
        {
            if (f.PeakConcurrency is { } n && !f.PeakBeyondRamp)
            {
                xMax = Math.Max(xMax, n.Value * 1.1);
            }

            double xMin = Math.Clamp(m.Measured.Select(p => p.Concurrency).DefaultIfEmpty(1).Min(), 0.01, 1);
            double[] curveX = [.. Enumerable.Range(0, 200).Select(i => xMin + ((xMax - xMin) * i / 199.0))];
            Line(plot, curveX, [.. curveX.Select(f.At)], string.Create(CultureInfo.InvariantCulture, $"fitted: σ {f.Sigma.Value:0.####}, κ {f.Kappa.Value:0.######}"), 2);
            var peak = plot.Add.HorizontalLine(f.PeakOkPerSecond.Value, 1.5f, Palette.GetColor(2), LinePattern.Dashed);
            peak.LegendText = string.Create(CultureInfo.InvariantCulture, $"predicted peak {f.PeakOkPerSecond.Value:0.#} ok/s");
            yMax = Math.Max(yMax, f.PeakOkPerSecond.High ?? f.PeakOkPerSecond.Value);
        }

        plot.Axes.SetLimits(0, xMax, 0, yMax * 1.15);
        return Render(plot);
    }

    /// <summary>
    /// One chart per observation group (pods, nodes, CPU, control-app latency…) with its series over run time
    /// and the run's events marked: the slot the observer fills.
    /// </summary>
    public static string ObservationChart(string group, IReadOnlyList<ObservedSeries> series, IReadOnlyList<ObservedEvent> events)
    {
        var units = string.Join(", ", series.Select(s => s.Unit).Distinct());
        var plot = NewPlot(group, "seconds since load start", units);
        int colour = 1;
        foreach (var s in series)
        {
            Line(plot, [.. s.Points.Select(p => p.Seconds)], [.. s.Points.Select(p => p.Value)], s.Name, colour++, keepMax: true);
        }

        MarkEvents(plot, events);
        return Render(plot);
    }

    /// <summary>Most per-request latency charts per scenario (the aggregate table has every request).</summary>
    public const int MaxRequestCharts = 12;

    /// <summary>Most waterfall charts per scenario (the steps that scaled, first ones first; the table has the rest).</summary>
    public const int MaxWaterfalls = 6;

    /// <summary>
    /// One step's reaction as horizontal bars on one time axis (seconds from the step): each phase from the moment
    /// the one before it ended to its own; a phase not reached runs to the end of the step's window, hatched red.
    /// </summary>
    public static string WaterfallChart(ScaleReaction r, ReactionStep step)
    {
        var plot = NewPlot($"{r.Deployment}: reaction to step {step.Number} ({step.Stage})", "seconds since the step started", string.Empty);
        double window = Math.Max(1, step.EndSeconds - step.StartSeconds);
        double? metric = step.MetricAbove, desired = step.DesiredRaised, pod = step.PodCreated;
        double podStart = pod ?? desired ?? metric ?? 0;
        var bars = new List<(string Label, double From, double? To, bool Unreached)>
        {
            ("HPA metric above target", 0, metric, step.Unreached.Contains("metric_above")),
            ("desired replicas raised", metric ?? 0, desired, step.Unreached.Contains("desired_raised")),
            ("first new pod created", desired ?? metric ?? 0, pod, step.Unreached.Contains("pod_created")),
            ("pods Pending (longest)", podStart, step.Pending is { } p ? podStart + p : null, false),
            ("new node Ready", podStart, step.NodeReady, step.Unreached.Contains("node_ready")),
            ("new pods Ready", podStart, step.Reaction, step.Unreached.Contains("reaction")),
            ("p95 back under its limit", 0, step.Recovered, step.Unreached.Contains("recovered")),
            ("control app back to baseline", 0, step.ControlRecovered, step.Unreached.Contains("control_recovered")),
        };
        var ticks = new List<Tick>();
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, from, to, unreached) = bars[i];
            double y = bars.Count - 1 - i; // the first phase on top
            ticks.Add(new Tick(y, label));
            if (to is null && !unreached)
            {
                continue; // nothing to react to
            }

            var end = to ?? window;
            plot.Add.Bar(new Bar
            {
                Position = y,
                ValueBase = Math.Min(from, end),
                Value = Math.Max(end, from + (window / 200)), // an instant still shows
                FillColor = unreached ? Colors.Red.WithAlpha(0.35) : Palette.GetColor(i % 8),
                Orientation = Orientation.Horizontal,
                Size = 0.6,
            });
        }

        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.SetLimits(0, window, -0.6, bars.Count - 0.4);
        plot.HideLegend();
        return Render(plot);
    }

    /// <summary>Event kinds worth a mark on scaling charts (the rest are in the event table).</summary>
    public static readonly IReadOnlySet<string> ScalingEventKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        "SuccessfulRescale", "TriggeredScaleUp", "FailedScheduling", "NodeReady", "NodeRemoved", "NodeNotReady", "ScaleDown", "Launched",
    };

    /// <summary>Desired and ready replicas of one deployment over run time (steps), with scaling events marked.</summary>
    public static string ReplicaChart(WorkloadTimeline w, IReadOnlyList<ObservedEvent> events, double fromSeconds, double toSeconds)
    {
        var plot = NewPlot($"{w.Deployment}: replicas", "seconds since load start", "replicas");
        var points = w.Replicas.Count == 0 ? [] : w.Replicas.Append(w.Replicas[^1] with { Seconds = toSeconds }).ToList();
        Step(plot, [.. points.Select(p => p.Seconds)], [.. points.Select(p => (double)p.Desired)], w.Hpa is null ? "desired (spec)" : $"desired (HPA {w.Hpa})", 0, dashed: true);
        Step(plot, [.. points.Select(p => p.Seconds)], [.. points.Select(p => (double)p.Ready)], "ready", 1);
        MarkEvents(plot, events.Where(e => e.Kind.StartsWith("Node", StringComparison.Ordinal) || e.Object is null || e.Object.EndsWith("/" + w.Deployment, StringComparison.Ordinal) || e.Object.Contains("/" + w.Deployment + "-", StringComparison.Ordinal)));
        plot.Axes.SetLimitsX(fromSeconds, Math.Max(fromSeconds + 1, toSeconds));
        plot.Axes.SetLimitsY(0, Math.Max(1, points.Select(p => Math.Max(p.Desired, p.Ready)).DefaultIfEmpty(1).Max() * 1.15));
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        return Render(plot);
    }

    /// <summary>Ready nodes per zone and in total over run time (steps), with node events marked.</summary>
    public static string NodesChart(IReadOnlyList<NodeLife> nodes, IReadOnlyList<ObservedEvent> events, double fromSeconds, double toSeconds)
    {
        var plot = NewPlot("Ready nodes per zone", "seconds since load start", "nodes");
        var times = nodes.SelectMany(n => new[] { n.ReadySeconds, n.GoneSeconds }).OfType<double>().Where(t => t > fromSeconds && t < toSeconds)
            .Append(fromSeconds).Append(toSeconds).Distinct().Order().ToArray();
        static bool ReadyAt(NodeLife n, double t) => n.ReadySeconds <= t && (n.GoneSeconds is null || n.GoneSeconds > t);
        int colour = 1;
        foreach (var zone in nodes.GroupBy(n => n.Zone).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Step(plot, times, [.. times.Select(t => (double)zone.Count(n => ReadyAt(n, t)))], zone.Key, colour++);
        }

        Step(plot, times, [.. times.Select(t => (double)nodes.Count(n => ReadyAt(n, t)))], "all zones", 0, dashed: true);
        MarkEvents(plot, events.Where(e => e.Kind.StartsWith("Node", StringComparison.Ordinal) || e.Kind == "TriggeredScaleUp"));
        plot.Axes.SetLimitsX(fromSeconds, Math.Max(fromSeconds + 1, toSeconds));
        plot.Axes.SetLimitsY(0, Math.Max(1, nodes.Count * 1.15));
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        return Render(plot);
    }

    /// <summary>
    /// The control app's probe latency over run time: each probe a point, failures on a line of their own, the
    /// calm baseline and the scale-out window shaded, scaling events marked.
    /// </summary>
    public static string ControlChart(ProbeResult probe, ControlLatency? metrics, IReadOnlyList<ObservedEvent> events, double fromSeconds, double toSeconds)
    {
        var plot = NewPlot($"{probe.Target}: control-app latency ({probe.RatePerSecond:0.##} probes/s)", "seconds since load start", "milliseconds");
        var ok = probe.Samples.Where(x => x.Ok).ToList();
        double top = Math.Max(1, ok.Select(x => x.LatencyMs).DefaultIfEmpty(1).Max() * 1.15);
        if (metrics is not null)
        {
            if (metrics.BaselineSamples > 0)
            {
                var b = plot.Add.HorizontalSpan(fromSeconds, metrics.WindowFromSeconds < 0 ? metrics.WindowFromSeconds : 0);
                b.FillStyle.Color = Colors.Green.WithAlpha(0.10);
                b.LegendText = metrics.BaselineP95Ms is { } bp ? string.Create(CultureInfo.InvariantCulture, $"calm baseline (p95 {bp:0.##} ms)") : "calm baseline";
            }

            var w = plot.Add.HorizontalSpan(metrics.WindowFromSeconds, metrics.WindowToSeconds);
            w.FillStyle.Color = Colors.Orange.WithAlpha(0.14);
            w.LegendText = metrics.WindowP95Ms is { } wp ? string.Create(CultureInfo.InvariantCulture, $"{metrics.Window} window (p95 {wp:0.##} ms)") : $"{metrics.Window} window";
        }

        var (xs, ys) = Downsample([.. ok.Select(x => x.Seconds)], [.. ok.Select(x => x.LatencyMs)], MaxPointsPerLine * 2, keepMax: true);
        var sc = plot.Add.ScatterPoints(xs, ys, Palette.GetColor(1));
        sc.LegendText = "probe latency";
        sc.MarkerSize = 4;
        var failed = probe.Samples.Where(x => !x.Ok).ToList();
        if (failed.Count > 0)
        {
            double[] fx = [.. failed.Select(x => x.Seconds)];
            double[] fy = [.. failed.Select(_ => top * 0.97)];
            var f = plot.Add.ScatterPoints(fx, fy, Palette.GetColor(5));
            f.LegendText = $"failed probes ({failed.Count})";
            f.MarkerShape = MarkerShape.Eks;
            f.MarkerSize = 7;
        }

        MarkEvents(plot, events);
        plot.ShowLegend(Alignment.UpperRight); // the calm baseline is on the left
        plot.Axes.SetLimitsX(fromSeconds, Math.Max(fromSeconds + 1, toSeconds));
        plot.Axes.SetLimitsY(0, top * 1.25);
        return Render(plot);
    }

    /// <summary>(percentile expressed as "nines" = −log10(1 − p), milliseconds) pairs.</summary>
    internal static IReadOnlyList<(double Nines, double Ms)> PercentileSpectrum(string? encoded)
    {
        if (encoded is null)
        {
            return [];
        }

        var h = Histograms.Decode(encoded);
        if (h.TotalCount == 0)
        {
            return [];
        }

        var result = new List<(double, double)>();
        double maxNines = Math.Min(5, Math.Log10(h.TotalCount));
        for (double n = 0; n <= maxNines + 1e-9; n += 0.05)
        {
            double p = (1 - Math.Pow(10, -n)) * 100;
            result.Add((n, h.GetValueAtPercentile(p) / 1000.0));
        }

        return result;
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        Style(plot, title, xLabel, yLabel);
        return plot;
    }

    /// <summary>The house style: shipped font, title, axis labels, legend top left.</summary>
    internal static void Style(Plot plot, string title, string xLabel, string yLabel)
    {
        EnsureFont();
        plot.Font.Set(FontName);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
    }

    internal static void AddLine(Plot plot, double[] xs, double[] ys, string label, int colour, bool dashed = false) => Line(plot, xs, ys, label, colour, dashed);

    /// <summary>A dashed vertical line at <paramref name="x"/> in a series' colour, named in the legend.</summary>
    internal static void AddMarker(Plot plot, double x, string label, int colour)
    {
        var line = plot.Add.VerticalLine(x, 1.5f, Palette.GetColor(colour), LinePattern.Dashed);
        line.LegendText = label;
    }

    /// <summary>Most points one line gets: about one per pixel column; longer series are bucketed.</summary>
    public const int MaxPointsPerLine = 720;

    /// <summary>
    /// Buckets a long series to at most <paramref name="maxPoints"/> points, so an hour-long run draws as fast
    /// and as small as a minute-long one. Latency keeps each bucket's maximum (a spike never disappears),
    /// rates keep the mean.
    /// </summary>
    internal static (double[] Xs, double[] Ys) Downsample(double[] xs, double[] ys, int maxPoints, bool keepMax)
    {
        if (xs.Length <= maxPoints)
        {
            return (xs, ys);
        }

        int size = (int)Math.Ceiling(xs.Length / (double)maxPoints);
        int n = (xs.Length + size - 1) / size;
        var outX = new double[n];
        var outY = new double[n];
        for (int b = 0; b < n; b++)
        {
            int from = b * size;
            int to = Math.Min(xs.Length, from + size);
            double agg = keepMax ? double.MinValue : 0;
            for (int i = from; i < to; i++)
            {
                agg = keepMax ? Math.Max(agg, ys[i]) : agg + ys[i];
            }

            outX[b] = xs[from];
            outY[b] = keepMax ? agg : agg / (to - from);
        }

        return (outX, outY);
    }

    private static void Line(Plot plot, double[] xs, double[] ys, string label, int colour, bool dashed = false, bool keepMax = false)
    {
        if (xs.Length == 0)
        {
            return;
        }

        (xs, ys) = Downsample(xs, ys, MaxPointsPerLine, keepMax);

        var line = plot.Add.ScatterLine(xs, ys, Palette.GetColor(colour));
        line.LegendText = label;
        line.LineWidth = 2;
        if (dashed)
        {
            line.LinePattern = LinePattern.Dashed;
        }
    }

    /// <summary>A dotted line per scaling event, one legend entry per kind however many events; a colour per kind.</summary>
    private static void MarkEvents(Plot plot, IEnumerable<ObservedEvent> events)
    {
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in events.Where(e => ScalingEventKinds.Contains(e.Kind)))
        {
            bool first = !kinds.ContainsKey(e.Kind);
            if (first)
            {
                kinds[e.Kind] = kinds.Count;
            }

            var v = plot.Add.VerticalLine(e.Seconds, 1, EventColours[kinds[e.Kind] % EventColours.Length], LinePattern.Dotted);
            if (first)
            {
                v.LegendText = e.Kind;
            }
        }
    }

    private static readonly Color[] EventColours = [Colors.Gray, Colors.DarkRed, Colors.DarkGreen, Colors.DarkBlue, Colors.DarkOrange, Colors.Purple];

    private static void Step(Plot plot, double[] xs, double[] ys, string label, int colour, bool dashed = false)
    {
        if (xs.Length == 0)
        {
            return;
        }

        var line = plot.Add.ScatterLine(xs, ys, Palette.GetColor(colour));
        line.ConnectStyle = ConnectStyle.StepHorizontal;
        line.LegendText = label;
        line.LineWidth = 2;
        if (dashed)
        {
            line.LinePattern = LinePattern.Dashed;
        }
    }

    private static void MarkBreakingPoint(Plot plot, ScenarioResult s)
    {
        if (s.BreakingPoint is { } bp)
        {
            var v = plot.Add.VerticalLine(bp.ElapsedSeconds - 1, 2, Colors.Black, LinePattern.Dotted);
            v.LegendText = string.Create(CultureInfo.InvariantCulture, $"broke: {bp.Condition} at {bp.OfferedAtFailure:0.#} {bp.Unit}");
        }
    }

    private static void TimeAxis(Plot plot, ScenarioResult s) =>
        plot.Axes.SetLimitsX(0, Math.Max(1, s.Seconds.Count == 0 ? 1 : s.Seconds[^1].Second + Math.Max(1, s.SecondsPerPoint)));

    private static string Render(Plot plot) => plot.GetSvgXml(Width, Height);

    private static void EnsureFont()
    {
        lock (FontLock)
        {
            if (_fontRegistered)
            {
                return;
            }

            var path = Path.Combine(AppContext.BaseDirectory, "Fonts", "DejaVuSans.ttf");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"the report font is missing: {path}", path);
            }

            Fonts.AddFontFile(FontName, path);
            Fonts.Default = FontName;
            _fontRegistered = true;
        }
    }
}
