using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Fednl.Network.Grpc;

/// <summary>
/// The master's connection buffers: pinned blocks of one size, reused. Kestrel's own pool hands out 4 KiB blocks, so
/// every socket receive, every read of decrypted bytes out of the TLS stream and every pipe segment on the way to the
/// gRPC reader is 4 KiB, while a client's update arrives as 16 KiB TLS records: a round then takes four times the
/// receives, pipe hops and async continuations it needs, and the TLS stream keeps a part-read record (and its buffer,
/// rented from the shared array pool) across each hop, so with 142 clients answering at once the shared pool runs dry
/// and every round allocates those buffers afresh. With blocks that hold a whole record, a record is read, decrypted
/// and handed on in one piece (docs/protocol.md, "Engines", has the profile and the figures). Blocks return to the pool when their pipe segment is consumed; the pool keeps what it
/// was given back (the peak of bytes in flight at once) until the host stops.
/// </summary>
internal sealed class BlockMemoryPoolFactory(int blockSize) : IMemoryPoolFactory<byte>
{
    /// <summary>At least a TLS record (16 KiB of plaintext plus its header and tag).</summary>
    public const int MinimumBlockSize = 16 * 1024 + 512;

    public int BlockSize { get; } = blockSize >= MinimumBlockSize ? blockSize
        : throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, $"a block must hold a TLS record ({MinimumBlockSize} bytes)");

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new BlockMemoryPool(BlockSize);
}

/// <summary>Pinned blocks of <see cref="MaxBufferSize"/> bytes; a rent of any smaller size gets a whole block.</summary>
internal sealed class BlockMemoryPool(int blockSize) : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> _free = new();
    private volatile bool _disposed;

    public override int MaxBufferSize => blockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (minBufferSize > blockSize)
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"this pool's blocks are {blockSize} bytes");
        if (_free.TryDequeue(out var block)) return block.Lease();
        return new Block(this, GC.AllocateUninitializedArray<byte>(blockSize, pinned: true)).Lease();
    }

    private void Return(Block block)
    {
        if (!_disposed) _free.Enqueue(block);
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _free.Clear();
    }

    /// <summary>One block; disposing the lease gives it back (once: a second dispose of the same lease is ignored).</summary>
    private sealed class Block(BlockMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private int _leased;

        public Memory<byte> Memory { get; } = array;

        public Block Lease()
        {
            _leased = 1;
            return this;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _leased, 0) == 1) pool.Return(this);
        }
    }
}
