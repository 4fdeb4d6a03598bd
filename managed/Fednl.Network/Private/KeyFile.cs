using System.Security.Cryptography;

namespace Fednl.Network.Private;

/// <summary>
/// The private mode's shared key: 32 random bytes in a file only its owner may read (`fednl keys init`). The clients
/// get it out of band; the master never has it. Like ssh with a private key, a key file that its group or others can
/// read is refused: it may already have leaked.
/// </summary>
public static class KeyFile
{
    public const int KeyBytes = 32;

    /// <summary>Writes a fresh key to <paramref name="path"/>, readable and writable by its owner only; never overwrites.</summary>
    public static void Create(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Span<byte> key = stackalloc byte[KeyBytes];
        RandomNumberGenerator.Fill(key);
        try
        {
            using var file = new FileStream(path, options);
            file.Write(key);
            file.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new IOException($"{path} already exists; a key file is never overwritten (remove it first if you mean to replace the key)");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Reads a key file; refuses one that is not exactly <see cref="KeyBytes"/> long or that its group or others can read.</summary>
    public static byte[] Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"key file {path} not found (create one with: fednl keys init --out {path})", path);
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            if ((mode & others) != 0)
                throw new UnauthorizedAccessException(
                    $"key file {path} is accessible by its group or others (mode {Convert.ToString((int)mode, 8)}); it must be readable by its owner only: chmod 600 {path}");
        }
        var key = File.ReadAllBytes(path);
        if (key.Length != KeyBytes)
        {
            CryptographicOperations.ZeroMemory(key);
            throw new InvalidDataException($"key file {path} holds {key.Length} bytes; a key is {KeyBytes} bytes (fednl keys init writes one)");
        }
        return key;
    }
}
