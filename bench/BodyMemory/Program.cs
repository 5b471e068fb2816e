// Benchmark: the memory of body checks. A loopback server answers every request with a 1.1 MiB body that stops
// half way and stalls; `constellation run` keeps 300 such requests in flight until they time out, once without
// checks and once with `bodyContains`. Reports each run's peak resident memory (VmRSS sampled every 50 ms) and the
// ratio (goal: within 1.3× of the run without checks).
// Usage: dotnet run -c Release --project bench/BodyMemory [-- PATH/TO/constellation.dll]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

var inv = CultureInfo.InvariantCulture;
var cli = args.Length > 0 ? args[0] : Path.GetFullPath("artifacts/bin/Constellation.LoadRunner/release_linux-x64/constellation.dll");
if (!File.Exists(cli))
{
    Console.Error.WriteLine($"error: {cli} is not built: run ./constellation --help once (it builds in Release)");
    return 2;
}

const int BodySize = 1_150_000;
const int InFlight = 300;
var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {BodySize}\r\n\r\n");
var half = new byte[BodySize / 2];
Array.Fill(half, (byte)'x');
using var stop = new CancellationTokenSource();
var listener = new TcpListener(IPAddress.Loopback, 0);
listener.Start(InFlight * 2);
int port = ((IPEndPoint)listener.LocalEndpoint).Port;
var held = new List<TcpClient>();
var serving = Task.Run(async () =>
{
    while (!stop.IsCancellationRequested)
    {
        var client = await listener.AcceptTcpClientAsync(stop.Token);
        lock (held)
        {
            held.Add(client);
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[8192];
                int filled = 0;
                while (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(filled), stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    filled += n;
                }

                await stream.WriteAsync(head, stop.Token);
                await stream.WriteAsync(half, stop.Token);
                await Task.Delay(Timeout.Infinite, stop.Token); // the rest never comes
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        });
    }
});

var work = Directory.CreateTempSubdirectory("constellation-bodymemory-").FullName;
var results = new List<(string Mode, long PeakRss, string Outcome)>();
foreach (var mode in new[] { "no checks", "bodyContains" })
{
    var plan = Path.Combine(work, "plan.yaml");
    var expect = mode == "no checks" ? string.Empty : ", expect: { bodyContains: [\"never there\"] }";
    File.WriteAllText(plan, $$"""
        name: body-memory
        targets:
          stall: { baseUrl: "http://127.0.0.1:{{port}}" }
        scenarios:
          - name: stalled
            target: stall
            request: { path: /, timeout: 10s{{expect}} }
            load: { model: open, rate: {{InFlight}}, duration: 1s, maxInFlight: 1000 }
        """);
    var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { cli, "run", plan, "-o", Path.Combine(work, "runs"), "-q" })
    {
        psi.ArgumentList.Add(a);
    }

    using var p = Process.Start(psi)!;
    var output = p.StandardOutput.ReadToEndAsync();
    var errors = p.StandardError.ReadToEndAsync();
    long peak = 0;
    while (!p.HasExited)
    {
        try
        {
            var line = File.ReadLines($"/proc/{p.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            if (line is not null)
            {
                peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], inv) * 1024);
            }
        }
        catch (IOException)
        {
        }

        await Task.Delay(50);
    }

    await output;
    await errors;
    var runJson = Directory.GetFiles(Path.Combine(work, "runs"), "run.json", SearchOption.AllDirectories).OrderBy(File.GetLastWriteTimeUtc).Last();
    var totals = System.Text.Json.JsonDocument.Parse(File.ReadAllText(runJson)).RootElement.GetProperty("scenarios")[0].GetProperty("totals").GetProperty("outcomes");
    var outcome = string.Create(inv, $"{totals.GetProperty("timeout").GetInt64()} timed out, {totals.GetProperty("status2xx").GetInt64()} 2xx, exit {p.ExitCode}");
    results.Add((mode, peak, outcome));
    Console.Error.WriteLine(string.Create(inv, $"{mode}: peak RSS {peak / 1048576.0:0.0} MiB, {outcome}"));
}

await stop.CancelAsync();
listener.Stop();
lock (held)
{
    foreach (var c in held)
    {
        c.Dispose();
    }
}

Console.WriteLine($"# Body checks: memory with {InFlight} stalled 1.1 MiB answers in flight");
Console.WriteLine();
Console.WriteLine("| run | requests | peak RSS | × no checks |");
Console.WriteLine("|---|---|---:|---:|");
foreach (var (mode, peak, outcome) in results)
{
    Console.WriteLine(string.Create(inv, $"| {mode} | {outcome} | {peak / 1048576.0:0.0} MiB | {peak / (double)results[0].PeakRss:0.00} |"));
}

Directory.Delete(work, recursive: true);
return 0;
