using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Constellation.Tests;

/// <summary>A real Kestrel server on a free loopback port with endpoints that misbehave on purpose.</summary>
public sealed class TestTarget : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _current;
    private int _maxConcurrent;
    private long _requests;
    private volatile TaskCompletionSource _gate = CompletedGate();

    private TestTarget(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;
    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests served per path (without the query).</summary>
    public IReadOnlyDictionary<string, long> RequestsByPath => _byPath;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byPath = new(StringComparer.Ordinal);

    // The login journey: a session id (cookie) → (user, token); the accounts each user read with both.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string User, string Token)> _sessions = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _accounts = new(StringComparer.Ordinal);
    private long _sessionSeq;

    /// <summary>Successful GET /account per user: the request carried the session cookie and the bearer token its login gave.</summary>
    public IReadOnlyDictionary<string, long> AccountsRead => _accounts;

    public Uri Url(string pathAndQuery) => new(BaseUrl, pathAndQuery);

    public static async Task<TestTarget> StartAsync(TimeSpan? keepAliveTimeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (keepAliveTimeout is { } keepAlive)
        {
            builder.WebHost.ConfigureKestrel(o => o.Limits.KeepAliveTimeout = keepAlive);
        }

        builder.Logging.ClearProviders();
        var app = builder.Build();
        var target = new TestTarget(app);
        target.Map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        target.BaseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
        return target;
    }

    /// <summary>Holds every request arriving from now on until <see cref="OpenGate"/>.</summary>
    public void CloseGate() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void OpenGate() => _gate.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        OpenGate();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static TaskCompletionSource CompletedGate()
    {
        var tcs = new TaskCompletionSource();
        tcs.SetResult();
        return tcs;
    }

    private void Map(WebApplication app)
    {
        app.Use(async (ctx, next) =>
        {
            Interlocked.Increment(ref _requests);
            _byPath.AddOrUpdate(ctx.Request.Path.Value ?? "/", 1, (_, n) => n + 1);
            int now = Interlocked.Increment(ref _current);
            int max;
            while (now > (max = Volatile.Read(ref _maxConcurrent)) && Interlocked.CompareExchange(ref _maxConcurrent, now, max) != max)
            {
            }

            try
            {
                await _gate.Task;
                await next(ctx);
            }
            finally
            {
                Interlocked.Decrement(ref _current);
            }
        });
        // A login journey: POST /login {"user","password"} (password = user + "-pw") sets a session cookie and answers
        // a token; GET /account answers 200 only with that cookie and "Authorization: Bearer TOKEN" of the same session.
        app.MapPost("/login", async (HttpContext ctx) =>
        {
            using var doc = await System.Text.Json.JsonDocument.ParseAsync(ctx.Request.Body);
            var user = doc.RootElement.TryGetProperty("user", out var u) ? u.GetString() : null;
            var password = doc.RootElement.TryGetProperty("password", out var p) ? p.GetString() : null;
            if (user is null || password != user + "-pw")
            {
                return Results.StatusCode(401);
            }

            var n = Interlocked.Increment(ref _sessionSeq);
            var sid = $"s{n}";
            var token = $"tok-{user}-{n}";
            _sessions[sid] = (user, token);
            ctx.Response.Headers.Append("Set-Cookie", $"sid={sid}; Path=/; HttpOnly");
            ctx.Response.Headers.Append("Set-Cookie", "theme=dark; Path=/static");
            return Results.Json(new { token, user });
        });
        app.MapGet("/account", (HttpContext ctx) =>
        {
            var sid = ctx.Request.Cookies["sid"];
            if (sid is null || !_sessions.TryGetValue(sid, out var session) || ctx.Request.Headers.Authorization.ToString() != $"Bearer {session.Token}")
            {
                return Results.StatusCode(401);
            }

            _accounts.AddOrUpdate(session.User, 1, (_, c) => c + 1);
            return Results.Text($"<p>account of <b id=\"user\">{session.User}</b></p>");
        });
        app.MapGet("/ok", () => Results.Text("ok"));
        app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
        app.MapGet("/slow", async (int ms) =>
        {
            await Task.Delay(ms);
            return Results.Text("slow");
        });
        app.MapGet("/chunked", async (HttpContext ctx) =>
        {
            // No Content-Length: Kestrel frames the body as chunked.
            await ctx.Response.WriteAsync("first chunk;");
            await ctx.Response.Body.FlushAsync();
            await ctx.Response.WriteAsync(new string('x', 20_000));
        });
        // What the JMeter examples (examples/jmeter) ask of spin and webapp.
        app.MapGet("/api/spin", (int? ms) => Results.Text($"spun for {ms ?? 0} ms"));
        app.MapGet("/index.html", () => Results.Content("<html><title>Constellation static page</title></html>", "text/html"));
        app.MapGet("/", () => Results.Text("webapp"));
        app.MapGet("/text", (string body, int? code) => Results.Text(body, statusCode: code ?? 200));
        app.MapGet("/close", (HttpContext ctx) =>
        {
            ctx.Response.Headers.Connection = "close";
            return Results.Text("bye");
        });
        app.MapGet("/bytes", (int n) => Results.Bytes(new byte[n], "application/octet-stream"));
        app.MapPost("/length", async (HttpContext ctx) =>
        {
            long length = 0;
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(buffer)) > 0)
            {
                length += read;
            }

            return Results.Text($"length={length}");
        });
        app.MapGet("/fail-after", (int n) => Interlocked.Read(ref _requests) > n ? Results.StatusCode(500) : Results.Text("ok"));
    }
}
