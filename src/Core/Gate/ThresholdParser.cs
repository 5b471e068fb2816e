using System.Globalization;
using Constellation.Core.Text;

namespace Constellation.Core.Gate;

/// <summary>Parses threshold text; an error names the column where the text stops making sense.</summary>
public static class ThresholdParser
{
    /// <summary>Per-deployment scaling metrics (scale.DEPLOYMENT.NAME) and their units.</summary>
    public static readonly IReadOnlyDictionary<string, ThresholdUnit> WorkloadMetrics = new Dictionary<string, ThresholdUnit>(StringComparer.Ordinal)
    {
        ["first_hpa_increase"] = ThresholdUnit.Seconds,
        ["first_pod_ready"] = ThresholdUnit.Seconds,
        ["time_to_peak"] = ThresholdUnit.Seconds,
        ["peak_replicas"] = ThresholdUnit.Count,
        ["longest_pending"] = ThresholdUnit.Seconds,
        ["scale_in_start"] = ThresholdUnit.Seconds,
        ["scale_in"] = ThresholdUnit.Seconds,
    };

    /// <summary>The statistics of a reaction phase over the steps (scale.DEPLOYMENT.PHASE.STAT).</summary>
    public static readonly IReadOnlyList<string> ReactionStats = ["p50", "p95", "max"];

    /// <summary>Node scaling metrics (nodes.NAME).</summary>
    public static readonly IReadOnlyDictionary<string, ThresholdUnit> NodeMetrics = new Dictionary<string, ThresholdUnit>(StringComparer.Ordinal)
    {
        ["first_ready"] = ThresholdUnit.Seconds,
        ["peak"] = ThresholdUnit.Count,
        ["minutes"] = ThresholdUnit.Count,
        ["scale_in"] = ThresholdUnit.Seconds,
    };

    /// <summary>Control-app metrics (control.TARGET.NAME).</summary>
    public static readonly IReadOnlyDictionary<string, ThresholdUnit> ControlMetrics = new Dictionary<string, ThresholdUnit>(StringComparer.Ordinal)
    {
        ["p95_delta"] = ThresholdUnit.Fraction,
        ["p95"] = ThresholdUnit.Milliseconds,
        ["baseline_p95"] = ThresholdUnit.Milliseconds,
        ["errors"] = ThresholdUnit.Count,
    };

    private const string KnownMetrics = "p(N), avg, max, error_rate, rate, dropped, requests, scale.DEPLOYMENT.METRIC, nodes.METRIC, control.TARGET.METRIC";
    private static readonly string[] Operators = ["<=", ">=", "==", "!=", "<", ">"];

