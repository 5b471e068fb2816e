using System.Globalization;

namespace Constellation.Core.Results;

/// <summary>
/// A capacity model fitted to a ramp: the Universal Scalability Law, X(N) = λN / (1 + σ(N−1) + κN(N−1)), over the
/// scenario's seconds — concurrency N by Little's law (ok/s × mean latency), throughput X in ok/s. σ is contention
/// (the serial share), κ coherency (the cost of keeping parallel work in step, which makes throughput fall past a
/// peak). A fit that does not describe the seconds has no numbers, only <see cref="PoorFit"/>.
/// </summary>
public sealed record CapacityModel
{
    /// <summary>Points the model was fitted to: one per second, or per group of seconds on a ramp longer than <see cref="Usl.MaxPoints"/>.</summary>
    public required int Points { get; init; }

    /// <summary>
    /// The most ok/s sustained over <see cref="Usl.PeakWindow"/> consecutive seconds of the ramp: one second alone can hold
    /// a bunch of answers that queued in the seconds before it (the breaking point's <c>peakOkPerSecond</c> is that one).
    /// </summary>
    public required double MeasuredPeakOkPerSecond { get; init; }

    /// <summary>The highest concurrency of those seconds.</summary>
    public required double MeasuredMaxConcurrency { get; init; }

    /// <summary>The measured (concurrency, ok/s) points, for the chart.</summary>
    public required IReadOnlyList<CapacityPoint> Measured { get; init; }

    /// <summary>Share of the variance in ok/s the fitted curve explains (1 = all of it).</summary>
    public double? RSquared { get; init; }

    /// <summary>The fitted law; absent when the fit is poor.</summary>
    public UslFit? Fit { get; init; }

    /// <summary>Why there is no model (too few seconds, no ramp, no limit reached, a shape the law does not describe).</summary>
    public string? PoorFit { get; init; }

    /// <summary>One line: the model, or why there is none.</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        if (Fit is not { } f)
        {
            return $"no capacity model: {PoorFit}";
        }

        var at = f.PeakConcurrency is { } n
            ? $" at concurrency {n.Format("0.#")}{(f.PeakBeyondRamp ? " (beyond the ramp: an extrapolation)" : string.Empty)}"
            : " approached as concurrency grows (no coherency cost: throughput levels off, it does not fall)";
        return string.Create(inv, $"predicted peak {f.PeakOkPerSecond.Format("0.#")} ok/s{at}; measured peak {MeasuredPeakOkPerSecond:0.#} ok/s (best {Usl.PeakWindow} s); σ {f.Sigma.Format("0.####")}, κ {f.Kappa.Format("0.######")}; R² {RSquared:0.###} ({Points} points)");
    }
}

/// <summary>A (concurrency, ok/s) point of one second.</summary>
public sealed record CapacityPoint(double Concurrency, double OkPerSecond);

/// <summary>A value with its 95% bootstrap interval; <see cref="High"/> is absent when some resamples put it at infinity.</summary>
public sealed record Estimate(double Value, double Low, double? High)
{
    internal string Format(string format) => string.Create(CultureInfo.InvariantCulture, $"{Value.ToString(format, CultureInfo.InvariantCulture)} [{Low.ToString(format, CultureInfo.InvariantCulture)}–{High?.ToString(format, CultureInfo.InvariantCulture) ?? "unbounded"}]");
}

/// <summary>The fitted law: λ (ok/s of one concurrent request), σ, κ, and the peak they predict.</summary>
public sealed record UslFit
{
    public required double Lambda { get; init; }
    public required Estimate Sigma { get; init; }
    public required Estimate Kappa { get; init; }

    /// <summary>The most ok/s the law allows: at <see cref="PeakConcurrency"/>, or as concurrency grows when κ is 0.</summary>
    public required Estimate PeakOkPerSecond { get; init; }

