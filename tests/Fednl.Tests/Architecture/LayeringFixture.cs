namespace Fednl.Data;

/// <summary>
/// A deliberate upward use, hidden in a method body, that the layering check must find in this test assembly
/// (it proves the check reads IL, not only signatures). Never called.
/// </summary>
internal static class LayeringFixture
{
    internal static object Upward() => typeof(Fednl.Algorithms.MemoryEstimate).Name;
}
