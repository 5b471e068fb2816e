namespace Constellation.Runs.Http;

/// <summary>
/// Reads one HTTP/1.1 response from bytes pushed into it, whoever receives them: the async connection awaits a read
/// and pushes, the open model's single-threaded loop pushes what a non-blocking receive returned. It keeps only what it
/// needs (status, framing, connection) and counts body bytes without keeping them; interim (1xx) answers are skipped.
/// </summary>
internal sealed class ResponseReader
{
    private const int BufferSize = 16 * 1024;

    /// <summary>Interim (1xx) responses skipped before one request's final response; more is a hostile server.</summary>
    private const int MaxInterimResponses = 16;

    private enum Phase
    {
        Head,
        Body,
        ChunkLine,
        ChunkData,
        ChunkEnd,
        Trailer,
        UntilClose,
        Done,
    }

    private byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;

    private Phase _phase;
    private long _remaining;
    private int _interim;
    private int _status;
    private long _bytes;
    private bool _close;
    private HttpEndpoint? _endpoint;
    private ResponseCapture? _capture;
    private BodyScan? _scanBuffer;
    private BodyScan? _scan;
    private IBodySink? _sink;

    /// <summary>True once any byte of the current exchange's response arrived: such a request is not retried.</summary>
    public bool Started { get; private set; }

    /// <summary>The final response's status (0 until its head is read).</summary>
    public int Status => _phase is Phase.Head ? 0 : _status;

    /// <summary>True once the final response's head is read: what follows is its body.</summary>
    public bool InBody => _phase is not (Phase.Head or Phase.Done);

    /// <summary>Starts reading the answer to one request of <paramref name="endpoint"/>.</summary>
    public void Begin(HttpEndpoint endpoint, ResponseCapture? capture)
    {
        _endpoint = endpoint;
        _capture = capture;
        _phase = Phase.Head;
        _interim = 0;
        _bytes = 0;
        _status = 0;
        _close = false;
        _scan = null;
        _sink = null;
        Started = false;
    }

    /// <summary>Forgets any bytes left from an earlier connection (the reader is reused for a new one).</summary>
    public void Clear() => _start = _end = 0;

    /// <summary>Where the next received bytes go: free space at the buffer's end, made by compacting or growing it.</summary>
    public Span<byte> Space => SpaceMemory.Span;

    /// <inheritdoc cref="Space"/>
    public Memory<byte> SpaceMemory
    {
        get
        {
            if (_end == _buffer.Length)
            {
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                else if (_buffer.Length < Http1Connection.MaxHeaderBytes + 4)
                {
                    // A header block (or a chunk line) longer than the buffer: grow it, up to the header limit.
                    Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, Http1Connection.MaxHeaderBytes + 4));
                }
                else
                {
                    throw new InvalidDataException($"a response line or header block longer than {Http1Connection.MaxHeaderBytes / 1024} KiB");
                }
            }

