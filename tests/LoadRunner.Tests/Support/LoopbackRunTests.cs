using Constellation.Core.Results;
using Constellation.Tests;

namespace Constellation.LoadRunner.Tests.Support;

/// <summary>Tests that run plans from the command line against a loopback target, each in a temporary folder of its own.</summary>
public abstract class LoopbackRunTests(string name) : IAsyncLifetime
{
    protected string Dir { get; } = Directory.CreateTempSubdirectory($"constellation-{name}-").FullName;

    protected TestTarget Target { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Target = await TestTarget.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await Target.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary><c>run PLAN -o DIR --run-id ID -q</c>: its exit code, its run.json and what it printed.</summary>
    protected async Task<(int Code, RunRecord Record, string Log)> RunAsync(string plan, string runId, params string[] extra)
    {
        var (code, o, e) = await CliRunner.RunAsync(["run", plan, "-o", Dir, "--run-id", runId, "-q", .. extra]);
        var json = Path.Combine(Dir, runId, "run.json");
        File.Exists(json).ShouldBeTrue($"{o}\n{e}");
        return (code, await RunRecordJson.ReadAsync(json, TestContext.Current.CancellationToken), $"{o}\n{e}");
    }
}
