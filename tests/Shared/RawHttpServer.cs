using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Constellation.Tests;

/// <summary>
/// A TCP server on a free loopback port that answers every request with scripted bytes and pauses — what Kestrel
/// will not send on purpose (interim 1xx answers, huge header blocks, stalled bodies). Keeps each request head.
/// </summary>
public sealed class RawHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, IEnumerable<Step>> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accept;
    private int _requests;

    /// <param name="script">The answer to the n-th request (0-based): bytes to send and pauses, in order.</param>
    public RawHttpServer(Func<int, IEnumerable<Step>> script)
    {
        _script = script;
        _listener.Start();
        _accept = AcceptAsync();
    }

    /// <summary>One thing the server does: send bytes, or wait.</summary>
    public abstract record Step;

    public sealed record Send(byte[] Bytes) : Step
    {
        public static Send Text(string text) => new(Encoding.UTF8.GetBytes(text));
    }

    public sealed record Pause(TimeSpan Duration) : Step;

    /// <summary>Keeps the connection open without answering further (a stalled body), until the server stops.</summary>
    public sealed record Stall : Step;

    /// <summary>Closes the connection (the answer so far is all there is).</summary>
    public sealed record Hangup : Step;

    /// <summary>Sends bytes without end, as fast as the client reads, until the connection dies.</summary>
    public sealed record Flood : Step;

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The head (request line and headers) of every request received, as raw bytes.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<byte[]> Heads { get; } = new();

    /// <summary>The body of every request received (empty when it had none).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<byte[]> Bodies { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            lock (_connections)
            {
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new byte[96 * 1024];
        int filled = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    filled += n;
                }

                Heads.Enqueue(buffer.AsSpan(0, end).ToArray());
                int length = ContentLength(Encoding.Latin1.GetString(buffer, 0, end));
                int consumed = end + 4 + length;
                while (filled < consumed)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    filled += n;
                }

                Bodies.Enqueue(buffer.AsSpan(end + 4, length).ToArray());
                Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                filled -= consumed;
                int index = Interlocked.Increment(ref _requests) - 1;
                foreach (var step in _script(index))
                {
                    switch (step)
                    {
                        case Send s:
                            await stream.WriteAsync(s.Bytes, _stop.Token);
                            await stream.FlushAsync(_stop.Token);
                            break;
                        case Pause p:
                            await Task.Delay(p.Duration, _stop.Token);
                            break;
                        case Stall:
                            await Task.Delay(Timeout.Infinite, _stop.Token);
                            break;
                        case Hangup:
                            return;
                        case Flood:
                            var chunk = new byte[64 * 1024];
                            while (true)
                            {
                                await stream.WriteAsync(chunk, _stop.Token);
                            }
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static int ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