    public static bool TryParse(string text, out Threshold? threshold, out ThresholdError? error)
    {
        threshold = null;
        error = null;
        var c = new Cursor(text ?? string.Empty);
        c.SkipSpace();
        int metricAt = c.Column;
        var metric = c.Word();
        if (metric.Length == 0)
        {
            error = new ThresholdError(metricAt, $"expected a metric ({KnownMetrics})");
            return false;
        }

        if (!TryMetric(metric, out var kind, out var percentile, out var unit, out var metricError))
        {
            error = new ThresholdError(metricAt, metricError!);
            return false;
        }

        // k6's tag form: p(95){request:login} — one request of a sequence.
        string? request = null;
        int tagAt = c.Column;
        if (c.TryKeyword("{"))
        {
            if (!c.TryText("request:") || c.Until('}') is not { Length: > 0 } name || !c.TryKeyword("}"))
            {
                error = new ThresholdError(tagAt, $"a tag names one request of a sequence: {metric}{{request:NAME}}, NAME its name (or METHOD path)");
                return false;
            }

            if (kind == ThresholdMetricKind.Scaling)
            {
                error = new ThresholdError(tagAt, "a scaling metric belongs to the run, not to a request");
                return false;
            }

            request = name;
        }

        c.SkipSpace();
        bool regression = false, change = false;
        int regressionAt = c.Column;
        if (c.TryKeyword("change"))
        {
            // Over the plan's stored runs: their summaries hold p95, p99, the rate and the scaling metrics.
            change = true;
            if (!(kind is ThresholdMetricKind.Rate or ThresholdMetricKind.Scaling || (kind == ThresholdMetricKind.Percentile && percentile is 95 or 99)))
            {
                error = new ThresholdError(regressionAt, $"a change is tracked over the plan's stored runs, which keep p(95), p(99), rate and the scaling metrics: use it on one of those, not {metric}");
                return false;
            }

            c.SkipSpace();
        }
        else if (c.TryKeyword("regression"))
        {
            regression = true;
            if (kind is ThresholdMetricKind.ErrorRate or ThresholdMetricKind.Dropped or ThresholdMetricKind.Requests)
            {
                error = new ThresholdError(regressionAt, $"a regression is measured in % of the baseline's value: use it on latency, rate or scaling times, not {metric}");
                return false;
            }

            c.SkipSpace();
        }

        int opAt = c.Column;
        var op = Operators.FirstOrDefault(c.TryKeyword);
        if (op is null)
        {
            error = new ThresholdError(opAt, $"expected a comparison (<, <=, >, >=, ==, !=) after '{metric}'{(c.AtEnd ? string.Empty : $", got '{c.Rest()}'")}");
            return false;
        }

        if (change && op is not ("<" or "<="))
        {
            error = new ThresholdError(opAt, $"a change is a limit on how much worse the latest runs may get: use < or <=, e.g. {metric} change < 10%");
            return false;
        }

        c.SkipSpace();
        int valueAt = c.Column;
        var valueText = c.Word();
        var limitUnit = regression || change ? ThresholdUnit.Fraction : unit;
        if (!TryValue(valueText, limitUnit, out var limit, out var valueError))
        {
            error = new ThresholdError(valueAt, valueError!);
            return false;
        }

        if (limit < 0 && !regression)
        {
            // Latencies, rates, counts and times are never negative: such a limit is a typo that always passes or fails.
            error = new ThresholdError(valueAt, $"a limit on {metric} cannot be negative, got '{valueText}'");
            return false;
        }

        c.SkipSpace();
        var window = ThresholdWindow.Whole;
        int windowAt = c.Column;
        if (!c.AtEnd)
        {
            if (kind == ThresholdMetricKind.Scaling)
            {
                error = new ThresholdError(windowAt, $"a scaling metric is one number for the run: it takes no window, got '{c.Rest()}'");
                return false;
            }

            if (change)
            {
                error = new ThresholdError(windowAt, $"a change compares whole runs: it takes no window, got '{c.Rest()}'");
                return false;
            }

            if (!TryWindow(c, out window, out var windowError))
            {
                error = windowError;
                return false;
            }

            c.SkipSpace();
            if (!c.AtEnd)
            {
                error = new ThresholdError(c.Column, $"unexpected '{c.Rest()}' after the threshold");
                return false;
            }
        }

        threshold = new Threshold
        {
            Text = text!.Trim(),
            Kind = kind,
            Percentile = percentile,
            ScalingName = kind == ThresholdMetricKind.Scaling ? metric : null,
            MetricText = request is null ? metric : $"{metric}{{request:{request}}}",
            Request = request,
            Operator = op,
            Limit = limit,
            Unit = limitUnit,
            Window = window,
            Regression = regression,
            Change = change,
        };
        return true;
    }

    /// <summary>The unit a metric is measured in.</summary>
    public static ThresholdUnit UnitOf(ThresholdMetricKind kind, string? scalingName) => kind switch
    {
        ThresholdMetricKind.Percentile or ThresholdMetricKind.Avg or ThresholdMetricKind.Max => ThresholdUnit.Milliseconds,
        ThresholdMetricKind.ErrorRate => ThresholdUnit.Fraction,
        ThresholdMetricKind.Rate => ThresholdUnit.PerSecond,
        ThresholdMetricKind.Scaling => ScalingUnit(scalingName!) ?? ThresholdUnit.Count,
        _ => ThresholdUnit.Count,
    };

