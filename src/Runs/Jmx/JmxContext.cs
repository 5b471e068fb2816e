using System.Globalization;
using System.Xml.Linq;

namespace Constellation.Runs.Jmx;

/// <summary>
/// What every part of one conversion shares: the findings (what was not converted, notes on what was) and the
/// evaluation of JMeter's variables and functions in property values, each problem recorded against its element.
/// </summary>
internal sealed class JmxContext(JmxImportOptions options)
{
    private readonly List<JmxFinding> _unmapped = [];
    private readonly List<JmxFinding> _notes = [];

    public JmxImportOptions Options { get; } = options;

    public JmxValues Values { get; } = new(options.Properties);

    public IReadOnlyList<JmxFinding> UnmappedFindings => _unmapped;

    public IReadOnlyList<JmxFinding> NoteFindings => _notes;

    public void Unmapped(JmxElement e, string message) => AddOnce(_unmapped, new JmxFinding(e.Path, e.Tag, message));

    public void Note(JmxElement e, string message) => AddOnce(_notes, new JmxFinding(e.Path, e.Tag, message));

    /// <summary>True (and noted) for an element disabled in the plan, which JMeter skips too.</summary>
    public bool SkipDisabled(JmxElement e)
    {
        if (!e.Enabled)
        {
            Note(e, "disabled in the plan; skipped, as JMeter skips it");
        }

        return !e.Enabled;
    }

    /// <summary>A property value with JMeter's variables and functions evaluated; what cannot be is listed as not converted.</summary>
    public string? Eval(JmxElement owner, string? text)
    {
        if (text is null)
        {
            return null;
        }

        var problems = new List<string>();
        var value = Values.Evaluate(text, problems);
        problems.ForEach(p => Unmapped(owner, p));
        return value;
    }

    public int? Int(JmxElement e, string prop) =>
        Eval(e, e.Prop(prop)) is { Length: > 0 } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue ? (int)d : null;

    public double? Double(JmxElement e, string prop) =>
        Eval(e, e.Prop(prop)) is { Length: > 0 } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;

    public TimeSpan? Seconds(JmxElement e, string prop) => Double(e, prop) is { } d && d >= 0 ? Span(d) : null;

    /// <summary>
    /// Seconds as a duration, held below 10^8 s (three years): far beyond the plan's 24 h limit, which then reports
    /// it, yet small enough that adding thousands of them never overflows.
    /// </summary>
    public static TimeSpan Span(double seconds) => TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 1e8));

    public static bool Bool(string? s) => string.Equals(s?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The thread group's main loop count; null for "infinite" (-1) or none.</summary>
    public int? Loops(JmxElement g)
    {
        var controller = g.ElementProp("ThreadGroup.main_controller");
        if (controller is null)
        {
            return null;
        }

        var text = Values.Evaluate(JmxElement.PropOf(controller, "LoopController.loops"), []);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var loops) && loops > 0 ? loops : null;
    }

    /// <summary>The bzm thread groups' time unit: 60 for minutes, 1 for seconds.</summary>
    public double UnitFactor(JmxElement g) => (Eval(g, g.Prop("Unit")) ?? "S").Equals("M", StringComparison.OrdinalIgnoreCase) ? 60 : 1;

    /// <summary>
    /// A row of a plug-in thread group's schedule table: its values, or null (and listed) when its first
    /// <paramref name="columns"/> are not numbers >= 0 that pass <paramref name="valid"/>.
    /// </summary>
    public double[]? ScheduleRow(JmxElement g, XElement row, int columns, string expected, Func<double[], bool>? valid = null)
    {
        var values = row.Elements().Select(e => double.TryParse(Eval(g, e.Value), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : double.NaN).ToArray();
        if (values.Length >= columns && !values.Take(columns).Any(v => double.IsNaN(v) || v < 0) && (valid is null || valid(values)))
        {
            return values;
        }

        Unmapped(g, $"schedule row '{string.Join(", ", row.Elements().Select(e => e.Value))}' is not {expected}");
        return null;
    }

    private static void AddOnce(List<JmxFinding> list, JmxFinding f)
    {
        if (!list.Contains(f))
        {
            list.Add(f);
        }
    }
}
