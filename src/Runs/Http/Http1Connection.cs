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
    /// <summary>The largest response header block read (the README's documented limit); the buffer grows to it when a head needs it.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly SslStream? _tls;
    private readonly ResponseReader _reader = new();
    private int _disposed;

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
    public bool ResponseStarted => _reader.Started;

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
        _reader.Begin(endpoint, capture);
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

        while (!_reader.Advance())
        {
            var space = _reader.SpaceMemory;
            int n = _tls is null
                ? await _socket.ReceiveAsync(space, SocketFlags.None, ct).ConfigureAwait(false)
                : await _tls.ReadAsync(space, ct).ConfigureAwait(false);
            if (n == 0)
            {
                _reader.EndOfStream();
                break;
            }

            if (_reader.Received(n))
            {
                break;
            }
        }

        var result = _reader.Finish(out bool close);
        Exchanges++;
        IsBroken |= close;
        return result;
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