    private static ThresholdUnit? ScalingUnit(string name) => ScalingName.Parse(name) switch
    {
        { IsReaction: true } => ThresholdUnit.Seconds,
        { Kind: "scale", Metric: var m } when WorkloadMetrics.TryGetValue(m, out var u) => u,
        { Kind: "nodes", Metric: var m } when NodeMetrics.TryGetValue(m, out var u) => u,
        { Kind: "control", Metric: var m } when ControlMetrics.TryGetValue(m, out var u) => u,
        _ => null,
    };

    private static bool TryMetric(string metric, out ThresholdMetricKind kind, out double percentile, out ThresholdUnit unit, out string? error)
    {
        percentile = 0;
        error = null;
        switch (metric)
        {
            case "avg" or "mean":
                kind = ThresholdMetricKind.Avg;
                break;
            case "max":
                kind = ThresholdMetricKind.Max;
                break;
            case "error_rate":
                kind = ThresholdMetricKind.ErrorRate;
                break;
            case "rate":
                kind = ThresholdMetricKind.Rate;
                break;
            case "dropped":
                kind = ThresholdMetricKind.Dropped;
                break;
            case "requests":
                kind = ThresholdMetricKind.Requests;
                break;
            case ['p', '(', .., ')'] or ['p', >= '0' and <= '9', ..]:
                kind = ThresholdMetricKind.Percentile;
                var p = metric.StartsWith("p(", StringComparison.Ordinal) ? metric[2..^1] : metric[1..];
                if (!double.TryParse(p, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out percentile) || !double.IsFinite(percentile) || percentile <= 0 || percentile > 100)
                {
                    error = $"a percentile is between 0 and 100, e.g. p(95) or p(99.9), got '{metric}'";
                    unit = default;
                    return false;
                }

                break;
            case var s when s.StartsWith("scale.", StringComparison.Ordinal) || s.StartsWith("nodes.", StringComparison.Ordinal) || s.StartsWith("control.", StringComparison.Ordinal):
                kind = ThresholdMetricKind.Scaling;
                if (ScalingUnit(s) is null)
                {
                    error = s.Split('.')[0] switch
                    {
                        "scale" => $"'{s}': expected scale.DEPLOYMENT.METRIC with METRIC one of {string.Join(", ", WorkloadMetrics.Keys)}, or scale.DEPLOYMENT.PHASE.STAT with PHASE one of {string.Join(", ", Results.ScaleReactionAnalyzer.PhaseNames.Select(p => p.Name))} and STAT one of {string.Join(", ", ReactionStats)}",
                        "nodes" => $"'{s}': expected nodes.METRIC with METRIC one of {string.Join(", ", NodeMetrics.Keys)}",
                        _ => $"'{s}': expected control.TARGET.METRIC with METRIC one of {string.Join(", ", ControlMetrics.Keys)}",
                    };
                    unit = default;
                    return false;
                }

                break;
            default:
                error = $"unknown metric '{metric}' (known: {KnownMetrics})";
                kind = default;
                unit = default;
                return false;
        }

        unit = UnitOf(kind, metric);
        return true;
    }

    private static bool TryValue(string text, ThresholdUnit unit, out double value, out string? error)
    {
        value = 0;
        error = null;
        if (text.Length == 0)
        {
            error = "expected a value";
            return false;
        }

        int i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.' || (i == 0 && text[i] == '-')))
        {
            i++;
        }

        var number = text[..i];
        var suffix = text[i..];
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            error = $"expected a number, got '{text}'";
            return false;
        }

