using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Constellation.Service;

/// <summary>The service's configuration (section "Constellation"), checked at start with every problem listed.</summary>
public sealed class ServiceOptions
{
    public const string Section = "Constellation";

    /// <summary>The only plans the service runs: *.yaml in this folder, by name (the file name without .yaml).</summary>
    [Required]
    public string PlansFolder { get; set; } = "plans";

    /// <summary>Where runs are written (and served from under /runs/).</summary>
    [Required]
    public string RunsFolder { get; set; } = Path.Combine("artifacts", "runs");

    /// <summary>Nightly (or any cron) runs: plan name and Quartz cron expression (UTC).</summary>
    public List<ScheduleOptions> Schedules { get; set; } = [];

    /// <summary>Who may use the API and dashboard from anywhere but loopback.</summary>
    public List<UserOptions> Users { get; set; } = [];

    /// <summary>Longest duration override a caller may ask for.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// Reverse proxies (IP addresses) whose X-Forwarded-For/-Proto/-Host are believed. A request carrying forwarding
    /// headers from anyone else is never local.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Origins browsers reach the service under besides its own (a proxy's public https://host), for the cross-site check.</summary>
    public List<string> PublicOrigins { get; set; } = [];
}

/// <summary>A scheduled run.</summary>
public sealed class ScheduleOptions
{
    [Required]
    public string Plan { get; set; } = string.Empty;

    /// <summary>Quartz cron (seconds first), UTC. Default: every night at 02:00.</summary>
    public string Cron { get; set; } = "0 0 2 * * ?";
}

/// <summary>A user: an API key (sent as X-Api-Key, or as the password of Basic auth), stored as its SHA-256.</summary>
public sealed class UserOptions
{
    [Required]
    public string Name { get; set; } = string.Empty;

    /// <summary>operator (start and cancel runs) or viewer (read only).</summary>
    public string Role { get; set; } = Roles.Viewer;

    /// <summary>Hex SHA-256 of the key: `printf %s "$KEY" | sha256sum`.</summary>
    [Required]
    public string ApiKeySha256 { get; set; } = string.Empty;
}

public static class Roles
{
    public const string Operator = "operator";
    public const string Viewer = "viewer";
}

/// <summary>Every configuration problem at once, with the key it is about.</summary>
public sealed class ServiceOptionsValidator(IConfiguration configuration) : IValidateOptions<ServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceOptions o)
    {
        var errors = new List<string>();

        // Exposure is explicit: listening beyond this machine needs a user to be configured.
        var urls = (configuration["urls"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (o.Users.Count == 0 && urls.FirstOrDefault(u => !IsLoopbackUrl(u)) is { } exposed)
        {
            errors.Add($"Urls: '{exposed}' listens beyond this machine and no user is configured: add an operator (Constellation:Users:0:Name=NAME, :Role=operator, :ApiKeySha256=$(printf %s \"$KEY\" | sha256sum | cut -d' ' -f1)) or listen on http://127.0.0.1:PORT");
        }

        for (int i = 0; i < o.TrustedProxies.Count; i++)
        {
            if (!System.Net.IPAddress.TryParse(o.TrustedProxies[i], out _))
            {
                errors.Add($"Constellation:TrustedProxies:{i}: must be an IP address, got '{o.TrustedProxies[i]}'");
            }
        }

        for (int i = 0; i < o.PublicOrigins.Count; i++)
        {
            if (!Uri.TryCreate(o.PublicOrigins[i], UriKind.Absolute, out var origin) || origin.PathAndQuery != "/" || (origin.Scheme != Uri.UriSchemeHttp && origin.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"Constellation:PublicOrigins:{i}: must be an origin such as https://constellation.example.com, got '{o.PublicOrigins[i]}'");
            }
        }
        if (!Directory.Exists(o.PlansFolder))
        {
            errors.Add($"Constellation:PlansFolder: '{Path.GetFullPath(o.PlansFolder)}' does not exist");
        }

        for (int i = 0; i < o.Schedules.Count; i++)
        {
            var s = o.Schedules[i];
            if (TryCron(s.Cron) is null)
            {
                errors.Add($"Constellation:Schedules:{i}:Cron: '{s.Cron}' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week, e.g. 0 0 2 * * ?)");
            }

            if (Directory.Exists(o.PlansFolder) && !File.Exists(Path.Combine(o.PlansFolder, s.Plan + ".yaml")))
            {
                errors.Add($"Constellation:Schedules:{i}:Plan: no plan '{s.Plan}' in {o.PlansFolder}");
            }
        }

        for (int i = 0; i < o.Users.Count; i++)
        {
            var u = o.Users[i];
            if (u.Role is not (Roles.Operator or Roles.Viewer))
            {
                errors.Add($"Constellation:Users:{i}:Role: must be operator or viewer, got '{u.Role}'");
            }

            if (u.ApiKeySha256.Length != 64 || !u.ApiKeySha256.All(Uri.IsHexDigit))
            {
                errors.Add($"Constellation:Users:{i}:ApiKeySha256: must be the 64 hex digits of a SHA-256 (the key itself is never configured)");
            }
        }

        if (o.MaxDuration <= TimeSpan.Zero)
        {
            errors.Add("Constellation:MaxDuration: must be > 0");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Whether a listen URL stays on this machine (127.0.0.0/8, ::1, localhost).</summary>
    public static bool IsLoopbackUrl(string url)
    {
        var text = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var u))
        {
            return false;
        }

        return u.IsLoopback || (System.Net.IPAddress.TryParse(u.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
    }

    /// <summary>The cron expression (UTC), or null when it is not one.</summary>
    public static Quartz.CronExpression? TryCron(string text)
    {
        try
        {
            return new Quartz.CronExpression(text, TimeZoneInfo.Utc);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
