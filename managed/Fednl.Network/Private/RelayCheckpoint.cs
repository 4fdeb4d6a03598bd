using System.Security.Cryptography;
using System.Text;

namespace Fednl.Network.Private;

/// <summary>
/// A private relay's checkpoint: all it may know of the run (its id, d, n and the round). The clients hold the
/// run's state in their own checkpoints; a relay resumed from this one admits them again under the same run id.
/// Layout: magic, format version, the fields, then a SHA-256 of everything before it (a file whose hash does not
/// match is refused). Written atomically (temporary file, then rename).
/// </summary>
public sealed record RelayCheckpoint(Guid RunId, int Dimension, int Clients, int Round)
{
    private const string Magic = "FEDNLRLY";
    public const int FormatVersion = 1;

    public static void Write(string path, RelayCheckpoint checkpoint)
    {
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Encoding.ASCII.GetBytes(Magic));
            w.Write(FormatVersion);
            w.Write(checkpoint.RunId.ToByteArray());
            w.Write(checkpoint.Dimension);
            w.Write(checkpoint.Clients);
            w.Write(checkpoint.Round);
        }
        var bytes = body.ToArray();
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Write(SHA256.HashData(bytes));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    public static RelayCheckpoint Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no checkpoint to resume from", path);
        var bytes = File.ReadAllBytes(path);
        const int length = 8 + 4 + 16 + 4 + 4 + 4;
        if (bytes.Length != length + 32 || !SHA256.HashData(bytes.AsSpan(0, length)).AsSpan().SequenceEqual(bytes.AsSpan(length)))
            throw new InvalidDataException($"{path} is not an intact private relay checkpoint (wrong size or hash: corrupted, truncated, or another kind of file)");
        using var r = new BinaryReader(new MemoryStream(bytes, 0, length));
        if (Encoding.ASCII.GetString(r.ReadBytes(8)) != Magic) throw new InvalidDataException($"{path} is not a private relay checkpoint");
        int version = r.ReadInt32();
        if (version != FormatVersion) throw new InvalidDataException($"{path} is a private relay checkpoint of format {version}; this build reads format {FormatVersion}");
        return new RelayCheckpoint(new Guid(r.ReadBytes(16)), r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
    }
}
