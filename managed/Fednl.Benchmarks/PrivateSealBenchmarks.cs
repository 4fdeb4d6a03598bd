using BenchmarkDotNet.Attributes;
using Fednl.Compression;
using Fednl.Kernels;
using Fednl.Network.Private;

namespace Fednl.Benchmarks;

/// <summary>
/// AES-256-GCM as private mode runs it (<see cref="RunKey.Seal"/> with a fresh random nonce, <see cref="RunKey.TryOpen"/>
/// verifying the tag), at the plaintext sizes of a w8a client's message with 142 clients (d = 301, D = 45,451):
/// permk's update (∇f_i and a block of ⌊D/n⌋ = 320 values, ~5 KB), randseqk's (∇f_i and K = 8d values, ~22 KB), and
/// the initialisation's full shift H_i⁰ (identical's size, ~366 KB). Throughput = plaintext bytes / mean time.
/// ./build.sh bench --filter '*PrivateSeal*'
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
[MedianColumn]
public class PrivateSealBenchmarks
{
    private RunKey _key = null!;
    private byte[] _plaintext = null!, _sealed = null!, _opened = null!, _associated = null!;
    private readonly byte[] _nonce = new byte[RunKey.NonceBytes];

    /// <summary>Plaintext bytes: permk's update, randseqk's update, the initial shift (each a serialised ClientMessage).</summary>
    [Params(4_998, 21_706, 366_038)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        var shared = new byte[KeyFile.KeyBytes];
        random.NextBytes(shared);
        var salts = Enumerable.Range(0, 142).Select(i => new byte[32]).ToArray();
        _key = RunKey.Derive(shared, salts, Guid.NewGuid(), new byte[32]);
        _plaintext = new byte[Bytes];
        random.NextBytes(_plaintext);
        _sealed = new byte[Bytes + RunKey.TagBytes];
        _opened = new byte[Bytes];
        _associated = new byte[SealContext.Bytes];
        new SealContext(Guid.NewGuid(), 12, 10, 0, 3, 1, 3).Write(_associated, new byte[32]);
        _key.Seal(_plaintext, _associated, _nonce, _sealed);
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark]
    public void Seal() => _key.Seal(_plaintext, _associated, _nonce, _sealed);

    [Benchmark]
    public bool Open() => _key.TryOpen(_nonce, _sealed, _associated, _opened);
}

/// <summary>
/// What else a private client does per sender when it opens a permk bundle: regenerate the sender's block of the
/// round's permutation (O(D) each: the permutation is drawn afresh for every sender), n times per round on every
/// client. w8a (D = 45,451) with 142 clients; Sender is the block's owner (the last draws the whole prefix).
/// </summary>
[ShortRunJob]
[MedianColumn]
public class PrivateSealPermKBlockBenchmarks
{
    private HessianCompressor _compressor = null!;
    private int[] _indices = null!;

    [Params(0, 141)]
    public int Sender { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var spec = new CompressorSpec(CompressorKind.PermK, 301, 8, 142);
        _compressor = new HessianCompressor(spec);
        _indices = new int[spec.K];
    }

    [GlobalCleanup]
    public void Cleanup() => _compressor.Dispose();

    [Benchmark]
    public int Regenerate() => _compressor.RegenerateIndices(0x5eed, _indices, out _, Sender);
}