    /// <summary>Where throughput peaks, √((1−σ)/κ); absent when κ is 0 (it levels off instead).</summary>
    public Estimate? PeakConcurrency { get; init; }

    /// <summary>The peak lies past twice the highest concurrency the ramp reached.</summary>
    public bool PeakBeyondRamp { get; init; }

    /// <summary>The law's throughput at concurrency <paramref name="n"/>.</summary>
    public double At(double n) => Usl.Throughput(Lambda, Sigma.Value, Kappa.Value, n);
}

/// <summary>Fits <see cref="CapacityModel"/>s: a grid then a pattern search in log space, 200 bootstrap resamples (fixed seed: the same run gives the same model).</summary>
public static class Usl
{
    /// <summary>Seconds over which the measured peak is averaged.</summary>
    public const int PeakWindow = 3;

    /// <summary>Most points a model is fitted to: a longer ramp's seconds are averaged in groups.</summary>
    public const int MaxPoints = 300;

    /// <summary>Fewest seconds a model is fitted to.</summary>
    public const int MinPoints = 8;

    /// <summary>Below this R² the law does not describe the seconds.</summary>
    public const double MinRSquared = 0.8;

    private const int Resamples = 200;
    private const double SigmaFloor = 1e-6;
    private const double KappaFloor = 1e-9;

    public static double Throughput(double lambda, double sigma, double kappa, double n) => lambda * n / (1 + (sigma * (n - 1)) + (kappa * n * (n - 1)));

    /// <summary>The model of a scenario whose planned load ramps (it changes at least twofold); null for a steady one.</summary>
    public static CapacityModel? Model(ScenarioResult scenario)
    {
        var offered = scenario.Seconds.Select(s => s.Offered).Where(o => o > 0).ToList();
        if (offered.Count == 0 || offered.Max() < 2 * offered.Min())
        {
            return null;
        }

        double per = Math.Max(1, scenario.SecondsPerPoint);
        var points = scenario.Seconds
            .Skip(1) // the first second is partial
            .Where(s => s.Offered > 0 && s.Outcomes.Ok > 0 && s.Latency.MeanMs > 0) // not the drain after the load stopped
            .Select(s => new CapacityPoint(s.Outcomes.Completed / per * s.Latency.MeanMs / 1000, s.Outcomes.Ok / per)) // Little's law: N = completions/s × mean time
            .ToList();

        // A long ramp: consecutive seconds averaged into at most MaxPoints points (the fit's cost grows with them).
        int group = (int)Math.Ceiling(points.Count / (double)MaxPoints);
        if (group > 1)
        {
            points = [.. points.Chunk(group).Select(c => new CapacityPoint(c.Average(p => p.Concurrency), c.Average(p => p.OkPerSecond)))];
        }

        return Fit(points);
    }

