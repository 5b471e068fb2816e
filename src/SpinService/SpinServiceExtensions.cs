using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Constellation.SpinService;

/// <summary>Wires the SpinService: options, health, metrics, and the endpoints of its role.</summary>
public static class SpinServiceExtensions
{
    public static WebApplicationBuilder AddSpinService(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ServiceOptions>().Bind(builder.Configuration).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SpinOptions>().BindConfiguration("Spin").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        return builder;
    }

    public static WebApplication MapSpinService(this WebApplication app)
    {
        var role = app.Services.GetRequiredService<IOptions<ServiceOptions>>().Value.Role;
        app.UseHttpMetrics(o => o.ReduceStatusCodeCardinality());
        app.MapHealthChecks("/health/live");
        app.MapHealthChecks("/health/ready");
        app.MapMetrics("/metrics");

        if (role == ServiceOptions.Spin)
        {
            app.MapGet("/api/spin", Spin);
            app.MapGet("/", () => TypedResults.Text("spin: GET /api/spin?ms=N burns CPU for N milliseconds\n"));
        }
        else
        {
            app.MapGet("/", () => TypedResults.Text(ControlPage.Html, "text/html; charset=utf-8"));
        }

        // One machine-readable line once listening, so a launcher that asked for port 0 learns the port.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Console.Out.WriteLine($"SPINSERVICE_READY role={role} url={addresses.FirstOrDefault()}");
            Console.Out.Flush();
        });
        return app;
    }

    /// <summary>Burns CPU on the request thread for the asked time and says how long it really spun.</summary>
    internal static Results<ContentHttpResult, ProblemHttpResult> Spin(string? ms, IOptions<SpinOptions> options, TimeProvider time)
    {
        var o = options.Value;
        int wanted = o.DefaultMs;
        if (ms is not null && (!int.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out wanted)))
        {
            return TypedResults.Problem(
                detail: $"ms must be a whole number of milliseconds from 0 to {o.MaxMs}, got '{ms}'.",
                statusCode: StatusCodes.Status400BadRequest,
                title: "Invalid spin time");
        }

        wanted = Math.Min(wanted, o.MaxMs);
        var (cpu, wall) = Burn(TimeSpan.FromMilliseconds(wanted), time);
        return TypedResults.Text(
            string.Create(CultureInfo.InvariantCulture, $"spun {cpu.TotalMilliseconds:0} ms of CPU in {wall.TotalMilliseconds:0} ms\n"),
            "text/plain; charset=utf-8");
    }

    /// <summary>
    /// Burns <paramref name="duration"/> of this thread's CPU time (wall time where the OS has no thread CPU
    /// clock), so under contention a request takes longer, as a real CPU-bound handler does.
    /// Returns the CPU time and the wall time it took.
    /// </summary>
    internal static (TimeSpan Cpu, TimeSpan Wall) Burn(TimeSpan duration, TimeProvider time)
    {
        long start = time.GetTimestamp();
        var cpuStart = ThreadCpu.Now();
        double x = 1.0001;
        while (true)
        {
            for (int i = 0; i < 2000; i++)
            {
                x = Math.Sqrt((x * 1.0001) + i);
            }

            var cpu = ThreadCpu.Now() is { } now && cpuStart is { } begin ? now - begin : time.GetElapsedTime(start);
            if (cpu >= duration)
            {
                GC.KeepAlive(x);
                return (cpu, time.GetElapsedTime(start));
            }
        }
    }
}
