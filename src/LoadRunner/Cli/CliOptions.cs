using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Constellation.Core.Results;
using Constellation.Core.Text;

namespace Constellation.LoadRunner.Cli;

/// <summary>
/// Options whose values are parsed and checked by System.CommandLine itself, with messages in the user's terms
/// (<c>--rate must be a number, got 'abc'</c>), so that every bad flag of a command line is reported at once — and
/// no message ever shows a .NET type name.
/// </summary>
internal static class CliOptions
{
    /// <summary>A number within [<paramref name="min"/>, <paramref name="max"/>]; null when not given.</summary>
    public static Option<double?> Number(string name, string description, double min, double max, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        CustomParser = r => Parse<double?>(r, name, text =>
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            {
                return (null, $"{name} must be a number, got '{text}'");
            }

            return v < min || v > max ? (null, $"{name} must be from {Fmt(min)} to {Fmt(max)}, got {Fmt(v)}") : ((double?)v, null);
        }),
    };

    /// <summary>A whole number within [<paramref name="min"/>, <paramref name="max"/>]; null when not given.</summary>
    public static Option<int?> Integer(string name, string description, int min, int max, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        CustomParser = r => Parse<int?>(r, name, text =>
        {
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            {
                return (null, $"{name} must be a whole number, got '{text}'");
            }

            return v < min || v > max ? (null, $"{name} must be from {min} to {max}, got {v}") : ((int?)v, null);
        }),
    };

    /// <summary>A whole number within bounds, with a default.</summary>
    public static Option<int> Integer(string name, string description, int min, int max, int defaultValue, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => Parse(r, name, text =>
            !int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? (defaultValue, $"{name} must be a whole number, got '{text}'")
            : v < min || v > max ? (defaultValue, $"{name} must be from {min} to {max}, got {v}")
            : (v, null)),
    };

    /// <summary>A duration with a unit (30s, 2m, 500ms; a bare number is seconds when <paramref name="bareSeconds"/>) within bounds.</summary>
    public static Option<Shown<TimeSpan>> Duration(string name, string description, TimeSpan defaultValue, TimeSpan min, TimeSpan max, bool bareSeconds = false, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        DefaultValueFactory = _ => Shown.Of(defaultValue),
        CustomParser = r => Parse(r, name, text =>
        {
            var withUnit = bareSeconds && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _) ? text + "s" : text;
            if (!Durations.TryParse(withUnit, out var d))
            {
                return (Shown.Of(defaultValue), $"{name} must be a duration with a unit such as 30s, 2m or 500ms, got '{text}'");
            }

            return d < min || d > max ? (Shown.Of(defaultValue), $"{name} must be from {Durations.FormatExact(min)} to {Durations.FormatExact(max)}, got {Durations.Format(d)}") : (Shown.Of(d), null);
        }),
    };

    /// <summary>An optional duration within bounds.</summary>
    public static Option<TimeSpan?> OptionalDuration(string name, string description, TimeSpan min, TimeSpan max) => new(name)
    {
        Description = description,
        CustomParser = r => Parse<TimeSpan?>(r, name, text =>
            !Durations.TryParse(text, out var d) ? (null, $"{name} must be a duration with a unit such as 30s or 2m, got '{text}'")
            : d < min || d > max ? (null, $"{name} must be from {Durations.FormatExact(min)} to {Durations.FormatExact(max)}, got {Durations.Format(d)}")
            : ((TimeSpan?)d, null)),
    };

    /// <summary>An absolute http:// or https:// URL; null when not given.</summary>
    public static Option<Uri?> HttpUrl(string name, string description, Func<string?>? fallback = null) => new(name)
    {
        Description = description,
        DefaultValueFactory = fallback is null ? null : _ => Url(fallback()),
        CustomParser = r => Parse(r, name, text => Url(text) is { } u ? (u, null) : ((Uri?)null, $"{name} must be an absolute http:// or https:// URL, got '{text}'")),
    };

    /// <summary>A run id: letters, digits, '.', '_' and '-' only (it names a folder under the runs folder).</summary>
    public static Option<string?> RunId(string description) => Validated(new Option<string?>("--run-id") { Description = description }, (value, add) =>
    {
        if (value is not null && !RunNames.IsRunId(value))
        {
            add($"--run-id may hold {RunNames.RunIdRule}, got '{value}'");
        }
    });

    /// <summary>A percentage such as 10%; the value is the number before the '%'.</summary>
    public static Option<Shown<double>> Percent(string name, string description, double defaultPercent, double max) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => Shown.Percent(defaultPercent),
        CustomParser = r => Parse(r, name, text =>
            !text.EndsWith('%') || !double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) || v < 0 || v > max
                ? (Shown.Percent(defaultPercent), $"{name} must be a percentage from 0% to {Fmt(max)}%, such as 10%, got '{text}'")
                : (Shown.Percent(v), null)),
    };

    /// <summary>One of a fixed set of words.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] allowed) => Validated(
        new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue },
        (value, add) =>
        {
            if (value is not null && !allowed.Contains(value, StringComparer.OrdinalIgnoreCase))
            {
                add($"{name} must be {string.Join(" or ", allowed)}, got '{value}'");
            }
        });

    /// <summary>Adds a check of the option's value (after parsing) that reports with <c>add</c>.</summary>
    public static Option<T> Validated<T>(Option<T> option, Action<T?, Action<string>> check)
    {
        option.Validators.Add(r => check(r.GetValueOrDefault<T>(), r.AddError));
        return option;
    }

    /// <summary>
    /// A check that spans several options of <paramref name="command"/> (such as "exactly one of --rate or
    /// --connections"). System.CommandLine skips every option's own check once a command validator reports a problem,
    /// so the check runs as a validator of <paramref name="anchor"/> — an option with a default value, which the parser
    /// always validates — and all problems are still reported at once.
    /// </summary>
    public static void CrossCheck<T>(Command command, Option<T> anchor, Action<CommandResult, Action<string>> check)
    {
        if (!anchor.HasDefaultValue || !command.Options.Contains(anchor))
        {
            throw new ArgumentException($"{anchor.Name} must be an option of {command.Name} with a default value", nameof(anchor));
        }

        anchor.Validators.Add(r =>
        {
            // The anchor's own value first: the parser reads it only when its validators report nothing.
            try
            {
                _ = r.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                // its parse error is already reported
            }

            if (r.Parent is CommandResult c)
            {
                check(c, r.AddError);
            }
        });
    }

    /// <summary>An option's value in a cross check; the default when it was not given or did not parse (its own error says so).</summary>
    public static T? ValueOf<T>(CommandResult command, Option<T> option)
    {
        if (command.GetResult(option) is not { } r || r.Errors.Any())
        {
            return default;
        }

        try
        {
            return r.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return default;
        }
    }

    private static Uri? Url(string? text) =>
        text is { Length: > 0 } && Uri.TryCreate(text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) ? u : null;

    private static T Parse<T>(ArgumentResult r, string name, Func<string, (T Value, string? Error)> parse)
    {
        if (r.Tokens.Count == 0)
        {
            r.AddError($"{name} needs a value");
            return default!;
        }

        var (value, error) = parse(r.Tokens[^1].Value);
        if (error is not null)
        {
            r.AddError(error);
        }

        return value;
    }

    private static string Fmt(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>A parsed value with the text --help shows for it ("10s" rather than TimeSpan's "00:00:10").</summary>
internal readonly record struct Shown<T>(T Value, string Text)
{
    public override string ToString() => Text;
}

internal static class Shown
{
    public static Shown<TimeSpan> Of(TimeSpan value) => new(value, Durations.FormatExact(value));

    public static Shown<double> Percent(double value) => new(value, value.ToString("0.######", CultureInfo.InvariantCulture) + "%");
}
