using Constellation.Core.Load;
using Constellation.Core.Plans;

namespace Constellation.Tests;

/// <summary>Builders for scenarios in engine tests.</summary>
public static class Plans
{
    public static ScenarioSpec Open(string path, double rate, TimeSpan duration, int maxInFlight = 1000, TimeSpan? timeout = null, params string[] stopWhen) =>
        Scenario(path, new LoadSpec { Model = LoadModel.Open, Segments = [new LoadSegment(duration, rate, rate)], MaxInFlight = maxInFlight }, timeout, stopWhen);

    public static ScenarioSpec Ramp(string path, double from, double to, TimeSpan duration, params string[] stopWhen) =>
        Scenario(path, new LoadSpec { Model = LoadModel.Open, Segments = [new LoadSegment(duration, from, to)] }, null, stopWhen);

    public static ScenarioSpec Closed(string path, int users, TimeSpan duration, TimeSpan? think = null) =>
        Scenario(path, new LoadSpec { Model = LoadModel.Closed, Segments = [new LoadSegment(duration, users, users)], ThinkTime = think ?? TimeSpan.Zero }, null, []);

    public static ScenarioSpec Scenario(string path, LoadSpec load, TimeSpan? timeout, string[] stopWhen) => new()
    {
        Name = "s",
        Target = "t",
        Request = new RequestSpec { Path = path, Timeout = timeout ?? TimeSpan.FromSeconds(10) },
        Load = load,
        StopWhen = stopWhen.Select(s => StopCondition.TryParse(s, out var c, out var e) ? c! : throw new ArgumentException(e)).ToList(),
    };
}
