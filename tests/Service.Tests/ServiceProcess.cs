using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Constellation.Service.Tests;

/// <summary>The service as a real process on a loopback port (restart and browser tests need a real one).</summary>
internal static class ServiceProcess
{
    /// <summary>Writes a one-scenario plan (webapp launched on loopback, 20 req/s) into a plans folder.</summary>
    public static async Task WritePlanAsync(string plans, string name, string duration, CancellationToken ct)
    {
        Directory.CreateDirectory(plans);
        await File.WriteAllTextAsync(Path.Combine(plans, name + ".yaml"), $$"""
            name: {{name}}
            targets:
              webapp: { launch: { role: webapp, readyTimeout: 120s } }
            scenarios:
              - name: steady
                target: webapp
                load: { model: open, rate: 20, duration: {{duration}} }
            """, ct);
    }

    /// <summary>Kills the service and everything it started (its SpinService children).</summary>
    public static void Stop(Process? service)
    {
        if (service is { HasExited: false })
        {
            service.Kill(entireProcessTree: true);
            service.WaitForExit(5000);
        }

        service?.Dispose();
    }

    /// <summary>The CLI built beside these tests (same configuration).</summary>
    public static string CliDll
    {
        get
        {
            var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            return Path.Combine(baseDir.Parent!.Parent!.FullName, "Constellation.LoadRunner", baseDir.Name, "constellation.dll");
        }
    }

    public static Process Start(int port, string plans, string runs, string? db = null)
    {
        // `constellation serve`, the way a user starts the service (the CLI hosts it in its own process).
        var dll = CliDll;
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        psi.ArgumentList.Add($"--plans={plans}");
        psi.ArgumentList.Add($"--output={runs}");
        if (db is not null)
        {
            psi.Environment["ConnectionStrings__Hangfire"] = db;
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static async Task<HttpStatusCode?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var r = await http.GetAsync(path);
            return r.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    public static async Task WaitAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        for (int i = 0; i < 300; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(200, ct);
        }

        throw new TimeoutException("the condition did not hold within 60 s");
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
