using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Clients;
using Fednl.Configuration;

namespace Fednl.Tests.Kernels;

/// <summary>
/// PermK through the managed wrapper, with the run's seed derivation (<see cref="SeedSequence.PermK"/>): the clients'
/// blocks of one round partition the D entries, so Σᵢ Cᵢ(M) = n·M exactly; one client's C(M) is unbiased with
/// ω = n − 1; every entry reaches every block with probability 1/n. Statistical bounds are 6 standard deviations of
/// the sampled quantity, so with the union bound over every count a correct compressor fails with probability below
/// 1e-6 (and the seeds are fixed, so a run's outcome is too).
/// </summary>
public sealed class PermKTests
{
    private const ulong RunSeed = 123;

    private static double[] RandomPacked(int d, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, PackedSymmetric.Length(d)).Select(_ => random.NextDouble() - 0.5).ToArray();
    }

    /// <summary>Client <paramref name="client"/>'s block in <paramref name="round"/>, as a receiver regenerates it.</summary>
    private static int[] Block(HessianCompressor compressor, int client, int round)
    {
        var indices = new int[compressor.Spec.K];
        int count = compressor.RegenerateIndices(SeedSequence.PermK(RunSeed, round), indices, out long start, client);
        Assert.That(start, Is.EqualTo(-1));
        return indices[..count];
    }

    [TestCase(12, 5)]   // D = 78 = 5 · 15 + 3
    [TestCase(12, 6)]   // D = 78 = 6 · 13: no leftover
    [TestCase(30, 142)] // D = 465 = 142 · 3 + 39: the paper's client count
    [TestCase(3, 6)]    // D = n: one entry each
    public void The_clients_blocks_partition_the_entries_and_sum_to_n_times_M(int d, int n)
    {
        var spec = new CompressorSpec(CompressorKind.PermK, d, 8, n);
        long D = spec.PackedLength, q = D / n, r = D % n;
        Assert.That(spec.K, Is.EqualTo(r == 0 ? q : q + 1));
        using var compressor = new HessianCompressor(spec);
        var m = RandomPacked(d, d + n);
        var output = new CompressedMatrix(spec);
        for (int round = 0; round < 10; round++)
        {
            var sum = new double[D];
            var owner = Enumerable.Repeat(-1, (int)D).ToArray();
            int longer = 0;
            for (int i = 0; i < n; i++)
            {
                compressor.Compress(m, SeedSequence.PermK(RunSeed, round), output, client: i);
                Assert.That(output.Count, Is.EqualTo(q).Or.EqualTo(q + 1), $"client {i}, round {round}");
                longer += output.Count == q + 1 ? 1 : 0;
                Assert.That(output.UsedIndices.ToArray(), Is.Ordered.Ascending.And.EqualTo(Block(compressor, i, round)));
                for (int t = 0; t < output.Count; t++)
                {
                    int e = output.Indices[t];
                    Assert.That(owner[e], Is.EqualTo(-1), $"entry {e} is in the blocks of clients {owner[e]} and {i}");
                    owner[e] = i;
                }
                HessianCompressor.AddScaled(d, sum, 1.0, output);
            }
            Assert.That(longer, Is.EqualTo(r), "clients with a leftover entry");
            Assert.That(owner, Is.All.GreaterThanOrEqualTo(0), "every entry is in some block");
            // one term per entry, n·m_e: the sum is exact
            Assert.That(sum, Is.EqualTo(m.Select(v => n * v).ToArray()), $"round {round}");
        }
    }

    [Test]
    public void Rounds_draw_different_permutations_and_a_round_is_the_same_for_every_receiver()
    {
        var spec = new CompressorSpec(CompressorKind.PermK, 12, 8, 5);
        using var a = new HessianCompressor(spec);
        using var b = new HessianCompressor(spec);
        Assert.That(Block(a, 2, 7), Is.EqualTo(Block(b, 2, 7)));
        Assert.That(Block(a, 2, 7), Is.Not.EqualTo(Block(a, 2, 8)));
        Assert.That(SeedSequence.CompressorFor(CompressorKind.PermK, RunSeed, 0, 4), Is.EqualTo(SeedSequence.CompressorFor(CompressorKind.PermK, RunSeed, 3, 4)));
        Assert.That(SeedSequence.CompressorFor(CompressorKind.RandK, RunSeed, 0, 4), Is.Not.EqualTo(SeedSequence.CompressorFor(CompressorKind.RandK, RunSeed, 3, 4)));
    }

    /// <summary>
    /// Over R rounds one client's mean C(M) tends to M: entry e is n·m_e with probability 1/n and 0 otherwise, a draw of
    /// variance (n − 1)·m_e², so the mean is within 6·|m_e|·√((n − 1)/R) of m_e.
    /// </summary>
    [Test]
    public void One_clients_compressor_is_unbiased()
    {
        const int d = 8, n = 7, client = 4, rounds = 20000; // D = 36 = 7 · 5 + 1
        var spec = new CompressorSpec(CompressorKind.PermK, d, 8, n);
        using var compressor = new HessianCompressor(spec);
        var m = RandomPacked(d, 9);
        var mean = new double[spec.PackedLength];
        var output = new CompressedMatrix(spec);
        for (int round = 0; round < rounds; round++)
        {
            compressor.Compress(m, SeedSequence.PermK(RunSeed, round), output, client);
            HessianCompressor.AddScaled(d, mean, 1.0 / rounds, output);
        }
        for (int e = 0; e < m.Length; e++)
            Assert.That(mean[e], Is.EqualTo(m[e]).Within(6 * Math.Abs(m[e]) * Math.Sqrt((n - 1.0) / rounds)), $"entry {e}");
        Assert.That(spec.Omega, Is.EqualTo(n - 1));
        Assert.That(spec.DefaultAlpha(FedNLOption.Option2), Is.EqualTo(1.0 / n));
        Assert.That(spec.DefaultAlpha(FedNLOption.Option1), Is.EqualTo(1.0 / n));
        Assert.That(spec.IsUnbiased && !spec.IsDense, Is.True);
        Assert.That(spec.IndexBytes(spec.K), Is.Zero, "no indices on the wire");
        Assert.That(spec.ValueBytes(spec.K), Is.EqualTo(8 * spec.K));
    }

    /// <summary>
    /// With D mod n ≠ 0, over R rounds each (entry, client) count is Binomial(R, 1/n), and each client's count of
    /// rounds with a leftover entry Binomial(R, (D mod n)/n): each within 6 standard deviations of its mean.
    /// </summary>
    [TestCase(4, 3)] // D = 10 = 3 · 3 + 1
    [TestCase(5, 4)] // D = 15 = 4 · 3 + 3
    public void Every_entry_reaches_every_block_with_probability_one_over_n(int d, int n)
    {
        const int rounds = 30000;
        var spec = new CompressorSpec(CompressorKind.PermK, d, 8, n);
        long D = spec.PackedLength, q = D / n, r = D % n;
        Assert.That(r, Is.Not.Zero);
        using var compressor = new HessianCompressor(spec);
        var hits = new int[D, n];
        var longer = new int[n];
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < n; i++)
            {
                var block = Block(compressor, i, round);
                foreach (int e in block) hits[e, i]++;
                if (block.Length == q + 1) longer[i]++;
            }
        double p = 1.0 / n, pl = (double)r / n;
        for (int e = 0; e < D; e++)
            for (int i = 0; i < n; i++)
                Assert.That(hits[e, i], Is.EqualTo(rounds * p).Within(6 * Math.Sqrt(rounds * p * (1 - p))), $"entry {e}, client {i}");
        for (int i = 0; i < n; i++)
            Assert.That(longer[i], Is.EqualTo(rounds * pl).Within(6 * Math.Sqrt(rounds * pl * (1 - pl))), $"client {i}'s leftover entries");
    }

    [Test]
    public void More_clients_than_Hessian_entries_are_refused_naming_both_numbers()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new CompressorSpec(CompressorKind.PermK, 3, 8, 7));
        Assert.That(ex!.Message, Is.EqualTo("permk splits the D = d(d+1)/2 = 6 packed Hessian entries (d = 3) into one block per " +
                                            "client and needs D >= n, but there are n = 7 clients"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new CompressorSpec(CompressorKind.PermK, 3, 8));
        Assert.That(new CompressorSpec(CompressorKind.RandK, 3, 8, 7).Clients, Is.Zero, "only permk holds the client count");

        // training: 2 features and an intercept (D = 6) over 8 clients
        var split = ClientSplit.Split(SyntheticDataset.Generate(80, 2, 1.0, 4).WithIntercept(), 8, 123);
        var train = Assert.Throws<ArgumentException>(() => FedNLTrainer.Train(split.Clients, 0,
            new TrainingOptions { Clients = 8, Compressor = CompressorKind.PermK, Rounds = 2 }));
        Assert.That(train!.Message, Does.Contain("D = d(d+1)/2 = 6").And.Contain("n = 8 clients"));
    }

    [Test]
    public void A_call_without_the_client_id_is_refused()
    {
        var spec = new CompressorSpec(CompressorKind.PermK, 6, 8, 3);
        using var compressor = new HessianCompressor(spec);
        var ex = Assert.Throws<ArgumentNullException>(() => compressor.Compress(RandomPacked(6, 1), 1, new CompressedMatrix(spec)));
        Assert.That(ex!.Message, Does.StartWith("permk keeps one client's block: the call needs the client id"));
    }
}
