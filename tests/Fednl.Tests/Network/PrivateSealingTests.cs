using System.Security.Cryptography;
using Fednl.Network;
using Fednl.Network.Private;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Tests.Network;

/// <summary>
/// Private mode's pieces on their own: the key file's handling (owner-only, never overwritten, exact size), the run
/// key's derivation (HKDF: every input changes the key), sealing (a round trip; any change to the associated data,
/// the nonce or the text fails to open) and the in-place readers of Sealed and Bundle against the generated code.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // key files are owner-only by Unix permissions
public sealed class PrivateSealingTests
{
    private static readonly byte[] SharedKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[][] Salts = [Enumerable.Repeat((byte)7, 32).ToArray(), Enumerable.Repeat((byte)9, 32).ToArray()];
    private static readonly byte[] SettingsHash = SHA256.HashData("settings"u8);
    private static readonly Guid Run = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

    [Test]
    public void A_new_key_file_is_32_random_bytes_readable_by_its_owner_only_and_never_overwritten()
    {
        using var folder = TestData.TempFolder();
        string path = Path.Combine(folder.Path, "key.bin");
        KeyFile.Create(path);
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var key = KeyFile.Read(path);
        Assert.That(key, Has.Length.EqualTo(32));
        Assert.That(key.Distinct().Count(), Is.GreaterThan(8), "random bytes");
        var error = Assert.Throws<IOException>(() => KeyFile.Create(path))!;
        Assert.That(error.Message, Does.Contain("already exists"));
        Assert.That(KeyFile.Read(path), Is.EqualTo(key), "the key is unchanged");

        string other = Path.Combine(folder.Path, "other.bin");
        KeyFile.Create(other);
        Assert.That(KeyFile.Read(other), Is.Not.EqualTo(key), "every key is fresh");
    }

    [TestCase(UnixFileMode.GroupRead)]
    [TestCase(UnixFileMode.OtherRead)]
    [TestCase(UnixFileMode.GroupWrite)]
    public void A_key_file_others_can_reach_is_refused_naming_the_file_and_the_fix(UnixFileMode extra)
    {
        using var folder = TestData.TempFolder();
        string path = Path.Combine(folder.Path, "key.bin");
        KeyFile.Create(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var error = Assert.Throws<UnauthorizedAccessException>(() => KeyFile.Read(path))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("chmod 600"));
    }