    /// <summary>Fits the law to (concurrency, ok/s) points.</summary>
    public static CapacityModel Fit(IReadOnlyList<CapacityPoint> points)
    {
        var measured = points.Select(p => new CapacityPoint(Math.Round(p.Concurrency, 3), Math.Round(p.OkPerSecond, 3))).ToList();
        var model = new CapacityModel
        {
            Points = points.Count,
            MeasuredPeakOkPerSecond = Math.Round(SustainedPeak(points), 3),
            MeasuredMaxConcurrency = points.Count == 0 ? 0 : Math.Round(points.Max(p => p.Concurrency), 3),
            Measured = measured,
        };
        var inv = CultureInfo.InvariantCulture;
        if (points.Count < MinPoints)
        {
            return model with { PoorFit = $"{points.Count} seconds with answers; a model needs at least {MinPoints}" };
        }

        double nMin = points.Min(p => p.Concurrency), nMax = points.Max(p => p.Concurrency);
        if (nMax < 2 * nMin)
        {
            return model with { PoorFit = string.Create(inv, $"concurrency only went from {nMin:0.##} to {nMax:0.##}: a model needs it to at least double") };
        }

        var n = points.Select(p => p.Concurrency).ToArray();
        var x = points.Select(p => p.OkPerSecond).ToArray();
        var best = Search(n, x, Grid(n, x));
        double mean = x.Average();
        double sst = x.Sum(v => (v - mean) * (v - mean));
        double r2 = sst <= 0 ? 0 : 1 - (best.Sse / sst);
        model = model with { RSquared = Math.Round(r2, 4) };
        if (r2 < MinRSquared)
        {
            return model with { PoorFit = string.Create(inv, $"the Universal Scalability Law does not describe these seconds (R² {r2:0.###}, under {MinRSquared})") };
        }

        var (peakX, peakN) = Peak(best);
        if (double.IsInfinity(peakX))
        {
            return model with { PoorFit = "throughput still grew in proportion to concurrency: the ramp did not reach a limit" };
        }

        if (peakX > 2 * model.MeasuredPeakOkPerSecond)
        {
            return model with { PoorFit = string.Create(inv, $"throughput was still rising when the ramp ended: the law's peak ({peakX:0.#} ok/s) would be more than twice any second's, an extrapolation — the ramp did not reach a limit") };
        }

        // Moving-block bootstrap (a ramp's seconds are not independent: neighbours share a queue), each resample
        // fitted afresh from a coarse grid, not from the full fit's optimum.
        var random = new Random(20);
        int block = Math.Max(2, (int)Math.Round(Math.Cbrt(n.Length)));
        var sigmas = new List<double>(Resamples);
        var kappas = new List<double>(Resamples);
        var peaksX = new List<double>(Resamples);
        var peaksN = new List<double>(Resamples);
        var rn = new double[n.Length];
        var rx = new double[n.Length];
        for (int r = 0; r < Resamples; r++)
        {
            for (int i = 0; i < n.Length;)
            {
                int start = random.Next(n.Length - block + 1);
                for (int j = start; j < start + block && i < n.Length; j++, i++)
                {
                    rn[i] = n[j];
                    rx[i] = x[j];
                }
            }

            var f = Search(rn, rx, Grid(rn, rx, CoarseStep));
            var (px, pn) = Peak(f);
            sigmas.Add(f.Sigma);
            kappas.Add(f.Kappa);
            peaksX.Add(px);
            peaksN.Add(pn);
        }

        var peakXCi = Interval(peakX, peaksX);
        if (peakXCi.High is not { } high || high > 3 * Math.Max(peakXCi.Low, 1e-9))
        {
            var upper = peakXCi.High is { } h ? h.ToString("0.#", inv) : "unbounded";
            return model with { PoorFit = string.Create(inv, $"these seconds do not pin the peak down (95% interval {peakXCi.Low:0.#}–{upper} ok/s)") };
        }

        Estimate? peakNCi = double.IsInfinity(peakN) ? null : Interval(peakN, peaksN);
        return model with
        {
            Fit = new UslFit
            {
                Lambda = Math.Round(best.Lambda, 6),
                Sigma = Interval(best.Sigma, sigmas, 6),
                Kappa = Interval(best.Kappa, kappas, 9),
                PeakOkPerSecond = peakXCi,
                PeakConcurrency = peakNCi,
                PeakBeyondRamp = peakNCi is { } pn2 && pn2.Value > 2 * nMax,
            },
        };
    }

    private static double SustainedPeak(IReadOnlyList<CapacityPoint> points)
    {
        if (points.Count < PeakWindow)
        {
            return points.Count == 0 ? 0 : points.Max(p => p.OkPerSecond);
        }

        double best = 0;
        for (int i = 0; i + PeakWindow <= points.Count; i++)
        {
            double sum = 0;
            for (int j = i; j < i + PeakWindow; j++)
            {
                sum += points[j].OkPerSecond;
            }

            best = Math.Max(best, sum / PeakWindow);
        }

        return best;
    }