            return _buffer.AsMemory(_end);
        }
    }

    /// <summary>Takes <paramref name="count"/> bytes written into <see cref="Space"/> and reads as far as they go; true when the response is complete.</summary>
    public bool Received(int count)
    {
        _end += count;
        Started |= count > 0;
        return Advance();
    }

    /// <summary>
    /// Reads what the buffer holds; true when the final response is complete (also for one already complete).
    /// Throws <see cref="InvalidDataException"/> on a response a client must not accept.
    /// </summary>
    public bool Advance()
    {
        while (true)
        {
            switch (_phase)
            {
                case Phase.Done:
                    return true;
                case Phase.Head:
                    if (!ReadHead())
                    {
                        return false;
                    }

                    break;
                case Phase.Body:
                case Phase.ChunkData:
                case Phase.ChunkEnd:
                    {
                        int available = _end - _start;
                        if (available == 0)
                        {
                            return false;
                        }

                        int take = (int)Math.Min(_remaining, available);
                        if (_phase != Phase.ChunkEnd)
                        {
                            _sink?.Feed(_buffer.AsSpan(_start, take));
                        }

                        Consume(take);
                        _remaining -= take;
                        if (_remaining == 0)
                        {
                            (_phase, _remaining) = _phase switch
                            {
                                Phase.ChunkData => (Phase.ChunkEnd, 2L), // the CRLF after the chunk
                                Phase.ChunkEnd => (Phase.ChunkLine, 0L),
                                _ => (Phase.Done, 0L),
                            };
                        }

                        break;
                    }

                case Phase.ChunkLine:
                    {
                        int lineEnd = FindCrLf();
                        if (lineEnd < 0)
                        {
                            return false;
                        }

                        long size = Http1Connection.ParseChunkSize(_buffer.AsSpan(_start, lineEnd - _start));
                        Consume(lineEnd + 2 - _start);
                        (_phase, _remaining) = size == 0 ? (Phase.Trailer, 0L) : (Phase.ChunkData, size);
                        break;
                    }

                case Phase.Trailer:
                    {
                        // Trailers, then an empty line.
                        int lineEnd = FindCrLf();
                        if (lineEnd < 0)
                        {
                            return false;
                        }

                        bool empty = lineEnd == _start;
                        Consume(lineEnd + 2 - _start);
                        if (empty)
                        {
                            _phase = Phase.Done;
                        }

                        break;
                    }

                case Phase.UntilClose:
                    {
                        int available = _end - _start;
                        if (available == 0)
                        {
                            return false;
                        }

                        _sink?.Feed(_buffer.AsSpan(_start, available));
                        Consume(available);
                        return false;
                    }
            }
        }
    }

    /// <summary>
    /// The connection ended (a receive returned 0): completes a body that runs to the end of the connection, else throws
    /// an <see cref="IOException"/> naming where the response was cut.
    /// </summary>
    public void EndOfStream()
    {
        switch (_phase)
        {
            case Phase.Done:
                return;
            case Phase.UntilClose:
                _phase = Phase.Done;
                return;
            case Phase.Head:
                throw new IOException(_end == _start && _interim == 0 ? "connection closed before a response" : "connection closed inside response headers");
            case Phase.ChunkLine:
                throw new IOException("connection closed inside a chunk header");
            case Phase.Trailer:
                throw new IOException("connection closed inside chunked trailers");
            default:
                throw new IOException("connection closed inside response body");
        }
    }

    /// <summary>
    /// The complete response's result (its checks applied); <paramref name="close"/>: the connection must not be reused.
    /// </summary>
    public HttpResult Finish(out bool close)
    {
        var outcome = HttpResult.Classify(_status);
        var checks = _endpoint!.Checks;
        if (checks is not null && outcome is Outcome.Status2xx or Outcome.Status3xx && !checks.Pass(_status, _scan))
        {
            outcome = Outcome.CheckFailed;
        }

        if (_start == _end)
        {
            _start = _end = 0;
        }

        // Bytes after the answer (a body longer than its length, an answer nobody asked for): no request is pipelined,
        // so the connection's framing can no longer be trusted and it is not reused.
        close = _close || _end > _start;
        _endpoint = null;
        _capture = null;
        _sink = null;
        return new HttpResult(outcome, _status, _bytes);
    }

    private void Consume(int count)
    {
        _start += count;
        _bytes += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>Reads a head if the buffer holds one; true when it was the final response's (the body phase is set).</summary>
    private bool ReadHead()
    {
        // Interim answers (100 Continue, 102 Processing, 103 Early Hints) come before the final one and are skipped
        // (RFC 9110 §15.2): the request is answered by the final response alone.
        while (true)
        {
            int headerEnd = FindHeaderEnd();
            if (headerEnd < 0)
            {
                if (_end - _start >= Http1Connection.MaxHeaderBytes)
                {
                    throw new InvalidDataException($"response headers larger than {Http1Connection.MaxHeaderBytes / 1024} KiB");
                }

                return false;
            }

            var head = _buffer.AsSpan(_start, headerEnd - _start);
            int status = Http1Connection.ParseStatus(head);
            long contentLength = -1;
            bool chunked = false;
            bool close = head.Length > 7 && head[7] == (byte)'0'; // HTTP/1.0 closes by default
            Http1Connection.ParseHeaders(head, ref contentLength, ref chunked, ref close, status >= 200 ? _capture : null);
            Consume(headerEnd + 4 - _start);
            if (status >= 200)
            {
                _status = status;
                _close = close;
                StartBody(contentLength, chunked);
                return true;
            }

            if (status == 101)
            {
                // The server switched protocols (an Upgrade): the connection no longer speaks HTTP/1.1.
                throw new InvalidDataException("101 Switching Protocols: the server upgraded the connection, which a load test cannot follow");
            }

            if (_interim++ >= MaxInterimResponses)
            {
                throw new InvalidDataException($"more than {MaxInterimResponses} interim (1xx) responses to one request");
            }
        }
    }

    private void StartBody(long contentLength, bool chunked)
    {
        var checks = _endpoint!.Checks;
        _scan = checks is { ChecksBody: true } ? (_scanBuffer ??= new BodyScan()) : null;
        _scan?.Reset(checks!);
        _sink = _capture is { WantsBody: true } ? (_scan is null ? _capture : new BothSinks(_scan, _capture)) : _scan;
        if (_endpoint.IsHead || _status is 204 or 304)
        {
            _phase = Phase.Done;
        }
        else if (chunked)
        {
            _phase = Phase.ChunkLine;
        }
        else if (contentLength >= 0)
        {
            (_phase, _remaining) = contentLength == 0 ? (Phase.Done, 0L) : (Phase.Body, contentLength);
        }
        else
        {
            // No framing: the body runs to the end of the connection.
            _close = true;
            _phase = Phase.UntilClose;
        }
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

    private int FindCrLf()
    {
        int i = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
        return i < 0 ? -1 : _start + i;
    }
}