    [TestCase(0)]
    [TestCase(31)]
    [TestCase(33)]
    public void A_key_file_of_another_size_is_refused(int size)
    {
        using var folder = TestData.TempFolder();
        string path = Path.Combine(folder.Path, "key.bin");
        File.WriteAllBytes(path, new byte[size]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var error = Assert.Throws<InvalidDataException>(() => KeyFile.Read(path))!;
        Assert.That(error.Message, Does.Contain($"holds {size} bytes"));
        Assert.Throws<FileNotFoundException>(() => KeyFile.Read(Path.Combine(folder.Path, "missing.bin")));
    }

    private static byte[] Ad(long exchange = 4, int round = 2, int step = 0, int sender = 1, byte kind = 1, byte flags = 0, byte digest = 3)
    {
        var ad = new byte[SealContext.Bytes];
        new SealContext(Run, exchange, round, step, sender, kind, flags).Write(ad, Enumerable.Repeat(digest, 32).ToArray());
        return ad;
    }

    private static (byte[] Nonce, byte[] Sealed) Seal(RunKey key, byte[] plaintext, byte[] ad)
    {
        var nonce = new byte[RunKey.NonceBytes];
        var sealedText = new byte[plaintext.Length + RunKey.TagBytes];
        key.Seal(plaintext, ad, nonce, sealedText);
        return (nonce, sealedText);
    }

    [Test]
    public void A_sealed_message_opens_only_with_the_same_key_context_nonce_and_text()
    {
        using var key = RunKey.Derive(SharedKey, Salts, Run, SettingsHash);
        var plaintext = new byte[1000];
        new Random(5).NextBytes(plaintext);
        var ad = Ad();
        var (nonce, sealedText) = Seal(key, plaintext, ad);
        Assert.That(sealedText.AsSpan(0, plaintext.Length).SequenceEqual(plaintext), Is.False, "the text is encrypted");
        var opened = new byte[plaintext.Length];
        Assert.That(key.TryOpen(nonce, sealedText, ad, opened), Is.True);
        Assert.That(opened, Is.EqualTo(plaintext));

        // every field of the associated data is bound
        foreach (var other in new[] { Ad(exchange: 5), Ad(round: 3), Ad(step: 1), Ad(sender: 2), Ad(kind: 2), Ad(flags: 1), Ad(digest: 4) })
            Assert.That(key.TryOpen(nonce, sealedText, other, opened), Is.False, "another context");
        var flipped = sealedText.ToArray();
        flipped[17] ^= 1;
        Assert.That(key.TryOpen(nonce, flipped, ad, opened), Is.False, "a flipped bit");
        Assert.That(opened, Is.All.Zero, "a failed open leaves no plaintext behind");
        var otherNonce = nonce.ToArray();
        otherNonce[0] ^= 1;
        Assert.That(key.TryOpen(otherNonce, sealedText, ad, new byte[plaintext.Length]), Is.False, "another nonce");

        var (nonce2, sealed2) = Seal(key, plaintext, ad);
        Assert.That(nonce2, Is.Not.EqualTo(nonce), "a fresh random nonce per message");
        Assert.That(sealed2, Is.Not.EqualTo(sealedText));
    }

    [Test]
    public void The_run_key_depends_on_the_shared_key_every_salt_share_the_run_and_the_settings()
    {
        using var key = RunKey.Derive(SharedKey, Salts, Run, SettingsHash);
        var ad = Ad();
        var (nonce, sealedText) = Seal(key, [1, 2, 3], ad);
        bool Opens(RunKey other) => other.TryOpen(nonce, sealedText, ad, new byte[3]);

        using (var same = RunKey.Derive(SharedKey, Salts, Run, SettingsHash)) Assert.That(Opens(same), Is.True, "deterministic");
        var otherShared = SharedKey.ToArray();
        otherShared[0] ^= 1;
        using (var k = RunKey.Derive(otherShared, Salts, Run, SettingsHash)) Assert.That(Opens(k), Is.False, "another key file");
        using (var k = RunKey.Derive(SharedKey, [Salts[0], Salts[0]], Run, SettingsHash)) Assert.That(Opens(k), Is.False, "another salt share");
        using (var k = RunKey.Derive(SharedKey, [Salts[1], Salts[0]], Run, SettingsHash)) Assert.That(Opens(k), Is.False, "salts in another order");
        using (var k = RunKey.Derive(SharedKey, Salts, Guid.NewGuid(), SettingsHash)) Assert.That(Opens(k), Is.False, "another run");
        using (var k = RunKey.Derive(SharedKey, Salts, Run, SHA256.HashData("other"u8))) Assert.That(Opens(k), Is.False, "other settings");
    }

    [Test]
    public void The_in_place_readers_agree_with_the_generated_parser()
    {
        var one = new Sealed { Exchange = 1L << 40, Sender = 7, Round = -1, Nonce = ByteString.CopyFrom(new byte[12]), Ciphertext = ByteString.CopyFrom(new byte[40]) };
        var view = SealedView.Parse(one.ToByteArray());
        Assert.That((view.Exchange, view.Sender, view.Round, view.Nonce.Length, view.Ciphertext.Length), Is.EqualTo((1L << 40, 7, -1, 12, 40)));
        Assert.DoesNotThrow(() => SealedView.Parse(one.ToByteArray()).CheckFraming(1L << 40, 7, 40, "client 7"));
        var wrongSender = Assert.Throws<ProtocolException>(() => SealedView.Parse(one.ToByteArray()).CheckFraming(1L << 40, 6, 40, "client 6"))!;
        Assert.That(wrongSender.Message, Does.Contain("claims to come from client 7"));
        var tooLong = Assert.Throws<ProtocolException>(() => SealedView.Parse(one.ToByteArray()).CheckFraming(1L << 40, 7, 39, "client 7"))!;
        Assert.That(tooLong.Message, Does.Contain("40 bytes"));
        var otherExchange = Assert.Throws<ProtocolException>(() => SealedView.Parse(one.ToByteArray()).CheckFraming(3, 7, 40, "client 7"))!;
        Assert.That(otherExchange.Message, Does.Contain("expected exchange 3"));

        var bundle = new Bundle { Exchange = 9 };
        bundle.Sealed.Add(one.ToByteString());
        bundle.Sealed.Add(new Sealed { Sender = 8 }.ToByteString());
        bundle.Lost.Add([2, 5]);
        var read = BundleView.Parse(bundle.ToByteArray());
        var senders = new List<int>();
        var lost = new List<int>();
        read.Entries(bytes => senders.Add(SealedView.Parse(bytes).Sender), lost.Add);
        Assert.That((read.Exchange, read.SealedCount), Is.EqualTo((9L, 2)));
        Assert.That(senders, Is.EqualTo(new[] { 7, 8 }));
        Assert.That(lost, Is.EqualTo(new[] { 2, 5 }));

        var truncated = bundle.ToByteArray()[..^3];
        Assert.Throws<ProtocolException>(() => BundleView.Parse(truncated));
    }
}
