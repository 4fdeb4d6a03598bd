using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Fednl.Network.Private;

/// <summary>
/// The key one private run seals its messages with: HKDF-SHA256 over the shared key file, with the SHA-256 of every
/// client's salt share as the salt and the run id plus a hash of the run's settings as the info. Key files get
/// reused and the master is not trusted, so every session of every run gets a key of its own, and clients that
/// were told different settings derive different keys (their first message fails to open). Messages are sealed
/// with AES-256-GCM under a random 96-bit nonce; the associated data (<see cref="SealContext"/>) binds each message
/// to its place in the run.
/// </summary>
public sealed class RunKey : IDisposable
{
    public const int NonceBytes = Protocol.SealNonceBytes;
    public const int TagBytes = Protocol.SealTagBytes;
    /// <summary>A sealed message's length over its plaintext: nonce and tag.</summary>
    public const int Overhead = NonceBytes + TagBytes;

    private static readonly byte[] Label = Encoding.ASCII.GetBytes("fednl private run key v1");
    private readonly AesGcm _aes;

    private RunKey(ReadOnlySpan<byte> key) => _aes = new AesGcm(key, TagBytes);

    /// <param name="sharedKey">The key file's 32 bytes.</param>
    /// <param name="saltShares">Every client's salt share, in client order.</param>
    /// <param name="runId">The run's id.</param>
    /// <param name="settingsHash">SHA-256 of the settings every client computes with.</param>
    public static RunKey Derive(ReadOnlySpan<byte> sharedKey, IReadOnlyList<byte[]> saltShares, Guid runId, ReadOnlySpan<byte> settingsHash)
    {
        if (sharedKey.Length != KeyFile.KeyBytes) throw new ArgumentException($"the shared key must be {KeyFile.KeyBytes} bytes", nameof(sharedKey));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var share in saltShares) hash.AppendData(share);
        Span<byte> salt = stackalloc byte[32];
        hash.GetHashAndReset(salt);
        Span<byte> info = stackalloc byte[Label.Length + 16 + settingsHash.Length];
        Label.CopyTo(info);
        runId.TryWriteBytes(info[Label.Length..]);
        settingsHash.CopyTo(info[(Label.Length + 16)..]);
        Span<byte> derived = stackalloc byte[32];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedKey, derived, salt, info);
            return new RunKey(derived);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>Seals <paramref name="plaintext"/>: a fresh random nonce into <paramref name="nonce"/>, ciphertext then tag into <paramref name="sealedText"/>.</summary>
    public void Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> nonce, Span<byte> sealedText)
    {
        if (nonce.Length != NonceBytes) throw new ArgumentException($"the nonce is {NonceBytes} bytes", nameof(nonce));
        if (sealedText.Length != plaintext.Length + TagBytes) throw new ArgumentException("the sealed text is the plaintext and a tag", nameof(sealedText));
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plaintext, sealedText[..plaintext.Length], sealedText[plaintext.Length..], associatedData);
    }

    /// <summary>Opens a sealed text into <paramref name="plaintext"/> (its length less the tag); false when the tag does not verify.</summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedText, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        if (nonce.Length != NonceBytes || sealedText.Length < TagBytes || plaintext.Length != sealedText.Length - TagBytes) return false;
        try
        {
            _aes.Decrypt(nonce, sealedText[..^TagBytes], sealedText[^TagBytes..], plaintext, associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            plaintext.Clear();
            return false;
        }
    }

    public void Dispose() => _aes.Dispose();
}

/// <summary>
/// Where a sealed message belongs, bound into its tag as associated data: protocol version, run id, the exchange's
/// number in the session, the round, the exchange's step within the round (the line-search try), the sender, the
/// request it answers (kind and flags) and the SHA-256 of the request's vector (the model xᵏ it was computed at).
/// A message replayed from another exchange, relabelled with another sender, or answering another model fails
/// to open; so two clients whose models differ (a relay that sent them different bundles) stop at their next
/// exchange.
/// </summary>
public readonly record struct SealContext(Guid RunId, long Exchange, int Round, int Step, int Sender, byte Kind, byte Flags)
{
    public const int Bytes = 8 + 4 + 16 + 8 + 4 + 4 + 4 + 2 + 32;
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("FEDNL-AD");

    /// <summary>Writes the associated data with <paramref name="modelDigest"/> (32 bytes) into <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination, ReadOnlySpan<byte> modelDigest)
    {
        if (destination.Length != Bytes || modelDigest.Length != 32) throw new ArgumentException("associated data has a fixed size");
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], WireCodec.Version);
        RunId.TryWriteBytes(destination[12..]);
        BinaryPrimitives.WriteInt64LittleEndian(destination[28..], Exchange);
        BinaryPrimitives.WriteInt32LittleEndian(destination[36..], Round);
        BinaryPrimitives.WriteInt32LittleEndian(destination[40..], Step);
        BinaryPrimitives.WriteInt32LittleEndian(destination[44..], Sender);
        destination[48] = Kind;
        destination[49] = Flags;
        modelDigest.CopyTo(destination[50..]);
    }
}
