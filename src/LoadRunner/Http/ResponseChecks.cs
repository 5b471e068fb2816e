using System.Text;
using Constellation.Core.Plans;

namespace Constellation.LoadRunner.Http;

/// <summary>A request's <see cref="ResponseExpectation"/>, compiled once: status codes and UTF-8 needles.</summary>
public sealed class ResponseChecks
{
    private readonly int[] _status;
    private readonly byte[][] _contains;
    private readonly byte[][] _notContains;

    public ResponseChecks(ResponseExpectation expect)
    {
        _status = [.. expect.Status];
        _contains = [.. expect.BodyContains.Select(Encoding.UTF8.GetBytes)];
        _notContains = [.. expect.BodyNotContains.Select(Encoding.UTF8.GetBytes)];
    }

    /// <summary>True when the body must be kept (up to <see cref="ResponseExpectation.MaxCheckedBodyBytes"/>) to check it.</summary>
    public bool ChecksBody => _contains.Length > 0 || _notContains.Length > 0;

    /// <summary>Whether an answer passes every check.</summary>
    public bool Pass(int status, ReadOnlySpan<byte> body)
    {
        if (_status.Length > 0 && Array.IndexOf(_status, status) < 0)
        {
            return false;
        }

        foreach (var needle in _contains)
        {
            if (body.IndexOf(needle) < 0)
            {
                return false;
            }
        }

        foreach (var needle in _notContains)
        {
            if (body.IndexOf(needle) >= 0)
            {
                return false;
            }
        }

        return true;
    }
}
