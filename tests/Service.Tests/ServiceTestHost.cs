using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Constellation.Service.Tests;

/// <summary>
/// The service (<see cref="ServiceHost"/>) on an in-memory test server, started on first use: what
/// WebApplicationFactory did while the service was its own program (it is a library hosted by the CLI now).
/// </summary>
internal sealed class ServiceTestHost(IReadOnlyDictionary<string, string?> settings) : IAsyncDisposable, IDisposable
{
    private WebApplication? _app;

    /// <summary>The test server; starting it throws what the service's start throws (options validation).</summary>
    public TestServer Server => (TestServer)App.Services.GetRequiredService<IServer>();

    public IServiceProvider Services => App.Services;

    private WebApplication App
    {
        get
        {
            if (_app is null)
            {
                var app = ServiceHost.Build([], b =>
                {
                    b.WebHost.UseTestServer();
                    b.Configuration.AddInMemoryCollection(settings);
                    b.Services.AddSingleton<IStartupFilter, RemoteAddressFilter>();
                });
                try
                {
                    app.StartAsync().GetAwaiter().GetResult();
                }
                catch
                {
                    ((IDisposable)app).Dispose();
                    throw;
                }

                _app = app;
            }

            return _app;
        }
    }

    /// <summary>A client of the test server; redirects are not followed (the tests look at them).</summary>
    public HttpClient CreateClient() => Server.CreateClient();

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
