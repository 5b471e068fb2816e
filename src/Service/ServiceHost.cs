namespace Constellation.Service;

/// <summary>
/// The service host: what <c>constellation serve</c> runs in its own process, and what the tests start on a test
/// server. Reads as the table of contents of the service.
/// </summary>
public static class ServiceHost
{
    /// <summary>
    /// Builds the service from command-line style settings (<c>--urls=…</c>, <c>--Constellation:PlansFolder=…</c>),
    /// the environment (<c>Constellation__…</c>) and an optional appsettings.json in the working directory;
    /// <paramref name="configure"/> runs before the service is added (tests swap the server and add settings).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(ServiceHost).Assembly.GetName().Name });
        builder.Logging
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true; // a run's lines carry "run RUN-ID"
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "HH:mm:ss ";
            })
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None) // a failed start is reported by serve, one line per problem
            .AddFilter("Hangfire", LogLevel.Warning)
            .AddFilter("Quartz", LogLevel.Warning);
        configure?.Invoke(builder);
        builder.AddConstellationService();

        var app = builder.Build();
        app.UseConstellationSecurity();
        app.MapHealthAndMetrics();
        app.MapRunsApi();
        app.MapReports();
        app.MapDashboard();
        return app;
    }
}
