using Constellation.SpinService;

var builder = WebApplication.CreateBuilder(args);
builder.AddSpinService();

var app = builder.Build();
app.MapSpinService();
app.StopWithParent();
app.Run();

/// <summary>Entry point; public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
