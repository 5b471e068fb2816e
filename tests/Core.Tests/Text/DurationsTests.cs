using Constellation.Core.Text;

namespace Constellation.Core.Tests.Text;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("10s", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData(" 5 s ", 5_000)]
    public void TryParse_WithUnit_ReturnsDuration(string text, double ms)
    {
        Durations.TryParse(text, out var d).ShouldBeTrue();
        d.TotalMilliseconds.ShouldBe(ms);
    }

    [Theory]
    [InlineData("10")]
    [InlineData("fast")]
    [InlineData("10 parsecs")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParse_WithoutValidUnit_Fails(string? text) => Durations.TryParse(text, out _).ShouldBeFalse();

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(0.5, "500us")]
    [InlineData(850, "850ms")]
    [InlineData(12_500, "12.5s")]
    [InlineData(200_000, "3m20s")]
    public void Format_IsCompactAndInvariant(double ms, string expected) =>
        Durations.Format(TimeSpan.FromMilliseconds(ms)).ShouldBe(expected);
}
