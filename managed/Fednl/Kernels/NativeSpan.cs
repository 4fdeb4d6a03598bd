using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fednl.Kernels;

/// <summary>
/// Turns spans into the by-reference arguments the generated bindings take. An empty span becomes a null
/// reference, which the kernel reads as "not requested" for optional outputs.
/// </summary>
internal static class NativeSpan
{
    public static ref T Ref<T>(Span<T> span) =>
        ref span.IsEmpty ? ref Unsafe.NullRef<T>() : ref MemoryMarshal.GetReference(span);

    public static ref readonly T Ref<T>(ReadOnlySpan<T> span) =>
        ref span.IsEmpty ? ref Unsafe.NullRef<T>() : ref MemoryMarshal.GetReference(span);
}
