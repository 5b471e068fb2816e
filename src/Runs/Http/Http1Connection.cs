using System.Runtime.CompilerServices;
using System.Net.Security;
using System.Net.Sockets;

namespace Constellation.Runs.Http;

/// <summary>
/// A lean HTTP/1.1 keep-alive client connection: it writes pre-serialized request bytes and parses
/// only what it needs from the response (status, framing, connection), counting body bytes without
/// copying them. HttpClient costs about twice the CPU per request, which a load generator cannot afford.
/// </summary>
public sealed class Http1Connection : IDisposable
{
    private const int BufferSize = 16 * 1024;

    /// <summary>The largest response header block read (the README's documented limit); the buffer grows to it when a head needs it.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    /// <summary>Interim (1xx) responses skipped before one request's final response; more is a hostile server.</summary>
    private const int MaxInterimResponses = 16;

    private readonly Socket _socket;
    private readonly SslStream? _tls;
    private byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;
    private int _disposed;

    // The body checks of the current exchange scan the body as it streams by (nothing is kept but a short carry-over).
    private BodyScan? _scan;

    private Http1Connection(Socket socket, SslStream? tls)
    {
        _socket = socket;
        _tls = tls;
    }

    /// <summary>Set by the timeout watchdog before it closes the socket, so the failure reads as a timeout.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>Stopwatch timestamp after which the watchdog may kill this connection; 0 while idle.</summary>
    public long DeadlineTimestamp;

    /// <summary>True once the server asked to close, or an exchange failed: do not reuse.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>True once any byte of the current exchange's response arrived: such a request is not retried.</summary>
    public bool ResponseStarted { get; private set; }

    /// <summary>Requests completed on this connection: 0 means fresh.</summary>
    public int Exchanges { get; private set; }

