using System.Globalization;

namespace Constellation.Core.Plans;

/// <summary>
/// A plan changed for one run (the service's overrides): every scenario capped at a duration and/or its rates (open)
/// or users (closed) multiplied. The result is a plan like any other — judged by <see cref="PlanValidator"/>, its text
/// written by <see cref="PlanYamlWriter"/> (so the run record, and agents, get the plan as it ran).
/// </summary>
public static class PlanOverrides
{
    public static Plan Apply(Plan plan, TimeSpan? maxDuration, double? rateMultiplier)
    {
        if (maxDuration is null && rateMultiplier is null)
        {
            return plan;
        }

        var applied = plan with
        {
            Scenarios = [.. plan.Scenarios.Select(s =>
            {
                var segments = s.Load.Segments.ToList();
                if (rateMultiplier is { } m)
                {
                    bool closed = s.Load.Model == LoadModel.Closed;
                    segments = [.. segments.Select(x => x with { From = Scale(x.From, m, closed), To = Scale(x.To, m, closed) })];
                }

                if (maxDuration is { } d)
                {
                    var left = d - s.StartAfter;
                    var capped = new List<LoadSegment>();
                    foreach (var x in segments)
                    {
                        if (left <= TimeSpan.Zero)
                        {
                            break;
                        }

                        capped.Add(x.Duration <= left ? x : x with { Duration = left, To = x.From + ((x.To - x.From) * (left / x.Duration)) });
                        left -= x.Duration;
                    }

                    segments = capped.Count > 0 ? capped : [segments[0] with { Duration = TimeSpan.FromSeconds(1) }];
                }

                // The curve as segments now: written back as the stages that draw it.
                return s with { Load = s.Load with { Segments = segments, Shape = null } };
            })],
        };

        var what = string.Join(", ", new[]
        {
            maxDuration is { } cap ? $"every scenario capped at {Text.Durations.FormatExact(cap)}" : null,
            rateMultiplier is { } r ? string.Create(CultureInfo.InvariantCulture, $"rates and users × {r}") : null,
        }.OfType<string>());
        return applied with { SourceText = PlanYamlWriter.Write(applied, [$"plan '{plan.Name}' with overrides for this run: {what}"]) };
    }

    private static double Scale(double v, double m, bool whole) => whole ? Math.Max(v == 0 ? 0 : 1, Math.Round(v * m)) : v * m;
}
