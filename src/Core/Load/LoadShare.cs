using Constellation.Core.Plans;

namespace Constellation.Core.Load;

/// <summary>
/// One agent's part of a distributed run's load. Agents never talk to each other: each one walks the same
/// global schedule and keeps exactly its own part of it, so the parts of all agents add up to the whole —
/// arrival for arrival in the open model, user for user in the closed model.
/// </summary>
/// <remarks>
/// Weights are small positive integers (2,1,1: the first agent takes half). The arrivals are dealt out by smooth
/// weighted round robin, which interleaves the agents evenly (a,b,a,c rather than a,a,b,c); with equal weights
/// it is plain round robin: arrival k belongs to agent k mod N.
/// </remarks>
public sealed class LoadShare
{
    private readonly int[] _owner;
    private readonly int[] _cumulative;

    public LoadShare(int index, IReadOnlyList<int> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count == 0 || weights.Any(w => w < 1) || weights.Sum() > 10_000)
        {
            throw new ArgumentException("weights must be positive integers (at most 10000 in total)", nameof(weights));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, weights.Count);
        Index = index;
        Weights = [.. weights];
        Total = weights.Sum();
        _cumulative = new int[weights.Count + 1];
        for (int i = 0; i < weights.Count; i++)
        {
            _cumulative[i + 1] = _cumulative[i] + weights[i];
        }

        _owner = new int[Total];
        var current = new long[weights.Count];
        for (int step = 0; step < Total; step++)
        {
            int pick = 0;
            for (int j = 0; j < weights.Count; j++)
            {
                current[j] += weights[j];
                if (current[j] > current[pick])
                {
                    pick = j;
                }
            }

            current[pick] -= Total;
            _owner[step] = pick;
        }
    }

    /// <summary>The whole load: a run on one agent.</summary>
    public static LoadShare Whole { get; } = new(0, [1]);

    /// <summary>N agents with equal weights.</summary>
    public static LoadShare Equal(int index, int agents) => new(index, [.. Enumerable.Repeat(1, agents)]);

    public int Index { get; }
    public int Agents => Weights.Count;
    public IReadOnlyList<int> Weights { get; }

    /// <summary>The sum of the weights: the length of one round of the deal.</summary>
    public int Total { get; }

    /// <summary>This agent's fraction of the load, e.g. 0.5.</summary>
    public double Fraction => (double)Weights[Index] / Total;

    public bool IsWhole => Agents == 1;

    /// <summary>Whether arrival <paramref name="k"/> (0-based, of the global schedule) is this agent's.</summary>
    public bool OwnsArrival(long k) => IsWhole || _owner[k % Total] == Index;

    /// <summary>How many of the arrivals [<paramref name="from"/>, <paramref name="to"/>) are this agent's.</summary>
    public long OwnedBetween(long from, long to) => to <= from ? 0 : OwnedBefore(to) - OwnedBefore(from);

    /// <summary>This agent's virtual users when the whole run has <paramref name="users"/> (rounded): the parts add up to it exactly.</summary>
    public int UsersOf(double users)
    {
        long u = (long)Math.Round(Math.Max(0, users));
        return (int)((u * _cumulative[Index + 1] / Total) - (u * _cumulative[Index] / Total));
    }

    /// <summary>
    /// This agent's planned load in second <paramref name="second"/> of a curve: its arrivals in that second (open
    /// model) or its users at the second's middle (closed model). With <see cref="Whole"/>, the plan's own.
    /// </summary>
    public double PlannedIn(LoadModel model, LoadCurve curve, int second)
    {
        var from = TimeSpan.FromSeconds(second);
        return model == LoadModel.Open
            ? OwnedBetween(curve.ArrivalsBefore(from), curve.ArrivalsBefore(from + TimeSpan.FromSeconds(1)))
            : UsersOf(curve.ValueAt(from + TimeSpan.FromMilliseconds(500)));
    }

    private long OwnedBefore(long k)
    {
        if (IsWhole)
        {
            return k;
        }

        long rounds = k / Total;
        long owned = rounds * Weights[Index];
        for (long j = rounds * Total; j < k; j++)
        {
            if (_owner[j % Total] == Index)
            {
                owned++;
            }
        }

        return owned;
    }
}