        switch (unit)
        {
            case ThresholdUnit.Milliseconds or ThresholdUnit.Seconds:
                if (suffix.Length == 0)
                {
                    error = $"a duration needs a unit (us, ms, s, m, h), e.g. {number}ms";
                    return false;
                }

                if (!Durations.TryParse(text, out var d))
                {
                    error = $"expected a duration such as 500ms or 2s, got '{text}'";
                    return false;
                }

                value = unit == ThresholdUnit.Milliseconds ? d.TotalMilliseconds : d.TotalSeconds;
                return true;
            case ThresholdUnit.Fraction:
                if (suffix != "%")
                {
                    error = $"expected a percentage such as {number}%, got '{text}'";
                    return false;
                }

                value = n / 100;
                return true;
            case ThresholdUnit.PerSecond:
                if (suffix != "/s")
                {
                    error = $"expected a rate such as {number}/s, got '{text}'";
                    return false;
                }

                value = n;
                return true;
            default:
                if (suffix.Length != 0)
                {
                    error = $"expected a plain count, got '{text}'";
                    return false;
                }

                value = n;
                return true;
        }
    }

    private static bool TryWindow(Cursor c, out ThresholdWindow window, out ThresholdError? error)
    {
        window = ThresholdWindow.Whole;
        error = null;
        int at = c.Column;
        if (c.TryKeyword("over"))
        {
            c.SkipSpace();
            if (!c.TryKeyword("any"))
            {
                error = new ThresholdError(c.Column, "expected 'over any <duration>', e.g. over any 30s");
                return false;
            }

            c.SkipSpace();
            int durationAt = c.Column;
            var d = c.Word();
            if (!Durations.TryParse(d, out var length) || length < TimeSpan.FromSeconds(1))
            {
                error = new ThresholdError(durationAt, $"expected a window of at least 1s, e.g. 30s, got '{d}'");
                return false;
            }

            window = new ThresholdWindow(WindowKind.OverAny, TimeSpan.FromSeconds(Math.Round(length.TotalSeconds)));
            return true;
        }

        if (c.TryKeyword("during"))
        {
            c.SkipSpace();
            if (!c.TryKeyword("stage"))
            {
                error = new ThresholdError(c.Column, "expected 'during stage \"NAME\"'");
                return false;
            }

            c.SkipSpace();
            int nameAt = c.Column;
            var name = c.Quoted();
            if (name is null)
            {
                error = new ThresholdError(nameAt, "expected the stage name in double quotes, e.g. during stage \"steady\"");
                return false;
            }

            window = new ThresholdWindow(WindowKind.DuringStage, Stage: name);
            return true;
        }

        if (c.TryKeyword("after"))
        {
            c.SkipSpace();
            int durationAt = c.Column;
            var d = c.Word();
            if (!Durations.TryParse(d, out var after) || after <= TimeSpan.Zero)
            {
                error = new ThresholdError(durationAt, $"expected a duration with a unit, e.g. after 60s, got '{d}'");
                return false;
            }

            window = new ThresholdWindow(WindowKind.After, after);
            return true;
        }

        error = new ThresholdError(at, $"expected nothing more, or a window: 'over any 30s', 'during stage \"NAME\"' or 'after 60s'; got '{c.Rest()}'");
        return false;
    }

    private sealed class Cursor(string text)
    {
        private int _pos;

        public int Column => _pos + 1;
        public bool AtEnd => _pos >= text.Length;

        public string Rest() => text[_pos..].Trim();

        public void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        /// <summary>Letters, digits and _ . ( ) % / - : a metric, a number with its unit.</summary>
        public string Word()
        {
            int start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '_' or '.' or '(' or ')' or '%' or '/' or '-'))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        /// <summary>Exactly <paramref name="literal"/> next, wherever it ends (not a whole word).</summary>
        public bool TryText(string literal)
        {
            if (string.CompareOrdinal(text, _pos, literal, 0, literal.Length) != 0)
            {
                return false;
            }

            _pos += literal.Length;
            return true;
        }

        /// <summary>Everything up to (not including) <paramref name="end"/>; null when it never comes.</summary>
        public string? Until(char end)
        {
            int at = text.IndexOf(end, _pos);
            if (at < 0)
            {
                return null;
            }

            var found = text[_pos..at];
            _pos = at;
            return found;
        }

        public bool TryKeyword(string keyword)
        {
            if (string.CompareOrdinal(text, _pos, keyword, 0, keyword.Length) != 0)
            {
                return false;
            }

            bool word = char.IsAsciiLetter(keyword[0]);
            int end = _pos + keyword.Length;
            if (word && end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_'))
            {
                return false;
            }

            _pos = end;
            return true;
        }

        public string? Quoted()
        {
            if (AtEnd || text[_pos] != '"')
            {
                return null;
            }

            int end = text.IndexOf('"', _pos + 1);
            if (end < 0)
            {
                return null;
            }

            var value = text[(_pos + 1)..end];
            _pos = end + 1;
            return value;
        }
    }
}
