using System.Diagnostics;
using System.Runtime.InteropServices;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Tests.Cli;

/// <summary>SIGTERM to a real `constellation run` process: it stops cleanly, writes the record, stops its children.</summary>
public sealed partial class SignalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("constellation-sig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Sigterm_DuringRun_WritesCancelledRecordStopsChildrenAndExits130()
    {
        var ct = TestContext.Current.CancellationToken;
        var plan = Path.Combine(_dir, "long.yaml");
        await File.WriteAllTextAsync(plan, """
            name: long
            targets:
              web: { launch: { role: webapp, readyTimeout: 120s } }
            scenarios:
              - name: steady
                target: web
                load: { model: open, rate: 20, duration: 60s }
            """, ct);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "constellation.dll"));
        foreach (var a in new[] { "run", plan, "-o", _dir, "--run-id", "sig" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["CI"] = "true";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = new System.Text.StringBuilder();
        var sawProgress = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }

            if (e.Data?.Contains("steady [running", StringComparison.Ordinal) == true)
            {
                sawProgress.TrySetResult();
            }
        };
        process.BeginErrorReadLine();

        await sawProgress.Task.WaitAsync(TimeSpan.FromSeconds(120), ct);
        Kill(process.Id, 15).ShouldBe(0);
        await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        process.ExitCode.ShouldBe(ExitCodes.Interrupted, stderr.ToString());
        (await stdout).ShouldContain("Verdict: **cancelled**");
        var record = await RunRecordJson.ReadAsync(Path.Combine(_dir, "sig", "run.json"), ct);
        record.Status.ShouldBe(RunStatus.Cancelled);
        record.Scenarios[0].Totals.Requests.ShouldBeGreaterThan(0);
        var url = new Uri(record.Environment.Targets["web"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Should.ThrowAsync<HttpRequestException>(() => http.GetAsync(new Uri(url, "/health/live"), ct));
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
