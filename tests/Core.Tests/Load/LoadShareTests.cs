using Constellation.Core.Load;
using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Load;

public sealed class LoadShareTests
{
    public static TheoryData<int[]> WeightSets => new() { new[] { 1 }, new[] { 1, 1 }, new[] { 2, 1, 1 }, new[] { 3, 5 }, new[] { 1, 1, 1, 1, 1, 1, 1 } };

    [Theory]
    [MemberData(nameof(WeightSets))]
    public void EveryArrival_BelongsToExactlyOneAgent_InProportionToItsWeight(int[] weights)
    {
        var shares = weights.Select((_, i) => new LoadShare(i, weights)).ToList();
        const int arrivals = 10_000;
        var owned = new long[weights.Length];
        for (long k = 0; k < arrivals; k++)
        {
            var owners = shares.Where(s => s.OwnsArrival(k)).ToList();
            owners.Count.ShouldBe(1, $"arrival {k}");
            owned[owners[0].Index]++;
        }

        for (int i = 0; i < weights.Length; i++)
        {
            // Within one round of the deal of the exact proportion.
            owned[i].ShouldBeInRange((long)Math.Floor(arrivals * shares[i].Fraction) - weights[i], (long)Math.Ceiling(arrivals * shares[i].Fraction) + weights[i]);
        }
    }

    [Theory]
    [MemberData(nameof(WeightSets))]
    public void OwnedBetween_CountsExactlyTheOwnedArrivals(int[] weights)
    {
        var random = new Random(7);
        foreach (var share in weights.Select((_, i) => new LoadShare(i, weights)))
        {
            for (int n = 0; n < 200; n++)
            {
                long from = random.Next(0, 5000), to = from + random.Next(0, 300);
                long brute = 0;
                for (long k = from; k < to; k++)
                {
                    brute += share.OwnsArrival(k) ? 1 : 0;
                }

                share.OwnedBetween(from, to).ShouldBe(brute);
            }
        }
    }

    [Theory]
    [MemberData(nameof(WeightSets))]
    public void UsersOf_PartitionsTheUsersExactly(int[] weights)
    {
        var shares = weights.Select((_, i) => new LoadShare(i, weights)).ToList();
        for (double users = 0; users <= 200; users += 0.25)
        {
            shares.Sum(s => s.UsersOf(users)).ShouldBe((int)Math.Round(users), $"users {users}");
        }
    }

    [Fact]
    public void UnequalWeights_AreInterleavedSmoothly_NotInBlocks()
    {
        int[] weights = [2, 1, 1];
        var owners = Enumerable.Range(0, 8).Select(k => Enumerable.Range(0, 3).Single(i => new LoadShare(i, weights).OwnsArrival(k))).ToList();

        owners.ShouldBe([0, 1, 2, 0, 0, 1, 2, 0]);
    }

    [Fact]
    public void TheAgentsOfARamp_TogetherOfferWhatOneEngineOffers_SecondBySecond()
    {
        var curve = new LoadCurve([new LoadSegment(TimeSpan.FromSeconds(5), 3, 3), new LoadSegment(TimeSpan.FromSeconds(20), 3, 77)]);
        int[] weights = [1, 2];
        for (int s = 0; s < 25; s++)
        {
            long from = curve.ArrivalsBefore(TimeSpan.FromSeconds(s)), to = curve.ArrivalsBefore(TimeSpan.FromSeconds(s + 1));
            weights.Select((_, i) => new LoadShare(i, weights).OwnedBetween(from, to)).Sum().ShouldBe(curve.ArrivalsBetween(TimeSpan.FromSeconds(s), TimeSpan.FromSeconds(s + 1)));
        }
    }

    [Fact]
    public void BadWeights_AreRefused()
    {
        Should.Throw<ArgumentException>(() => new LoadShare(0, []));
        Should.Throw<ArgumentException>(() => new LoadShare(0, [1, 0]));
        Should.Throw<ArgumentOutOfRangeException>(() => new LoadShare(2, [1, 1]));
    }
}
