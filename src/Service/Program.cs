using Constellation.Service;

var builder = WebApplication.CreateBuilder(args);
builder.AddConstellationService();

var app = builder.Build();
app.UseConstellationSecurity();
app.MapHealthAndMetrics();
app.MapRunsApi();
app.MapReports();
app.MapDashboard();
app.Run();

/// <summary>The service host (`constellation serve`); public for WebApplicationFactory in the tests.</summary>
public partial class Program;
