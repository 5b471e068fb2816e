using Constellation.Runs.Http;

namespace Constellation.Runs.Engine;

/// <summary>
/// Enforces request timeouts for every live connection from one background thread, so a request costs
/// no timer or CancellationTokenSource. A connection past its deadline is aborted and its request
/// counted as a timeout. Resolution: <see cref="Period"/>.
/// </summary>
public sealed class TimeoutWatchdog : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);

    private readonly HashSet<Http1Connection> _connections = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private Http1Connection[] _snapshot = [];
    private readonly TimeProvider _time;
    private bool _dirty;

    public TimeoutWatchdog(TimeProvider time)
    {
        _time = time;
        _thread = new Thread(Loop) { IsBackground = true, Name = "constellation-timeouts" };
        _thread.Start();
    }

    public void Register(Http1Connection connection)
    {
        lock (_lock)
        {
            _connections.Add(connection);
            _dirty = true;
        }
    }

    public void Unregister(Http1Connection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
            _dirty = true;
        }
    }

    /// <summary>Aborts every live connection (a hard stop).</summary>
    public void AbortAll()
    {
        lock (_lock)
        {
            foreach (var c in _connections)
            {
                c.Abort(timedOut: false);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }

    private void Loop()
    {
        var handle = _stop.Token.WaitHandle;
        while (!handle.WaitOne(Period))
        {
            if (Volatile.Read(ref _dirty))
            {
                lock (_lock)
                {
                    _snapshot = [.. _connections];
                    _dirty = false;
                }
            }

            long now = _time.GetTimestamp();
            foreach (var c in _snapshot)
            {
                long deadline = Volatile.Read(ref c.DeadlineTimestamp);
                if (deadline != 0 && now > deadline)
                {
                    c.Abort(timedOut: true);
                }
            }
        }
    }
}