    private static Estimate Interval(double value, List<double> samples, int digits = 3)
    {
        var sorted = samples.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToList();
        double Quantile(double q) => sorted.Count == 0 ? value : sorted[(int)Math.Clamp(Math.Round(q * (sorted.Count - 1)), 0, sorted.Count - 1)];
        // Percentiles of the resamples as they fall: a skewed interval stays skewed (the estimate may sit near an end).
        double high = Quantile(0.975);
        return new Estimate(Math.Round(value, digits), Math.Round(Quantile(0.025), digits), double.IsInfinity(high) ? null : Math.Round(high, digits));
    }

    private static (double X, double N) Peak(Candidate c)
    {
        if (c.Kappa <= KappaFloor * 1.5)
        {
            return c.Sigma <= SigmaFloor * 1.5 ? (double.PositiveInfinity, double.PositiveInfinity) : (c.Lambda / c.Sigma, double.PositiveInfinity);
        }

        double n = Math.Sqrt(Math.Max(0, 1 - c.Sigma) / c.Kappa);
        n = Math.Max(1, n);
        return (Throughput(c.Lambda, c.Sigma, c.Kappa, n), n);
    }

    private readonly record struct Candidate(double Lambda, double Sigma, double Kappa, double Sse);

    // σ = 10^u − floor and κ = 10^v − floor: the search moves in log space, reaches 0 at the low end and 1 at the top.
    private static Candidate Evaluate(double[] n, double[] x, double u, double v)
    {
        double sigma = Math.Max(0, Math.Pow(10, u) - SigmaFloor);
        double kappa = Math.Max(0, Math.Pow(10, v) - KappaFloor);
        double sxf = 0, sff = 0;
        for (int i = 0; i < n.Length; i++)
        {
            double f = Throughput(1, sigma, kappa, n[i]);
            sxf += x[i] * f;
            sff += f * f;
        }

        double lambda = sff <= 0 ? 0 : sxf / sff;
        double sse = 0;
        for (int i = 0; i < n.Length; i++)
        {
            double e = x[i] - (lambda * Throughput(1, sigma, kappa, n[i]));
            sse += e * e;
        }

        return new Candidate(lambda, sigma, kappa, sse);
    }

    private static readonly double UMin = Math.Log10(SigmaFloor), VMin = Math.Log10(KappaFloor);

    private const double FineStep = 0.15;
    private const double CoarseStep = 0.6;

    private static Candidate Grid(double[] n, double[] x, double step = FineStep)
    {
        Candidate best = default;
        bool any = false;
        for (double u = UMin; u <= 0.0001; u += step)
        {
            for (double v = VMin; v <= 0.0001; v += step)
            {
                var c = Evaluate(n, x, u, v);
                if (!any || c.Sse < best.Sse)
                {
                    (best, any) = (c, true);
                }
            }
        }

        return best;
    }

    private static Candidate Search(double[] n, double[] x, Candidate start)
    {
        double u = Math.Log10(start.Sigma + SigmaFloor), v = Math.Log10(start.Kappa + KappaFloor);
        var best = Evaluate(n, x, u, v);
        for (double step = 0.3; step > 1e-4; step /= 2)
        {
            bool moved = true;
            for (int guard = 0; moved && guard < 200; guard++)
            {
                moved = false;
                foreach (var (du, dv) in (ReadOnlySpan<(double, double)>)[(step, 0), (-step, 0), (0, step), (0, -step), (step, step), (-step, -step), (step, -step), (-step, step)])
                {
                    double nu = Math.Clamp(u + du, UMin, 0), nv = Math.Clamp(v + dv, VMin, 0);
                    var c = Evaluate(n, x, nu, nv);
                    if (c.Sse < best.Sse * (1 - 1e-12))
                    {
                        (best, u, v, moved) = (c, nu, nv, true);
                    }
                }
            }
        }

        return best;
    }
}
