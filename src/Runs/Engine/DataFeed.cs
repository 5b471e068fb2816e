using Constellation.Core.Load;
using Constellation.Core.Plans;

namespace Constellation.Runs.Engine;

/// <summary>
/// A scenario's data rows handed to its users (thread-safe): in file order shared by all users (every agent of a
/// distributed run from the first row, as every JMeter server reads its own copy), at random, or each row once
/// (the agents split the rows by their weights, as they split arrivals); at the end, from the start again or no
/// more rows (the user stops).
/// </summary>
public sealed class DataFeed
{
    private readonly DataSpec _spec;
    private readonly IReadOnlyList<string[]> _rows;
    private long _next = -1;

    public DataFeed(DataSpec spec, LoadShare share)
    {
        _spec = spec;
        var table = spec.Rows ?? throw new InvalidOperationException($"the data file {spec.File} was not loaded with the plan");
        Columns = table.Columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        _rows = spec.Order == DataOrder.Unique && !share.IsWhole
            ? [.. table.Rows.Where((_, i) => share.OwnsArrival(i))]
            : table.Rows;
    }

    public IReadOnlyDictionary<string, int> Columns { get; }

    /// <summary>Every row was handed out and the plan stops there.</summary>
    public bool Exhausted => !_spec.Recycle && _spec.Order != DataOrder.Random && Interlocked.Read(ref _next) >= _rows.Count - 1;

    /// <summary>The next row; false when the rows are used up and the plan says to stop there.</summary>
    public bool TryNext(out string[] row)
    {
        row = [];
        if (_rows.Count == 0)
        {
            return false;
        }

        if (_spec.Order == DataOrder.Random)
        {
            row = _rows[Random.Shared.Next(_rows.Count)];
            return true;
        }

        long i = Interlocked.Increment(ref _next);
        if (i >= _rows.Count && !_spec.Recycle)
        {
            return false;
        }

        row = _rows[(int)(i % _rows.Count)];
        return true;
    }
}
