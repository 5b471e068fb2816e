using System.Diagnostics;
using System.Runtime.InteropServices;
using Constellation.Runs.Http;

namespace Constellation.Runs.Engine;

/// <summary>
/// The open model's loop for a plain request (one request per arrival, no session, plain HTTP) on Linux: one thread
/// paces, sends and reads on non-blocking sockets, with no task, no thread hand-off and no allocation per request.
/// <para>
/// It wakes only for a batch of arrivals (or at most every <see cref="MaxSleep"/>), never for an answer: on each wake it
/// first reads every answer that came in since (one epoll_wait that does not block), then sends the arrivals due. An
/// answer's time is not when it was read but when the kernel received its last byte (SO_TIMESTAMPNS), so reading it
/// late costs no accuracy. Measured on this 2-core VM (bench/results/open-model-*.md): a wake-up costs ~20 µs, more than
/// a request's own work, and a loop that woke for each answer spent 2.3× wrk's CPU per request at 10k/s.
/// </para>
/// A connection that is connecting, half-sent or half-read (an answer bigger than one read) is waited on with epoll; once
/// an answer larger than a first receive window (64 KiB) has been seen, every awaiting connection is, since such an
/// answer holds the server until it is read. One wake reads at most 256 KiB of a connection, so an endless answer cannot
/// hold the loop (its timeout still ends it).
/// </summary>
internal sealed unsafe partial class OpenLoop : IDisposable
{
    /// <summary>The longest sleep: answers are read, timeouts found and a stop seen within this.</summary>
    public static readonly TimeSpan MaxSleep = TimeSpan.FromMilliseconds(10);

    private const int MaxEvents = 256;

    /// <summary>Answers are read after every this many arrivals released in one go.</summary>
    private const int ReadEvery = 32;

    /// <summary>The most one connection's read takes in one go (the rest waits in <see cref="_unread"/>).</summary>
    private const int ReadCap = 256 * 1024;

    /// <summary>An answer beyond this (about a first receive window) makes the loop wait on answers, not sleep past them.</summary>
    private const int LargeAnswer = 64 * 1024;

    private const uint ReadEdges = Native.EpollIn | Native.EpollRdHup | Native.EpollHup | Native.EpollErr;
    private const int ControlBytes = 64;

    private readonly OpenModelRunner _runner;
    private readonly RequestExecutor _executor;
    private readonly HttpEndpoint _endpoint;
    private readonly byte[] _request;
    private readonly long _timeoutTicks;
    private readonly long _maxSleepTicks;
    private readonly int _epoll;
    private readonly byte* _events;
    private readonly byte* _control;
    private readonly List<Connection> _connections = [];
    private readonly Stack<Connection> _idle = new();
    private readonly Stack<Connection> _free = new();
    private readonly Queue<(Connection Connection, int Generation, long Deadline)> _deadlines = new();
    private readonly (int Family, byte[] Bytes) _address;
    private readonly List<Connection> _unread = [];
    private bool _eager;
    private int _prompt;
    private long _opened;
    private long _realtimeOffset;
    private bool _disposed;

    private enum State
    {
        Closed,
        Idle,
        Connecting,
        Sending,
        Awaiting,
    }

    private sealed class Connection(int index)
    {
        public readonly int Index = index;
        public readonly ResponseReader Reader = new();
        public int Fd = -1;
        public State State;
        public bool InIdle;
        public bool Prompt;
        public bool Reused;
        public int Attempt;
        public int Generation;
        public int RequestSent;

        /// <summary>The read edges (EPOLLIN, EPOLLRDHUP, EPOLLHUP, EPOLLERR) seen and not yet read to the end.</summary>
        public uint Edge;

        /// <summary>Queued in <see cref="_unread"/>: it stopped reading at the per-wake cap with bytes left.</summary>
        public bool Unread;
        public long Intended;
        public long Sent;
    }

    /// <summary>True where this loop can run: Linux on x64 or arm64, with the Stopwatch clock clock_nanosleep sleeps on.</summary>
    public static bool Supported { get; } = PreciseSleep.Supported
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 && Probe();

    /// <summary>Connections this loop opened (each a socket and a handshake).</summary>
    public long ConnectionsOpened => _opened;

    /// <summary>Bytes this loop's thread allocated per request after its first second (null for a run shorter than that).</summary>
    public double? SteadyBytesPerRequest { get; private set; }

