namespace Fednl.Interop;

/// <summary>A native kernel call failed; carries the status and the kernel's own message.</summary>
public sealed class FednlNativeException(FednlStatus status, string message) : Exception(message)
{
    public FednlStatus Status { get; } = status;
}

/// <summary>Turns native status codes into exceptions that carry the native last-error message.</summary>
public static class NativeError
{
    /// <summary>Throws <see cref="FednlNativeException"/> for any status but FEDNL_OK.</summary>
    public static void Check(int status)
    {
        if (status != (int)FednlStatus.Ok) Throw(status);
    }

    private static void Throw(int status)
    {
        Span<byte> buffer = stackalloc byte[NativeConstants.ErrorCapacity];
        long length = NativeMethods.fednl_last_error(ref buffer[0], buffer.Length);
        int used = (int)Math.Clamp(length, 0, buffer.Length - 1);
        string message = System.Text.Encoding.UTF8.GetString(buffer[..used]);
        var code = (FednlStatus)status;
        throw new FednlNativeException(code, message.Length > 0 ? message : $"native call failed with {code}");
    }
}
