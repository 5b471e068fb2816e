namespace Constellation.Core.Gate;

/// <summary>
/// A scaling metric's threshold name taken apart: <c>scale.DEPLOYMENT.METRIC</c>, <c>scale.DEPLOYMENT.PHASE.STAT</c>
/// (a reaction phase), <c>nodes.METRIC</c> or <c>control.TARGET.METRIC</c>. Read from the right, so a deployment
/// named with dots (<c>api.v2</c>, a valid Kubernetes name) is one deployment.
/// </summary>
public sealed record ScalingName(string Kind, string? Subject, string Metric, string? Stat = null)
{
    public static ScalingName? Parse(string name)
    {
        var parts = name.Split('.');
        return parts switch
        {
            ["nodes", var metric] => new ScalingName("nodes", null, metric),
            ["control", .. var target, var metric] when target.Length > 0 => new ScalingName("control", string.Join('.', target), metric),
            ["scale", .. var d, var phase, var stat] when d.Length > 0 && ThresholdParser.ReactionStats.Contains(stat) && Results.ScaleReactionAnalyzer.PhaseNames.Any(p => p.Name == phase)
                => new ScalingName("scale", string.Join('.', d), phase, stat),
            ["scale", .. var d, var metric] when d.Length > 0 => new ScalingName("scale", string.Join('.', d), metric),
            _ => null,
        };
    }

    /// <summary>A reaction phase's statistic over the load steps.</summary>
    public bool IsReaction => Stat is not null;
}