    public static async ValueTask<Http1Connection> ConnectAsync(HttpEndpoint endpoint, CancellationToken ct)
    {
        var socket = new Socket(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.EndPoint, ct).ConfigureAwait(false);
            SslStream? tls = null;
            if (endpoint.UseTls)
            {
                tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
                var options = new SslClientAuthenticationOptions { TargetHost = endpoint.Url.IdnHost };
                if (endpoint.SkipTlsVerify)
                {
                    // The target's insecureSkipTlsVerify: a self-signed or internal certificate is accepted as is.
                    options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
                }

                await tls.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
            }

            return new Http1Connection(socket, tls);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Called by the watchdog: closes the socket so the pending I/O fails now.</summary>
    public void Abort(bool timedOut)
    {
        TimedOut |= timedOut;
        IsBroken = true;
        Dispose();
    }

    /// <summary>Sends the request and reads the whole response. Throws on I/O failure.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<HttpResult> ExchangeAsync(HttpEndpoint endpoint, CancellationToken ct, byte[]? composed = null, ResponseCapture? capture = null)
    {
        var request = composed ?? endpoint.RequestBytes;
        ResponseStarted = false;
        if (_tls is null)
        {
            int sent = 0;
            while (sent < request.Length)
            {
                sent += await _socket.SendAsync(request.AsMemory(sent), SocketFlags.None, ct).ConfigureAwait(false);
            }
        }
        else
        {
            await _tls.WriteAsync(request, ct).ConfigureAwait(false);
        }

        // Read the header block; interim answers (100 Continue, 102 Processing, 103 Early Hints) come before the
        // final one and are skipped (RFC 9110 §15.2): the request is answered by the final response alone.
        long bytes = 0;
        int status;
        long contentLength;
        bool chunked;
        bool close;
        for (int interim = 0; ; interim++)
        {
            int headerEnd;
            while ((headerEnd = FindHeaderEnd()) < 0)
            {
                if (_end - _start >= MaxHeaderBytes)
                {
                    throw new InvalidDataException($"response headers larger than {MaxHeaderBytes / 1024} KiB");
                }

                if (await FillAsync(ct).ConfigureAwait(false) == 0)
                {
                    throw new IOException(_end == _start ? "connection closed before a response" : "connection closed inside response headers");
                }
            }

            var head = _buffer.AsSpan(_start, headerEnd - _start);
            status = ParseStatus(head);
            contentLength = -1;
            chunked = false;
            close = head.Length > 7 && head[7] == (byte)'0'; // HTTP/1.0 closes by default
            ParseHeaders(head, ref contentLength, ref chunked, ref close, status >= 200 ? capture : null);
            bytes += headerEnd + 4 - _start;
            _start = headerEnd + 4;
            if (status >= 200)
            {
                break;
            }

            if (status == 101)
            {
                // The server switched protocols (an Upgrade): the connection no longer speaks HTTP/1.1.
                throw new InvalidDataException("101 Switching Protocols: the server upgraded the connection, which a load test cannot follow");
            }

            if (interim >= MaxInterimResponses)
            {
                throw new InvalidDataException($"more than {MaxInterimResponses} interim (1xx) responses to one request");
            }
        }

        var checks = endpoint.Checks;
        var scan = checks is { ChecksBody: true } ? (_scan ??= new BodyScan()) : null;
        scan?.Reset(checks!);
        IBodySink? sink = capture is { WantsBody: true } ? (scan is null ? capture : new BothSinks(scan, capture)) : scan;

        if (endpoint.IsHead || status is 204 or 304)
        {
            // no body
        }
        else if (chunked)
        {
            bytes += await SkipChunkedAsync(sink, ct).ConfigureAwait(false);
        }
        else if (contentLength >= 0)
        {
            bytes += await SkipAsync(contentLength, sink, ct).ConfigureAwait(false);
        }
        else
        {
            // No framing: the body runs to the end of the connection.
            close = true;
            bytes += _end - _start;
            sink?.Feed(_buffer.AsSpan(_start, _end - _start));
            _start = _end;
            int n;
            while ((n = await FillAsync(ct).ConfigureAwait(false)) > 0)
            {
                bytes += n;
                sink?.Feed(_buffer.AsSpan(_start, n));
                _start = _end;
            }
        }

        var outcome = HttpResult.Classify(status);
        if (checks is not null && outcome is Outcome.Status2xx or Outcome.Status3xx && !checks.Pass(status, scan))
        {
            outcome = Outcome.CheckFailed;
        }

        if (_start == _end)
        {
            _start = _end = 0;
        }

        Exchanges++;
        IsBroken |= close;
        return new HttpResult(outcome, status, bytes);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            IsBroken = true;
            _tls?.Dispose();
            _socket.Dispose();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> SkipAsync(long length, IBodySink? scan, CancellationToken ct)
    {
        long remaining = length;
        while (true)
        {
            int available = _end - _start;
            if (available >= remaining)
            {
                scan?.Feed(_buffer.AsSpan(_start, (int)remaining));
                _start += (int)remaining;
                return length;
            }

            remaining -= available;
            scan?.Feed(_buffer.AsSpan(_start, available));
            _start = _end = 0;
            if (await FillAsync(ct).ConfigureAwait(false) == 0)
            {
                throw new IOException("connection closed inside response body");
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> SkipChunkedAsync(IBodySink? scan, CancellationToken ct)
    {
        long total = 0;
        while (true)
        {
            int lineEnd;
            while ((lineEnd = FindCrLf(_start)) < 0)
            {
                if (await FillAsync(ct).ConfigureAwait(false) == 0)
                {
                    throw new IOException("connection closed inside a chunk header");
                }
            }

            long size = ParseChunkSize(_buffer.AsSpan(_start, lineEnd - _start));
            total += lineEnd + 2 - _start;
            _start = lineEnd + 2;
            if (size == 0)
            {
                // Trailers, then an empty line.
                while (true)
                {
                    while ((lineEnd = FindCrLf(_start)) < 0)
                    {
                        if (await FillAsync(ct).ConfigureAwait(false) == 0)
                        {
                            throw new IOException("connection closed inside chunked trailers");
                        }
                    }

                    bool empty = lineEnd == _start;
                    total += lineEnd + 2 - _start;
                    _start = lineEnd + 2;
                    if (empty)
                    {
                        return total;
                    }
                }
            }

            total += await SkipAsync(size, scan, ct).ConfigureAwait(false);
            total += await SkipAsync(2, scan: null, ct).ConfigureAwait(false); // the CRLF after the chunk
        }
    }

    /// <summary>Reads more bytes into the buffer, compacting it first when full. Returns 0 at end of stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FillAsync(CancellationToken ct)
    {
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else if (_buffer.Length < MaxHeaderBytes + 4)
            {
                // A header block (or a chunk line) longer than the buffer: grow it, up to the header limit.
                Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxHeaderBytes + 4));
            }
            else
            {
                throw new InvalidDataException($"a response line or header block longer than {MaxHeaderBytes / 1024} KiB");
            }
        }

        int n = _tls is null
            ? await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false)
            : await _tls.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
        _end += n;
        ResponseStarted |= n > 0;
        return n;
    }

    private int FindHeaderEnd()
    {
        var span = _buffer.AsSpan(_start, _end - _start);
        int i = span.IndexOf("\r\n\r\n"u8);
        if (i < 0 && span.IndexOf("\n\n"u8) is var bare && bare >= 0 && (bare == 0 || span[bare - 1] != (byte)'\r'))
        {
            // A header block ended by bare line feeds: not HTTP/1.1 framing; fail now rather than wait for a CRLF.
            throw new InvalidDataException("the response's lines end in a bare LF, not CRLF");
        }

        return i < 0 ? -1 : _start + i;
    }

    private int FindCrLf(int from)
    {
        int i = _buffer.AsSpan(from, _end - from).IndexOf("\r\n"u8);
        return i < 0 ? -1 : from + i;
    }

    internal static int ParseStatus(ReadOnlySpan<byte> head)
    {
        // "HTTP/1.1 200 OK"
        if (head.Length < 12 || !head.StartsWith("HTTP/1."u8) || head[8] != (byte)' ')
        {
            throw new InvalidDataException("not an HTTP/1.x response");
        }

        int status = 0;
        for (int i = 9; i < 12; i++)
        {
            int d = head[i] - '0';
            if ((uint)d > 9)
            {
                throw new InvalidDataException("bad status code");
            }

            status = (status * 10) + d;
        }

        if (status is < 100 or > 599)
        {
            throw new InvalidDataException($"status code {status} is outside 100-599");
        }

        return status;
    }

    /// <summary>Reads the framing headers; <paramref name="capture"/> (a final answer's) gets the Set-Cookie values and the headers it asks for in the same pass.</summary>
    internal static void ParseHeaders(ReadOnlySpan<byte> head, ref long contentLength, ref bool chunked, ref bool close, ResponseCapture? capture = null)
    {
        int lineStart = head.IndexOf("\r\n"u8);
        while (lineStart >= 0 && lineStart + 2 < head.Length)
        {
            var rest = head[(lineStart + 2)..];
            int len = rest.IndexOf("\r\n"u8);
            var line = len < 0 ? rest : rest[..len];
            int colon = line.IndexOf((byte)':');
            if (colon > 0)
            {
                var name = line[..colon];
                var value = line[(colon + 1)..].Trim((byte)' ');
                if (EqualsIgnoreCase(name, "content-length"u8))
                {
                    if (value.IsEmpty || value.Length > 15)
                    {
                        throw new InvalidDataException(value.IsEmpty ? "empty Content-Length" : "Content-Length too large");
                    }

                    long v = 0;
                    foreach (var b in value)
                    {
                        int d = b - '0';
                        if ((uint)d > 9)
                        {
                            throw new InvalidDataException("bad Content-Length");
                        }

                        v = (v * 10) + d;
                    }

                    // Two different lengths: the framing is ambiguous (RFC 9112 §6.3), a request smuggler's trick.
                    if (contentLength >= 0 && contentLength != v)
                    {
                        throw new InvalidDataException("conflicting Content-Length headers");
                    }

                    contentLength = v;
                }
                else if (EqualsIgnoreCase(name, "transfer-encoding"u8))
                {
                    chunked = ContainsIgnoreCase(value, "chunked"u8);
                }
                else if (EqualsIgnoreCase(name, "connection"u8))
                {
                    if (ContainsIgnoreCase(value, "close"u8))
                    {
                        close = true;
                    }
                    else if (ContainsIgnoreCase(value, "keep-alive"u8))
                    {
                        close = false;
                    }
                }
                else if (capture is not null && capture.Wants(name))
                {
                    capture.Add(name, value);
                }
            }

            if (len < 0)
            {
                break;
            }

            lineStart += 2 + len;
        }
    }

    internal static long ParseChunkSize(ReadOnlySpan<byte> line)
    {
        long size = 0;
        int digits = 0;
        foreach (var b in line)
        {
            int d = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (d < 0)
            {
                break; // chunk extensions (";name=value") or spaces
            }

            size = (size << 4) | (uint)d;
            if (++digits > 15)
            {
                throw new InvalidDataException("chunk size too large");
            }
        }

        if (digits == 0)
        {
            throw new InvalidDataException("bad chunk size");
        }

        return size;
    }

    private static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> lowerB)
    {
        if (a.Length != lowerB.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if ((a[i] | 0x20) != lowerB[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool ContainsIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> lowerNeedle)
    {
        for (int i = 0; i + lowerNeedle.Length <= haystack.Length; i++)
        {
            if (EqualsIgnoreCase(haystack.Slice(i, lowerNeedle.Length), lowerNeedle))
            {
                return true;
            }
        }

        return false;
    }
}