    public OpenLoop(OpenModelRunner runner, RequestExecutor executor)
    {
        _runner = runner;
        _executor = executor;
        _endpoint = executor.Endpoint;
        _request = _endpoint.RequestBytes;
        _timeoutTicks = (long)(_endpoint.Timeout.TotalSeconds * Stopwatch.Frequency);
        _maxSleepTicks = (long)(MaxSleep.TotalSeconds * Stopwatch.Frequency);
        _epoll = Native.EpollCreate1(Native.EpollCloexec);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()})");
        }

        _address = SocketAddressOf(_endpoint.EndPoint);
        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Native.EventSize));
        _control = (byte*)NativeMemory.Alloc(ControlBytes);
    }

    /// <summary>
    /// Paces the scenario's arrivals from <paramref name="start"/> until its curve ends or a stop, then waits for the
    /// answers in flight (each ends by its timeout at the latest). A hard stop (<paramref name="abort"/>) cuts them off.
    /// </summary>
    public void Run(long start, Core.Load.LoadCurve.ArrivalSchedule schedule, long ahead, CancellationToken stop, CancellationToken abort)
    {
        // Allocation is measured from the end of the first second (connections opened, buffers grown) to the end.
        long warm = start + Stopwatch.Frequency;
        long warmAllocated = -1, warmStarted = 0, started = 0;
        bool pacing = true;
        bool pending = false;
        long pendingDue = 0;
        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            if (abort.IsCancellationRequested)
            {
                CancelAll(now);
                return;
            }

            if (pacing && stop.IsCancellationRequested)
            {
                pacing = false;
            }

            // Release every arrival due up to the horizon (each keeps its own due time).
            int released = 0;
            while (pacing)
            {
                if (!pending)
                {
                    if (!_runner.TryNextDue(schedule, start, out pendingDue))
                    {
                        pacing = false;
                        break;
                    }

                    pending = true;
                }

                now = Stopwatch.GetTimestamp();
                if (pendingDue - now > ahead)
                {
                    break;
                }

                pending = false;
                if (!_runner.TryAdmit(pendingDue, now))
                {
                    continue; // dropped: maxInFlight requests outstanding
                }

                Start(pendingDue, now);
                started++;
                if (++released % ReadEvery == 0)
                {
                    // A long batch (the loop fell behind): read the answers in between, so their connections carry the
                    // next arrivals instead of each opening one of its own; and see a stop.
                    Harvest(0);
                    Expire(Stopwatch.GetTimestamp());
                    if (stop.IsCancellationRequested || abort.IsCancellationRequested)
                    {
                        break;
                    }
                }

                if (warmAllocated < 0 && now >= warm)
                {
                    (warmAllocated, warmStarted) = (GC.GetAllocatedBytesForCurrentThread(), started);
                }
            }

            if (!pacing && _runner.InFlight == 0)
            {
                if (warmAllocated >= 0 && started > warmStarted)
                {
                    SteadyBytesPerRequest = (GC.GetAllocatedBytesForCurrentThread() - warmAllocated) / (double)(started - warmStarted);
                }

                return;
            }

            // Sleep until the next arrival is due (or a while, to read answers and find timeouts), then read what came in.
            long wake = now + _maxSleepTicks;
            if (pacing && pending)
            {
                wake = Math.Min(wake, pendingDue);
            }

            // A connection mid-connect, mid-send or mid-answer is waited on (epoll_wait counts whole milliseconds); one with
            // bytes left unread at the cap is read on at once.
            long ms = _prompt > 0 ? (wake - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency : 0;
            if (_unread.Count > 0)
            {
                Harvest(0);
            }
            else if (ms > 0)
            {
                Harvest((int)ms);
            }
            else
            {
                if (wake > Stopwatch.GetTimestamp())
                {
                    PreciseSleep.Until(wake);
                }

                Harvest(0);
            }

            ReadUnread();
            Expire(Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Sends one admitted arrival (already counted in flight): on an idle connection, else on a new one once it connects.</summary>
    private void Start(long intended, long now)
    {
        _executor.RecordStart();
        Connection? c = null;
        while (_idle.TryPop(out var idle))
        {
            idle.InIdle = false;
            if (idle.State == State.Idle)
            {
                c = idle;
                break;
            }

            _free.Push(idle); // closed by the server while idle
        }

        c ??= _free.TryPop(out var free) ? free : NewConnection();
        c.Generation++;
        c.Attempt = 0;
        c.Intended = intended;
        c.Sent = now;
        _deadlines.Enqueue((c, c.Generation, now + _timeoutTicks));
        if (c.State == State.Idle)
        {
            BeginSend(c);
        }
        else
        {
            c.Reused = false;
            Open(c);
        }
    }

    private Connection NewConnection()
    {
        var c = new Connection(_connections.Count);
        _connections.Add(c);
        return c;
    }

    /// <summary>
    /// Opens a socket for the connection's request and starts connecting; sends once connected. Plain system calls, no
    /// exception for a connect in progress: a loop that fell behind may open hundreds of connections at once.
    /// </summary>
    private void Open(Connection c)
    {
        c.Reader.Clear();
        int fd = Native.Socket(_address.Family, Native.SockStream | Native.SockNonBlock | Native.SockCloexec, 0);
        if (fd < 0)
        {
            Fail(c, Stopwatch.GetTimestamp(), timedOut: false); // out of descriptors: this request fails, the run goes on
            return;
        }

        _opened++;
        c.Fd = fd;
        c.Edge = 0;
        c.State = State.Connecting;
        int one = 1;
        _ = Native.SetSockOpt(fd, Native.IpProtoTcp, Native.TcpNoDelay, &one, sizeof(int));
        _ = Native.SetSockOpt(fd, Native.SolSocket, Native.SoTimestampNs, &one, sizeof(int));
        var ev = stackalloc byte[16];
        *(uint*)ev = Native.EpollIn | Native.EpollOut | Native.EpollRdHup | Native.EpollEt;
        *(ulong*)(ev + Native.DataOffset) = (ulong)c.Index;
        int result;
        fixed (byte* address = _address.Bytes)
        {
            result = Native.EpollCtl(_epoll, Native.EpollCtlAdd, fd, ev) != 0 ? -1 : Native.Connect(fd, address, _address.Bytes.Length);
        }

        if (result == 0)
        {
            BeginSend(c);
        }
        else if (Marshal.GetLastPInvokeError() is Native.EInProgress or Native.EAgain or Native.EIntr)
        {
            SetPrompt(c, true);
        }
        else
        {
            Fail(c, Stopwatch.GetTimestamp(), timedOut: false);
        }
    }

    private void BeginSend(Connection c)
    {
        c.Reader.Begin(_endpoint, capture: null);
        c.RequestSent = 0;
        c.State = State.Sending;
        Send(c);
    }

    private void Send(Connection c)
    {
        fixed (byte* request = _request)
        {
            while (c.RequestSent < _request.Length)
            {
                nint n = Native.Send(c.Fd, request + c.RequestSent, _request.Length - c.RequestSent, Native.MsgNoSignal | Native.MsgDontWait);
                if (n >= 0)
                {
                    c.RequestSent += (int)n;
                    continue;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == Native.EIntr)
                {
                    continue;
                }

                if (errno == Native.EAgain)
                {
                    SetPrompt(c, true); // the rest goes when the socket can take it (EPOLLOUT)
                    return;
                }

                Fail(c, Stopwatch.GetTimestamp(), timedOut: false);
                return;
            }
        }

        c.State = State.Awaiting;
        SetPrompt(c, _eager);
        if (c.Edge != 0)
        {
            Read(c); // an answer (or the server's close) came while the request was going out: its edge has passed
        }
    }

    /// <summary>Reads what is ready; <paramref name="timeoutMs"/> &gt; 0 blocks up to that long for the first event.</summary>
    private void Harvest(int timeoutMs)
    {
        while (true)
        {
            int n = Native.EpollWait(_epoll, _events, MaxEvents, timeoutMs);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Native.EIntr)
                {
                    timeoutMs = 0; // a signal: back to the loop, which knows how long is left
                    continue;
                }

                throw new IOException($"epoll_wait failed (errno {Marshal.GetLastPInvokeError()})");
            }

            if (n == 0)
            {
                return;
            }

            _realtimeOffset = RealtimeNanoseconds() - Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++)
            {
                byte* e = _events + (i * Native.EventSize);
                uint events = *(uint*)e;
                var c = _connections[(int)*(ulong*)(e + Native.DataOffset)];
                Handle(c, events);
            }

            if (n < MaxEvents)
            {
                return;
            }

            timeoutMs = 0;
        }
    }

    private void Handle(Connection c, uint events)
    {
        // An edge is reported once: what it says about reading (data, the server's close) is kept until the connection
        // reads, so an answer or a close that came while it was connecting or sending is not lost.
        c.Edge |= events & ReadEdges;
        switch (c.State)
        {
            case State.Connecting:
                int error = 0, size = sizeof(int);
                if (Native.GetSockOpt(c.Fd, Native.SolSocket, Native.SoError, &error, &size) != 0 || error != 0)
                {
                    Fail(c, Stopwatch.GetTimestamp(), timedOut: false);
                    return;
                }

                if ((events & (Native.EpollOut | Native.EpollErr | Native.EpollHup)) != 0)
                {
                    SetPrompt(c, false);
                    BeginSend(c);
                }

                return;
            case State.Sending:
                if ((events & (Native.EpollOut | Native.EpollErr | Native.EpollHup)) != 0)
                {
                    Send(c);
                }

                return;
            case State.Awaiting:
                if (c.Edge != 0)
                {
                    Read(c);
                }

                return;
            case State.Idle:
                if ((events & ReadEdges) != 0)
                {
                    // An idle keep-alive connection the server closed (or wrote to unasked): not reused.
                    Close(c);
                }

                return;
            default:
                return;
        }
    }

    /// <summary>
    /// Reads the connection's answer as far as it has come; records it when complete. A short read ends the reading
    /// unless the server closed (its FIN comes after the data: read on to the end), and one wake reads at most
    /// <see cref="ReadCap"/> bytes of one connection (an endless answer must not hold the loop; the rest is read next).
    /// </summary>
    private void Read(Connection c)
    {
        var header = default(Native.MsgHdr);
        var iov = default(Native.IoVec);
        bool closing = (c.Edge & (Native.EpollRdHup | Native.EpollHup | Native.EpollErr)) != 0;
        int budget = ReadCap;
        long lastData = 0; // the kernel's time of the last data read; 0 (none) makes Complete take the read time
        try
        {
            while (true)
            {
                if (budget <= 0)
                {
                    if (!c.Unread)
                    {
                        c.Unread = true;
                        _unread.Add(c);
                    }

                    return;
                }

                var space = c.Reader.Space;
                nint n;
                fixed (byte* p = space)
                {
                    iov.Base = p;
                    iov.Length = (nuint)space.Length;
                    header.Iov = &iov;
                    header.IovLength = 1;
                    header.Control = _control;
                    header.ControlLength = ControlBytes;
                    n = Native.RecvMsg(c.Fd, &header, Native.MsgDontWait);
                }

                if (n > 0)
                {
                    budget -= (int)n;
                    lastData = AnsweredAt(&header);
                    if (c.Reader.Received((int)n))
                    {
                        Complete(c, lastData, closing);
                        return;
                    }

                    if (n < space.Length && !closing)
                    {
                        c.Edge = 0;
                        SetPrompt(c, true); // the rest is on its way: wait for it, not for the next batch
                        return;
                    }

                    continue;
                }

                if (n == 0)
                {
                    c.Reader.EndOfStream(); // a body that runs to the connection's end is complete; a cut one throws
                    Complete(c, lastData, closing: true);
                    return;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == Native.EIntr)
                {
                    continue;
                }

                if (errno != Native.EAgain)
                {
                    Fail(c, Stopwatch.GetTimestamp(), timedOut: false);
                    return;
                }

                c.Edge = 0;
                if (c.Reader.Started)
                {
                    SetPrompt(c, true);
                }

                return;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            Fail(c, Stopwatch.GetTimestamp(), timedOut: false);
        }
    }

    /// <summary>Reads on the connections a wake's cap left with bytes unread (each again up to the cap).</summary>
    private void ReadUnread()
    {
        int count = _unread.Count;
        for (int i = 0; i < count; i++)
        {
            var c = _unread[i];
            c.Unread = false;
            if (c.State == State.Awaiting)
            {
                Read(c);
            }
        }

        _unread.RemoveRange(0, count);
    }

    /// <summary>When the kernel received the answer's last byte, on the Stopwatch clock; 0 if it did not say.</summary>
    private long AnsweredAt(Native.MsgHdr* header)
    {
        if ((header->Flags & Native.MsgCTrunc) != 0)
        {
            return 0;
        }

        for (byte* cmsg = header->ControlLength >= 16 ? (byte*)header->Control : null; cmsg is not null;)
        {
            ulong length = *(ulong*)cmsg;
            if (length < 16 || cmsg + length > (byte*)header->Control + header->ControlLength)
            {
                break;
            }

            if (*(int*)(cmsg + 8) == Native.SolSocket && *(int*)(cmsg + 12) == Native.SoTimestampNs && length >= 32)
            {
                long realtime = (*(long*)(cmsg + 16) * 1_000_000_000) + *(long*)(cmsg + 24);
                return realtime - _realtimeOffset;
            }

            cmsg += (length + 7) & ~7UL;
            if (cmsg + 16 > (byte*)header->Control + header->ControlLength)
            {
                break;
            }
        }

        return 0;
    }

    private void Complete(Connection c, long answeredAt, bool closing)
    {
        var result = c.Reader.Finish(out bool close);
        close |= closing; // the server closed after its answer: not reused
        c.Edge = 0;
        if (result.BytesReceived > LargeAnswer)
        {
            _eager = true; // answers beyond a receive window: wait on them, so the server is never held by the sleep
        }

        // The kernel's time, if it is a time this loop could have seen (after the send, not after now); else (none, or a
        // clock step between the packet and the read) now, an upper bound: an answer must never look faster than it was.
        long now = Stopwatch.GetTimestamp();
        if (answeredAt < c.Sent || answeredAt > now)
        {
            answeredAt = now;
        }

        _executor.Record(result.Outcome, c.Intended, c.Sent, result.BytesReceived, answeredAt);
        _runner.AddInFlight(-1);
        c.Generation++; // its deadline no longer applies
        SetPrompt(c, false);
        if (close)
        {
            Close(c);
            _free.Push(c);
            return;
        }

        c.State = State.Idle;
        c.Reused = true;
        if (!c.InIdle)
        {
            c.InIdle = true;
            _idle.Push(c);
        }
    }

    /// <summary>The request failed on this connection: sent again on a fresh one where the task-based path would (<see cref="RequestExecutor.MayRetry"/>).</summary>
    private void Fail(Connection c, long now, bool timedOut)
    {
        bool retry = RequestExecutor.MayRetry(c.Reused, c.Attempt, timedOut, c.Reader.Started);
        Close(c);
        if (retry)
        {
            c.Attempt = 1;
            c.Reused = false;
            Open(c); // the same request (and deadline) on a new socket
            return;
        }

        _executor.Record(timedOut ? Outcome.Timeout : Outcome.ConnectionError, c.Intended, c.Sent, 0, now);
        _runner.AddInFlight(-1);
        c.Generation++;
        if (!c.InIdle)
        {
            _free.Push(c);
        }
    }

    private void Close(Connection c)
    {
        SetPrompt(c, false);
        c.State = State.Closed;
        if (c.Fd >= 0)
        {
            _ = Native.Close(c.Fd); // closing the descriptor takes it out of the epoll set
            c.Fd = -1;
        }
    }

    /// <summary>Times out the requests whose deadline passed (deadlines are in send order: one timeout for all).</summary>
    private void Expire(long now)
    {
        while (_deadlines.TryPeek(out var head))
        {
            var (c, generation, deadline) = head;
            if (c.Generation == generation && deadline > now)
            {
                return;
            }

            _deadlines.Dequeue();
            if (c.Generation == generation)
            {
                Fail(c, now, timedOut: true);
            }
        }
    }

    /// <summary>A hard stop: every request in flight ends now, counted as cancelled.</summary>
    private void CancelAll(long now)
    {
        while (_deadlines.TryDequeue(out var entry))
        {
            var c = entry.Connection;
            if (c.Generation == entry.Generation && c.State is State.Connecting or State.Sending or State.Awaiting)
            {
                _executor.Record(Outcome.Cancelled, c.Intended, c.Sent, 0, now);
                _runner.AddInFlight(-1);
                c.Generation++;
                Close(c);
            }
        }
    }

    private void SetPrompt(Connection c, bool prompt)
    {
        if (c.Prompt != prompt)
        {
            c.Prompt = prompt;
            _prompt += prompt ? 1 : -1;
        }
    }

    /// <summary>CLOCK_REALTIME, the clock of the kernel's receive timestamps, in nanoseconds.</summary>
    private static long RealtimeNanoseconds()
    {
        var ts = stackalloc long[2];
        _ = Native.ClockGetTime(Native.ClockRealtime, ts);
        return (ts[0] * 1_000_000_000) + ts[1];
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var c in _connections)
        {
            if (c.Fd >= 0)
            {
                _ = Native.Close(c.Fd);
                c.Fd = -1;
            }
        }

        _ = Native.Close(_epoll);
        NativeMemory.Free(_events);
        NativeMemory.Free(_control);
    }

    /// <summary>The endpoint as a struct sockaddr_in or sockaddr_in6, for connect(2).</summary>
    private static (int Family, byte[] Bytes) SocketAddressOf(System.Net.EndPoint endPoint)
    {
        if (endPoint is not System.Net.IPEndPoint ip)
        {
            throw new ArgumentException($"not an IP endpoint: {endPoint}", nameof(endPoint));
        }

        bool v6 = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var bytes = new byte[v6 ? 28 : 16];
        int family = v6 ? Native.AfInet6 : Native.AfInet;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)family);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)ip.Port);
        if (v6)
        {
            ip.Address.GetAddressBytes().CopyTo(bytes, 8);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), (uint)ip.Address.ScopeId);
        }
        else
        {
            ip.Address.GetAddressBytes().CopyTo(bytes, 4);
        }

        return (family, bytes);
    }

    private static bool Probe()
    {
        try
        {
            int fd = Native.EpollCreate1(Native.EpollCloexec);
            if (fd < 0)
            {
                return false;
            }

            _ = Native.Close(fd);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static partial class Native
    {
        public const int EpollCloexec = 0x80000;
        public const int EpollCtlAdd = 1;
        public const uint EpollIn = 0x1;
        public const uint EpollOut = 0x4;
        public const uint EpollErr = 0x8;
        public const uint EpollHup = 0x10;
        public const uint EpollRdHup = 0x2000;
        public const uint EpollEt = 0x80000000;
        public const int MsgDontWait = 0x40;
        public const int MsgNoSignal = 0x4000;
        public const int MsgCTrunc = 0x8;
        public const int SolSocket = 1;
        public const int SoTimestampNs = 35; // SO_TIMESTAMPNS_OLD: a struct timespec of CLOCK_REALTIME in SCM_TIMESTAMPNS
        public const int EIntr = 4;
        public const int EAgain = 11;
        public const int EInProgress = 115;
        public const int AfInet = 2;
        public const int AfInet6 = 10;
        public const int SockStream = 1;
        public const int SockNonBlock = 0x800;
        public const int SockCloexec = 0x80000;
        public const int IpProtoTcp = 6;
        public const int TcpNoDelay = 1;
        public const int SoError = 4;

        /// <summary>struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16).</summary>
        public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

        public static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

        [StructLayout(LayoutKind.Sequential)]
        public struct IoVec
        {
            public byte* Base;
            public nuint Length;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct MsgHdr
        {
            public void* Name;
            public uint NameLength;
            public IoVec* Iov;
            public nuint IovLength;
            public void* Control;
            public nuint ControlLength;
            public int Flags;
        }

        [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
        public static partial int EpollCreate1(int flags);

        [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
        public static partial int EpollCtl(int epfd, int op, int fd, byte* ev);

        [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
        public static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);

        [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
        public static partial nint Send(int fd, byte* buffer, nint length, int flags);

        [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
        public static partial nint RecvMsg(int fd, MsgHdr* message, int flags);

        [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
        public static partial int Socket(int domain, int type, int protocol);

        [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
        public static partial int Connect(int fd, byte* address, int length);

        [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
        public static partial int GetSockOpt(int fd, int level, int name, void* value, int* length);

        [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
        public static partial int SetSockOpt(int fd, int level, int name, void* value, int length);

        public const int ClockRealtime = 0;

        [LibraryImport("libc", EntryPoint = "clock_gettime")]
        [SuppressGCTransition]
        public static partial int ClockGetTime(int clock, long* timespec);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}
