namespace Fednl.Interop;

/// <summary>libfednl is missing or does not match the bindings; the message says what to do about it.</summary>
public sealed class FednlNativeLibraryException : Exception
{
    public FednlNativeLibraryException(string message) : base(message) { }
    public FednlNativeLibraryException(string message, Exception inner) : base(message, inner) { }
}
