using System.Text;
using Constellation.Core.Plans;

namespace Constellation.Runs.Http;

/// <summary>A request's <see cref="ResponseExpectation"/>, compiled once: status codes and UTF-8 needles.</summary>
public sealed class ResponseChecks
{
    private readonly int[] _status;
    private readonly int _contains;

    public ResponseChecks(ResponseExpectation expect)
    {
        _status = [.. expect.Status];
        _contains = expect.BodyContains.Count;
        Needles = [.. expect.BodyContains.Select(Encoding.UTF8.GetBytes), .. expect.BodyNotContains.Select(Encoding.UTF8.GetBytes)];
        LongestNeedle = Needles.Length == 0 ? 0 : Needles.Max(n => n.Length);
    }

    /// <summary>The body texts to look for: first those that must be there, then those that must not.</summary>
    internal byte[][] Needles { get; }

    internal int LongestNeedle { get; }

    /// <summary>True when the body must be scanned to check it.</summary>
    public bool ChecksBody => Needles.Length > 0;

    /// <summary>Whether an answer passes every check, given what the scan of its body found (null: the body was not scanned).</summary>
    public bool Pass(int status, BodyScan? scan)
    {
        if (_status.Length > 0 && Array.IndexOf(_status, status) < 0)
        {
            return false;
        }

        for (int i = 0; i < Needles.Length; i++)
        {
            bool found = scan?.Found(i) ?? false;
            if (found != i < _contains)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether a whole body in memory passes (tests, and callers that have the body anyway).</summary>
    public bool Pass(int status, ReadOnlySpan<byte> body)
    {
        var scan = new BodyScan();
        scan.Reset(this);
        scan.Feed(body);
        return Pass(status, scan);
    }
}

/// <summary>
/// Looks for the checks' texts in a body as it streams by, read by read, keeping between reads only the last
/// (longest text − 1) bytes — enough to find a text split across two reads. A body is never buffered, so a
/// connection's memory does not grow with the size of the answers it checks.
/// </summary>
public sealed class BodyScan : IBodySink
{
    private byte[][] _needles = [];
    private bool[] _found = [];
    private byte[] _carry = [];
    private byte[] _seam = [];
    private int _carryLength;
    private int _keep;
    private int _left;

    /// <summary>Starts a new body for these checks (a connection reuses one scan for all its exchanges).</summary>
    public void Reset(ResponseChecks checks)
    {
        _needles = checks.Needles;
        if (_found.Length != _needles.Length)
        {
            _found = new bool[_needles.Length];
        }
        else
        {
            Array.Clear(_found);
        }

        _keep = Math.Max(0, checks.LongestNeedle - 1);
        if (_carry.Length < _keep)
        {
            _carry = new byte[_keep];
            _seam = new byte[2 * _keep];
        }

        _carryLength = 0;
        _left = _needles.Length;
    }

    /// <summary>Whether the i-th text was seen so far.</summary>
    public bool Found(int i) => _found[i];

    /// <summary>The next bytes of the body.</summary>
    public void Feed(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || _left == 0)
        {
            return;
        }

        if (_carryLength > 0)
        {
            // A text that starts in the last read and ends in this one lies in the carry plus this read's first bytes.
            int take = Math.Min(_keep, data.Length);
            var seam = _seam.AsSpan(0, _carryLength + take);
            _carry.AsSpan(0, _carryLength).CopyTo(seam);
            data[..take].CopyTo(seam[_carryLength..]);
            Search(seam);
        }

        Search(data);
        if (_keep == 0)
        {
            return;
        }

        if (data.Length >= _keep)
        {
            data[^_keep..].CopyTo(_carry);
            _carryLength = _keep;
        }
        else
        {
            int fromCarry = Math.Min(_carryLength, _keep - data.Length);
            _carry.AsSpan(_carryLength - fromCarry, fromCarry).CopyTo(_carry); // overlapping: Span.CopyTo moves correctly
            data.CopyTo(_carry.AsSpan(fromCarry));
            _carryLength = fromCarry + data.Length;
        }
    }

    private void Search(ReadOnlySpan<byte> span)
    {
        for (int i = 0; i < _needles.Length; i++)
        {
            if (!_found[i] && span.IndexOf(_needles[i]) >= 0)
            {
                _found[i] = true;
                _left--;
            }
        }
    }
}
