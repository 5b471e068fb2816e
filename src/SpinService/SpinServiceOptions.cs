using System.ComponentModel.DataAnnotations;

namespace Constellation.SpinService;

/// <summary>Which role this instance serves, bound from configuration key <c>Role</c>.</summary>
public sealed class ServiceOptions
{
    public const string Spin = "spin";
    public const string WebApp = "webapp";

    /// <summary>spin (the CPU sink) or webapp (the control page). Default: spin.</summary>
    [Required]
    [RegularExpression("^(spin|webapp)$", ErrorMessage = "Role must be 'spin' or 'webapp'.")]
    public string Role { get; set; } = Spin;
}

/// <summary>The spin endpoint's settings, bound from the <c>Spin</c> section.</summary>
public sealed class SpinOptions
{
    /// <summary>How long /api/spin burns CPU without ?ms=. Default: 2000 (the original demo's 2 s).</summary>
    [Range(0, 60_000)]
    public int DefaultMs { get; set; } = 2000;

    /// <summary>Upper clamp for ?ms=, so one request cannot hold a core for long. Default: 30000.</summary>
    [Range(1, 600_000)]
    public int MaxMs { get; set; } = 30_000;
}
