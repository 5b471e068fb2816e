using Constellation.Core.Results;

namespace Constellation.Core.Tests.Results;

/// <summary>The capacity model on seconds whose truth is known.</summary>
public sealed class UslTests
{
    [Fact]
    public void Fit_CurveWithAPeak_RecoversTheLawAndItsPeak()
    {
        // λ 10, σ 0.05, κ 0.0005: the peak is at √(0.95/0.0005) = 43.6 concurrent, 139.0 ok/s. ±3% noise.
        var points = Curve(10, 0.05, 0.0005, Enumerable.Range(1, 60).Select(n => (double)n), noise: 0.03);

        var model = Usl.Fit(points);

        var fit = model.Fit.ShouldNotBeNull(model.PoorFit);
        model.RSquared!.Value.ShouldBeGreaterThan(0.95);
        fit.PeakOkPerSecond.Value.ShouldBe(Usl.Throughput(10, 0.05, 0.0005, Math.Sqrt(0.95 / 0.0005)), tolerance: 139 * 0.05);
        fit.PeakConcurrency.ShouldNotBeNull().Value.ShouldBe(43.6, tolerance: 43.6 * 0.25);
        fit.Sigma.Value.ShouldBe(0.05, tolerance: 0.01);
        fit.Kappa.Value.ShouldBe(0.0005, tolerance: 0.0002);
        fit.PeakBeyondRamp.ShouldBeFalse();
        model.Describe().ShouldStartWith("predicted peak 1");
    }

    [Fact]
    public void Fit_Intervals_CoverTheTruthMostOfTheTime()
    {
        // A 95% interval should hold the true value in about 19 of 20 histories; block resampling keeps it from being
        // too narrow. Twenty ramps with their own noise.
        double truePeak = Usl.Throughput(10, 0.05, 0.0005, Math.Sqrt(0.95 / 0.0005));
        int peakCovered = 0, sigmaCovered = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var fit = Usl.Fit(Curve(10, 0.05, 0.0005, Enumerable.Range(1, 60).Select(n => (double)n), noise: 0.05, seed)).Fit.ShouldNotBeNull();
            peakCovered += fit.PeakOkPerSecond.Low <= truePeak && fit.PeakOkPerSecond.High >= truePeak ? 1 : 0;
            sigmaCovered += fit.Sigma.Low <= 0.05 && fit.Sigma.High >= 0.05 ? 1 : 0;
        }

        peakCovered.ShouldBeGreaterThanOrEqualTo(16);
        sigmaCovered.ShouldBeGreaterThanOrEqualTo(16);
    }

    [Fact]
    public void Fit_ThroughputLevelsOff_PeakIsTheCeilingWithoutAConcurrency()
    {
        // A saturated server with a queue: σ 0.1 and κ 0, so ok/s approaches λ/σ = 50 as the queue grows.
        var points = Curve(5, 0.1, 0, Enumerable.Range(0, 40).Select(i => 1 + (i * 5.0)), noise: 0.02);

        var fit = Usl.Fit(points).Fit.ShouldNotBeNull();

        fit.PeakOkPerSecond.Value.ShouldBe(50, tolerance: 50 * 0.1);
        if (fit.PeakConcurrency is { } n)
        {
            n.Value.ShouldBeGreaterThan(100); // a κ the noise cannot tell from 0: far out
        }
    }

    [Fact]
    public void Fit_StillLinear_IsAPoorFitNotANumber()
    {
        var model = Usl.Fit(Curve(10, 0, 0, Enumerable.Range(1, 30).Select(n => (double)n), noise: 0.01));

        model.Fit.ShouldBeNull();
        model.PoorFit.ShouldNotBeNull().ShouldContain("did not reach a limit");
        model.Describe().ShouldStartWith("no capacity model: ");
    }

    [Fact]
    public void Fit_PureNoise_IsAPoorFit()
    {
        var random = new Random(3);
        var points = Enumerable.Range(1, 40).Select(n => new CapacityPoint(n, 50 + (random.NextDouble() * 40))).ToList();

        var model = Usl.Fit(points);

        model.Fit.ShouldBeNull();
        model.PoorFit.ShouldNotBeNull();
    }

    [Fact]
    public void Fit_TooFewSecondsOrNoRamp_SaysWhy()
    {
        Usl.Fit(Curve(10, 0.05, 0.001, [1, 2, 3, 4, 5], 0)).PoorFit.ShouldBe("5 seconds with answers; a model needs at least 8");
        Usl.Fit(Curve(10, 0.05, 0.001, Enumerable.Range(0, 10).Select(i => 10 + (i * 0.5)), 0)).PoorFit.ShouldNotBeNull().ShouldContain("at least double");
    }

    [Fact]
    public void Fit_IsTheSameEveryTime()
    {
        var points = Curve(10, 0.05, 0.0005, Enumerable.Range(1, 60).Select(n => (double)n), noise: 0.03);

        var (a, b) = (Usl.Fit(points), Usl.Fit(points));

        a.Fit.ShouldBe(b.Fit, "a rebuilt run.json must equal the first one byte for byte");
        a.Measured.ShouldBe(b.Measured);
        a.RSquared.ShouldBe(b.RSquared);
    }

    private static List<CapacityPoint> Curve(double lambda, double sigma, double kappa, IEnumerable<double> concurrency, double noise, int seed = 7)
    {
        var random = new Random(seed);
        return concurrency.Select(n => new CapacityPoint(n, Usl.Throughput(lambda, sigma, kappa, n) * (1 + (noise * ((random.NextDouble() * 2) - 1))))).ToList();
    }
}
