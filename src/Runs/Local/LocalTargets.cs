using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Constellation.Core.Plans;

namespace Constellation.Runs.Local;

/// <summary>
/// Starts the plan's launched targets (SpinService processes) on free loopback ports, waits until each is
/// ready, and stops them by PID when disposed — also after a failure or Ctrl+C.
/// </summary>
public sealed partial class LocalTargets : IAsyncDisposable
{
    /// <summary>Overrides where SpinService is found (a .dll or an executable).</summary>
    public const string SpinServicePathVariable = "CONSTELLATION_SPINSERVICE";

    private const string ReadyMarker = "SPINSERVICE_READY ";
    private const string NicePath = "/usr/bin/nice";
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly List<Child> _children = [];
    private readonly ILogger _log;

    private LocalTargets(ILogger log) => _log = log;

    /// <summary>Base URLs of the launched targets by target name.</summary>
    public Dictionary<string, Uri> Urls { get; } = new(StringComparer.Ordinal);

    /// <summary>PIDs of the running children, for the record and for tests.</summary>
    public IReadOnlyList<int> ProcessIds => _children.Select(c => c.Process.Id).ToList();

    /// <summary>PIDs of the running children by target name, for the local sampler.</summary>
    public IReadOnlyDictionary<string, int> Processes => _children.ToDictionary(c => c.Name, c => c.Process.Id, StringComparer.Ordinal);

    public static async Task<LocalTargets> StartAsync(Plan plan, string logDirectory, ILogger log, CancellationToken ct)
    {
        var targets = new LocalTargets(log);
        try
        {
            foreach (var t in plan.Targets.Values.Where(t => t.Launch is not null))
            {
                var url = await targets.StartOneAsync(t, logDirectory, ct).ConfigureAwait(false);
                targets.Urls[t.Name] = url;
            }

            return targets;
        }
        catch
        {
            await targets.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Finds the SpinService build next to this tool's build (same configuration), or where the variable says.</summary>
    public static string FindSpinService() =>
        SiblingBuild.Find("Constellation.SpinService", "Constellation.SpinService.dll", SpinServicePathVariable, message => new LaunchException(message));

    public async ValueTask DisposeAsync()
    {
        foreach (var child in _children)
        {
            await child.StopAsync(_log).ConfigureAwait(false);
        }

        _children.Clear();
    }

    private async Task<Uri> StartOneAsync(TargetSpec target, string logDirectory, CancellationToken ct)
    {
        var launch = target.Launch!;
        var dll = FindSpinService();
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

        // The target runs below the generator's priority: on a shared machine the generator's clock and
        // pacing must stay honest while the target saturates the cores. `nice` execs the target, so every
        // thread it ever starts inherits the priority and the PID stays the target's own.
        bool niced = File.Exists(NicePath);
        psi.FileName = niced ? NicePath : DotnetHost();
        if (niced)
        {
            psi.ArgumentList.Add("-n");
            psi.ArgumentList.Add("10");
            psi.ArgumentList.Add(DotnetHost());
        }

        psi.ArgumentList.Add(dll);
        psi.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["Role"] = launch.Role;
        psi.Environment["DOTNET_gcServer"] = "0";

        // The target ends when this process does, also when it is killed: it watches the stdin pipe this process holds.
        psi.Environment["CONSTELLATION_EXIT_WITH_PARENT"] = "stdin";

        // This tool runs socket continuations inline (see Program.cs); a server that burns CPU in its
        // handlers must not, or a spinning request blocks its accept loop.
        psi.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
        foreach (var (k, v) in launch.Env)
        {
            psi.Environment[k] = v;
        }

        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, $"{target.Name}.log");
        var process = Process.Start(psi) ?? throw new LaunchException($"could not start SpinService for target '{target.Name}'");
        var child = new Child(target.Name, process, new StreamWriter(logPath) { AutoFlush = true });
        _children.Add(child);
        if (!niced)
        {
            _log.NoNice(NicePath, target.Name);
        }

        var url = await child.WaitForUrlAsync(launch.ReadyTimeout, ct).ConfigureAwait(false);
        await WaitReadyAsync(child, url, launch.ReadyTimeout, ct).ConfigureAwait(false);
        _log.TargetStarted(target.Name, launch.Role, process.Id, url);
        return url;
    }

    private static async Task WaitReadyAsync(Child child, Uri url, TimeSpan timeout, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        while (true)
        {
            if (child.Process.HasExited)
            {
                throw new LaunchException($"target '{child.Name}' exited with code {child.Process.ExitCode} before it was ready; its log: {child.LastLines()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(url, "/health/ready"), deadline.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new LaunchException($"target '{child.Name}' was not ready within {timeout.TotalSeconds:0}s");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
        }
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        return "dotnet";
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int SysKill(int pid, int signal);

    private const int Sigterm = 15;

    private sealed class Child
    {
        private readonly TaskCompletionSource<Uri> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Queue<string> _tail = new();
        private readonly StreamWriter _logFile;
        private readonly Lock _lock = new();

        public Child(string name, Process process, StreamWriter logFile)
        {
            Name = name;
            Process = process;
            _logFile = logFile;
            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Name { get; }
        public Process Process { get; }

        public async Task<Uri> WaitForUrlAsync(TimeSpan timeout, CancellationToken ct)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            var exited = Process.WaitForExitAsync(deadline.Token);
            var first = await Task.WhenAny(_url.Task, exited).ConfigureAwait(false);
            if (first == _url.Task)
            {
                return await _url.Task.ConfigureAwait(false);
            }

            ct.ThrowIfCancellationRequested();
            if (Process.HasExited)
            {
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false); // let the last lines arrive
                throw new LaunchException($"target '{Name}' exited with code {Process.ExitCode} during start-up; its log: {LastLines()}");
            }

            throw new LaunchException($"target '{Name}' did not report its address within {timeout.TotalSeconds:0}s; its log: {LastLines()}");
        }

        public string LastLines()
        {
            lock (_lock)
            {
                return _tail.Count == 0 ? "(empty)" : string.Join(" | ", _tail);
            }
        }

        public async Task StopAsync(ILogger log)
        {
            try
            {
                if (!Process.HasExited)
                {
                    _ = SysKill(Process.Id, Sigterm);
                    using var grace = new CancellationTokenSource(StopGrace);
                    try
                    {
                        await Process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        log.TargetKilled(Name, Process.Id, StopGrace.TotalSeconds);
                        Process.Kill(entireProcessTree: true);
                        await Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            finally
            {
                lock (_lock)
                {
                    _logFile.Dispose();
                }

                Process.Dispose();
            }
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                try
                {
                    _logFile.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                    // stopped
                }

                _tail.Enqueue(line);
                if (_tail.Count > 8)
                {
                    _tail.Dequeue();
                }
            }

            int i = line.IndexOf(ReadyMarker, StringComparison.Ordinal);
            if (i >= 0)
            {
                int u = line.IndexOf("url=", i, StringComparison.Ordinal);
                if (u >= 0 && Uri.TryCreate(line[(u + 4)..].Trim(), UriKind.Absolute, out var url))
                {
                    _url.TrySetResult(url);
                }
            }
        }
    }
}

/// <summary>A local target could not be started.</summary>
public sealed class LaunchException(string message) : Exception(message);
