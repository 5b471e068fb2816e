using System.Diagnostics;

namespace Constellation.Service.Tests;

/// <summary>`constellation serve` that cannot start says why in one line per problem, exit 2, never a trace or a .NET type name.</summary>
public sealed class StartProblemsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-start-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("Constellation__MaxDuration", "banana", "error: Constellation:MaxDuration: 'banana' is not a duration such as 02:00:00")]
    [InlineData("Constellation__Schedules__0__Cron", "every night", "is not a Quartz cron expression")]
    [InlineData("Constellation__TrustedProxies__0", "10.0.0.0/8", "Constellation:TrustedProxies:0: must be an IP address")]
    [InlineData("ConnectionStrings__Hangfire", "garbage=;;=", "error: cannot start: ")]
    public async Task ABadSetting_IsOneLine_Exit2(string variable, string value, string expected)
    {
        var ct = TestContext.Current.CancellationToken;
        var plans = Directory.CreateDirectory(Path.Combine(_dir, "plans")).FullName;
        await ServiceProcess.WritePlanAsync(plans, "quick", "1s", ct);
        var dll = ServiceProcess.CliDll;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var a in new[] { dll, "serve", $"--urls=http://127.0.0.1:{ServiceProcess.FreePort()}", $"--plans={plans}", $"--output={Path.Combine(_dir, "runs")}" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment[variable] = value;
        if (variable == "Constellation__Schedules__0__Cron")
        {
            psi.Environment["Constellation__Schedules__0__Plan"] = "quick";
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync(ct);
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            ServiceProcess.Stop(process); // it started: the test fails below
            throw;
        }

        var err = await stderr;
        process.ExitCode.ShouldBe(2, err + await stdout);
        err.ShouldContain(expected);
        err.Trim().Split('\n').ShouldAllBe(l => l.StartsWith("error: ", StringComparison.Ordinal), err);
        err.ShouldNotContain("System.");
        err.ShouldNotContain("   at ");
    }
}
