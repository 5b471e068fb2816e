using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>
/// Loopback callers are trusted as the local operator (one command works with nothing configured); anyone else
/// needs an API key (X-Api-Key, or Basic auth with the key as password) whose SHA-256 is configured. Keys are
/// compared in constant time and never stored in clear.
/// </summary>
public sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> scheme, ILoggerFactory logger, UrlEncoder encoder, IOptionsMonitor<ServiceOptions> service)
    : AuthenticationHandler<AuthenticationSchemeOptions>(scheme, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    /// <summary>Headers a proxy or a CDN adds: a request that carries one came through something, and is never the local operator.</summary>
    public static readonly string[] ForwardingHeaders =
    [
        "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Server", "Forwarded", "X-Real-IP", "X-Original-For", "Via",
        "CF-Connecting-IP", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "Fastly-Client-IP",
    ];

    /// <summary>
    /// A caller on this machine, not through a proxy, that asked for this machine by a loopback name: the local
    /// operator. The Host check stops DNS rebinding — a web page whose own name was made to resolve to 127.0.0.1
    /// reaches the service from the browser on this machine, but under its own name, never as the operator.
    /// </summary>
    public static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip) && IsLoopbackHost(context.Request.Host.Host)
        && !ForwardingHeaders.Any(h => context.Request.Headers.ContainsKey(h));

    /// <summary>localhost (or a name under .localhost), or a loopback address.</summary>
    public static bool IsLoopbackHost(string host)
    {
        var name = host.TrimEnd('.');
        return name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(name.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? key = Request.Headers[HeaderName].FirstOrDefault();
        string? basicUser = null;
        if (key is null && Request.Headers.Authorization.FirstOrDefault() is { } auth && auth.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..].Trim()));
                var colon = pair.IndexOf(':');
                if (colon > 0)
                {
                    (basicUser, key) = (pair[..colon], pair[(colon + 1)..]);
                }
            }
            catch (FormatException)
            {
                return Task.FromResult(AuthenticateResult.Fail("malformed Basic credentials"));
            }
        }

        if (key is null)
        {
            return Task.FromResult(IsLoopback(Context) ? Success("local", Roles.Operator) : AuthenticateResult.NoResult());
        }

        var hash = Encoding.ASCII.GetBytes(Sha256Hex(key));
        foreach (var user in service.CurrentValue.Users)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(user.ApiKeySha256.ToLowerInvariant())) && (basicUser is null || basicUser == user.Name))
            {
                return Task.FromResult(Success(user.Name, user.Role));
            }
        }

        return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Basic realm=\"constellation\", ApiKey header=\"X-Api-Key\"";
        return Task.CompletedTask;
    }

    private AuthenticateResult Success(string name, string role)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}

/// <summary>Authorization policies: viewers read, operators also start and cancel.</summary>
public static class Policies
{
    public const string View = "view";
    public const string Operate = "operate";
}

/// <summary>
/// CSRF: a state-changing API call must carry the X-Constellation-Request header. Browsers do not send custom
/// headers across sites without a CORS preflight this service never grants, so a forged form post cannot start
/// or cancel a run even with cached Basic credentials.
/// </summary>
public sealed class CsrfHeaderFilter : IEndpointFilter
{
    public const string HeaderName = "X-Constellation-Request";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Request.Headers.ContainsKey(HeaderName)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem($"state-changing calls need the {HeaderName} header (CSRF protection)", statusCode: StatusCodes.Status400BadRequest));
}

/// <summary>
/// Cross-site protection for every state-changing request, the API's and the dashboard's alike: a POST, PUT, PATCH or
/// DELETE that a browser marks as coming from another site (<c>Sec-Fetch-Site</c> other than same-origin or none), or
/// whose <c>Origin</c> (else <c>Referer</c>) is not this service's own origin or a configured public origin, is refused
/// with 403. A request without those headers is not a browser's (curl, CI): the API still wants its
/// X-Constellation-Request header, the dashboard its antiforgery token.
/// </summary>
public sealed partial class SameOriginMiddleware(RequestDelegate next, IOptionsMonitor<ServiceOptions> options, ILogger<SameOriginMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (Refusal(context.Request, options.CurrentValue.PublicOrigins) is { } why)
        {
            Refused(logger, method, context.Request.Path, why);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsJsonAsync(
                new { title = "cross-site request refused", status = 403, detail = $"{why}: state-changing requests must come from this service's own pages or from scripts" },
                context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>Why the request looks cross-site, or null.</summary>
    public static string? Refusal(HttpRequest request, IReadOnlyCollection<string> publicOrigins)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && site is not ("same-origin" or "none"))
        {
            return $"the browser marks it {site} (Sec-Fetch-Site)";
        }

        var own = $"{request.Scheme}://{request.Host}";
        bool Allowed(string origin) => string.Equals(origin, own, StringComparison.OrdinalIgnoreCase) || publicOrigins.Any(o => string.Equals(o.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            return Allowed(origin) ? null : $"it comes from origin {origin}";
        }

        var referer = request.Headers.Referer.ToString();
        if (referer.Length > 0)
        {
            return Uri.TryCreate(referer, UriKind.Absolute, out var r) && Allowed(r.GetLeftPart(UriPartial.Authority)) ? null : "it comes from another page (Referer)";
        }

        return null;
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "refused {Method} {Path}: {Why}")]
    private static partial void Refused(ILogger logger, string method, string path, string why);
}
