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

    public static bool IsLoopback(HttpContext context) => context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip);

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
