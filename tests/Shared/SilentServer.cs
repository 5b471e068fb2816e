using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Constellation.Tests;

/// <summary>A TCP server on loopback that accepts every connection and never says a word: an endpoint that never answers.</summary>
public sealed class SilentServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentBag<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();

    public SilentServer()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>Connections accepted so far (each a new try of a client).</summary>
    public int Connections => _held.Count;

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var c in _held)
        {
            c.Dispose();
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                _held.Add(await _listener.AcceptTcpClientAsync(_stop.Token));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }
}
