using Hangfire;
using Hangfire.Dashboard;
using Hangfire.PostgreSql;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Prometheus;
using Quartz;

namespace Constellation.Service;

/// <summary>How the service host is put together; Program.cs reads as the table of contents.</summary>
public static class ServiceExtensions
{
    public static WebApplicationBuilder AddConstellationService(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ServiceOptions>().Bind(builder.Configuration.GetSection(ServiceOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServiceOptions>, ServiceOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks();
        services.AddAuthentication(ApiKeyHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        services.AddHttpContextAccessor();

        // The dashboard's forms carry an antiforgery token (Hangfire checks it on every POST when this is registered),
        // its cookie never sent cross-site.
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "constellation.antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.View, p => p.RequireRole(Roles.Viewer, Roles.Operator))
            .AddPolicy(Policies.Operate, p => p.RequireRole(Roles.Operator));

        // Hangfire keeps the jobs: in memory (nothing else needed), or PostgreSQL when a connection string is set.
        // One worker: one run at a time.
        var hangfireDb = builder.Configuration.GetConnectionString("Hangfire");
        services.AddHangfire((provider, c) =>
        {
            c.UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();

            // A job's state is its run's verdict; the dashboard's user is recorded; nothing is retried by default
            // (a run is written once).
            GlobalJobFilters.Filters.Remove(typeof(AutomaticRetryAttribute));
            c.UseFilter(new AutomaticRetryAttribute { Attempts = 0 });
            c.UseFilter(new RunJobFilter(provider));
            if (string.IsNullOrWhiteSpace(hangfireDb))
            {
                c.UseInMemoryStorage();
            }
            else
            {
                c.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(hangfireDb));
            }
        });
        services.AddHangfireServer(o => o.WorkerCount = 1);
        services.AddSingleton<RunService>();
        services.AddSingleton<PlanCatalog>();
        services.AddHostedService<RecoveryService>(); // registered before Hangfire's server starts taking jobs
        services.AddHostedService(sp => sp.GetRequiredService<PlanCatalog>()); // then keeps the buttons in step

        // Quartz holds the schedules; a trigger enqueues the same Hangfire job as the API.
        var schedules = builder.Configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>()?.Schedules ?? [];
        builder.AddQuartz(q =>
        {
            for (int i = 0; i < schedules.Count; i++)
            {
                var (plan, cronText, name) = (schedules[i].Plan, schedules[i].Cron, $"scheduled-{schedules[i].Plan}-{i}");
                if (ServiceOptionsValidator.TryCron(cronText) is not { } cron)
                {
                    continue; // the options validator reports it at start
                }

                // A run missed while the service was down is not run late: the next night is the next run.
                q.ScheduleJob<ScheduledRunJob>(
                    t => t.WithIdentity(name + "-trigger").WithCronSchedule(cron, c => c.InTimeZone(TimeZoneInfo.Utc).WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)),
                    j => j.WithIdentity(name).UsingJobData("plan", plan));
            }
        });
        builder.AddQuartzHostedService(o => o.WaitForJobsToComplete = false);
        return builder;
    }

    public static WebApplication UseConstellationSecurity(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // Forwarding headers are believed only from the configured proxies; from anyone else they make a request
        // remote (never the local operator) and are otherwise ignored.
        var proxies = (app.Configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>()?.TrustedProxies ?? []).Where(p => System.Net.IPAddress.TryParse(p, out _)).ToList();
        if (proxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedHost };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (var p in proxies)
            {
                forwarded.KnownProxies.Add(System.Net.IPAddress.Parse(p));
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseMiddleware<SameOriginMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    public static WebApplication MapHealthAndMetrics(this WebApplication app)
    {
        app.MapHealthChecks("/health/live").AllowAnonymous();
        app.MapHealthChecks("/health/ready").AllowAnonymous();
        app.UseHttpMetrics();
        app.MapMetrics("/metrics").RequireAuthorization(Policies.View);
        app.MapOpenApi("/openapi/v1.json").RequireAuthorization(Policies.View);
        return app;
    }

    /// <summary>The runs folder as static files: /runs/ (the runs index) and /runs/RUN-ID/index.html.</summary>
    public static WebApplication MapReports(this WebApplication app)
    {
        app.MapGet("/runs/{**path}", (string? path, IOptions<ServiceOptions> o) =>
        {
            var root = Path.GetFullPath(o.Value.RunsFolder);
            var file = Path.GetFullPath(Path.Combine(root, string.IsNullOrEmpty(path) ? "index.html" : path));
            if (Directory.Exists(file))
            {
                file = Path.Combine(file, "index.html");
            }

            if (!file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(file))
            {
                return Results.NotFound();
            }

            // A distributed run's exchange (RUN/agents/) is the agents' working area, never a report: not served.
            var parts = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
            if (parts.Length > 2 && parts[1] == Constellation.Runs.RunPipeline.ExchangeFolder)
            {
                return Results.NotFound();
            }

            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".json" => "application/json",
                ".md" => "text/markdown; charset=utf-8",
                ".xml" => "application/xml",
                _ => "text/plain; charset=utf-8",
            };
            return Results.File(file, type);
        }).RequireAuthorization(Policies.View);
        return app;
    }

    /// <summary>Hangfire's dashboard: loopback or authenticated users; viewers get its read-only mode.</summary>
    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new DashboardAuthorization()],
            IsReadOnlyFunc = c => !c.GetHttpContext().User.IsInRole(Roles.Operator),
            DisplayStorageConnectionString = false,
            DashboardTitle = "Constellation runs",
            AppPath = "/runs/", // "Back to site": the runs index
        });
        return app;
    }

    private sealed class DashboardAuthorization : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context)
        {
            var http = context.GetHttpContext();
            if (http.User.Identity?.IsAuthenticated == true)
            {
                return true;
            }

            http.Response.Headers.WWWAuthenticate = "Basic realm=\"constellation\"";
            return false;
        }
    }
}

/// <summary>A Quartz trigger fired: queue the plan's run (skipped, and logged, when one is already going).</summary>
public sealed class ScheduledRunJob(RunService runs, ILogger<ScheduledRunJob> logger) : IJob
{
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var plan = context.MergedJobDataMap.GetString("plan")!;
        var (run, _, problem) = runs.Start(plan, new RunOverrides(), "schedule", "quartz");
        if (run is null)
        {
            logger.LogWarning("scheduled run of {Plan} not started: {Problem}", plan, problem);
        }

        return ValueTask.CompletedTask;
    }
}
