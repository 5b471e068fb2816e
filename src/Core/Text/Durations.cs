using System.Globalization;

namespace Constellation.Core.Text;

/// <summary>Parses and formats durations written with a unit ("250ms", "10s", "1.5m", "2h").</summary>
public static class Durations
{
    /// <summary>Parses a duration that must carry a unit: us, ms, s, m or h.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        int split = 0;
        while (split < s.Length && (char.IsDigit(s[split]) || s[split] == '.' || (split == 0 && s[split] == '-')))
        {
            split++;
        }

        if (split == 0 || split == s.Length)
        {
            return false;
        }

        if (!double.TryParse(s.AsSpan(0, split), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        double? ticks = s[split..].Trim().ToLowerInvariant() switch
        {
            "us" or "µs" => number * TimeSpan.TicksPerMicrosecond,
            "ms" => number * TimeSpan.TicksPerMillisecond,
            "s" => number * TimeSpan.TicksPerSecond,
            "m" or "min" => number * TimeSpan.TicksPerMinute,
            "h" => number * TimeSpan.TicksPerHour,
            _ => null,
        };
        if (ticks is null || double.IsNaN(ticks.Value) || Math.Abs(ticks.Value) > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)Math.Round(ticks.Value));
        return true;
    }

    /// <summary>Formats a duration compactly and invariantly: 850ms, 12.5s, 3m20s, 1h05m.</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            return "-" + Format(-value);
        }

        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        if (value < TimeSpan.FromMilliseconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value.TotalMicroseconds:0}us");
        }

        if (value < TimeSpan.FromSeconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.#}ms");
        }

        if (value < TimeSpan.FromMinutes(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.##}s");
        }

        if (value < TimeSpan.FromHours(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalMinutes}m{value.Seconds:00}s");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalHours}h{value.Minutes:00}m");
    }

    /// <summary>
    /// Formats a duration in one unit so that <see cref="TryParse"/> reads back exactly the same value: the largest
    /// unit that divides it (2h, 90m, 1500ms, 250us), else milliseconds with decimals. For writing plans.
    /// </summary>
    public static string FormatExact(TimeSpan value)
    {
        long t = value.Ticks;
        if (t == 0)
        {
            return "0s";
        }

        var inv = CultureInfo.InvariantCulture;
        return t switch
        {
            _ when t % TimeSpan.TicksPerHour == 0 => (t / TimeSpan.TicksPerHour).ToString(inv) + "h",
            _ when t % TimeSpan.TicksPerMinute == 0 => (t / TimeSpan.TicksPerMinute).ToString(inv) + "m",
            _ when t % TimeSpan.TicksPerSecond == 0 => (t / TimeSpan.TicksPerSecond).ToString(inv) + "s",
            _ when t % TimeSpan.TicksPerMillisecond == 0 => (t / TimeSpan.TicksPerMillisecond).ToString(inv) + "ms",
            _ when t % TimeSpan.TicksPerMicrosecond == 0 => (t / TimeSpan.TicksPerMicrosecond).ToString(inv) + "us",
            _ => (t / (double)TimeSpan.TicksPerMillisecond).ToString("0.####", inv) + "ms",
        };
    }
}
