using System.Reflection;
using System.Runtime.InteropServices;

namespace Fednl.Interop.Generator;

// The parts of libclang's C API (clang-c/Index.h; stable since LLVM 14, run with 22 from NuGet) the generator uses, bound by hand: the same
// surface ClangSharp wraps. Structs are passed by value exactly as the C API declares them.

[StructLayout(LayoutKind.Sequential)]
internal struct CXString
{
    public nint Data;
    public uint Flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXCursor
{
    public int Kind;
    public int XData;
    public nint Data0, Data1, Data2;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXType
{
    public int Kind;
    public nint Data0, Data1;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXSourceLocation
{
    public nint Data0, Data1;
    public uint IntData;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXSourceRange
{
    public nint Data0, Data1;
    public uint BeginIntData, EndIntData;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXToken
{
    public uint Int0, Int1, Int2, Int3;
    public nint Data;
}

internal static class CursorKind
{
    public const int StructDecl = 2, EnumDecl = 5, FieldDecl = 6, EnumConstantDecl = 7, FunctionDecl = 8,
        TypedefDecl = 20, MacroDefinition = 501;
}

internal static class TypeKind
{
    public const int Void = 2, Bool = 3, CharU = 4, UChar = 5, Char16 = 6, Char32 = 7, UShort = 8, UInt = 9, ULong = 10,
        ULongLong = 11, UInt128 = 12, CharS = 13, SChar = 14, WChar = 15, Short = 16, Int = 17, Long = 18, LongLong = 19,
        Float = 21, Double = 22, Pointer = 101, Record = 105, Enum = 106, Typedef = 107, ConstantArray = 112, Elaborated = 119;
}

internal static unsafe partial class LibClang
{
    private const string Library = "clang";

    static LibClang() => NativeLibrary.SetDllImportResolver(typeof(LibClang).Assembly, Resolve);

    /// <summary>The file libclang was loaded from (null before the first call).</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>
    /// Finds libclang: FEDNL_LIBCLANG when set, else the one the libclang.runtime NuGet package puts beside the
    /// generator (runtimes/RID/native/), else a system libclang under the names Debian, LLVM and Windows use.
    /// </summary>
    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library) return 0;
        var env = Environment.GetEnvironmentVariable("FEDNL_LIBCLANG");
        if (!string.IsNullOrEmpty(env))
            return NativeLibrary.TryLoad(env, out nint chosen) ? (LoadedFrom = env) is not null ? chosen : 0
                : throw new DllNotFoundException($"FEDNL_LIBCLANG={env} cannot be loaded");
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        foreach (string file in new[] { "libclang.so", "libclang.dll", "libclang.dylib" })
            if (File.Exists(Path.Combine(native, file)) && NativeLibrary.TryLoad(Path.Combine(native, file), out nint packaged))
            {
                LoadedFrom = Path.Combine(native, file);
                return packaged;
            }
        string[] candidates = OperatingSystem.IsWindows()
            ? ["libclang.dll", "libclang"]
            : OperatingSystem.IsMacOS()
                ? ["libclang.dylib", "/Library/Developer/CommandLineTools/usr/lib/libclang.dylib"]
                : ["libclang.so", "libclang.so.1", "libclang-14.so.1"];
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out nint handle))
            {
                LoadedFrom = candidate;
                return handle;
            }
        throw new DllNotFoundException(
            "libclang was not found beside the generator (the libclang.runtime NuGet package; run dotnet restore) " +
            "nor as " + string.Join(", ", candidates) + "; set FEDNL_LIBCLANG to its path.");
    }

    [LibraryImport(Library)] public static partial nint clang_createIndex(int excludeDeclarationsFromPch, int displayDiagnostics);
    [LibraryImport(Library)] public static partial void clang_disposeIndex(nint index);
    [LibraryImport(Library)]
    public static partial nint clang_parseTranslationUnit(nint index, byte* sourceFilename, byte** commandLineArgs,
        int numCommandLineArgs, nint unsavedFiles, uint numUnsavedFiles, uint options);
    [LibraryImport(Library)] public static partial void clang_disposeTranslationUnit(nint unit);
    [LibraryImport(Library)] public static partial uint clang_getNumDiagnostics(nint unit);
    [LibraryImport(Library)] public static partial nint clang_getDiagnostic(nint unit, uint index);
    [LibraryImport(Library)] public static partial int clang_getDiagnosticSeverity(nint diagnostic);
    [LibraryImport(Library)] public static partial CXString clang_formatDiagnostic(nint diagnostic, uint options);
    [LibraryImport(Library)] public static partial uint clang_defaultDiagnosticDisplayOptions();
    [LibraryImport(Library)] public static partial void clang_disposeDiagnostic(nint diagnostic);
    [LibraryImport(Library)] public static partial CXCursor clang_getTranslationUnitCursor(nint unit);
    [LibraryImport(Library)]
    public static partial uint clang_visitChildren(CXCursor parent, delegate* unmanaged[Cdecl]<CXCursor, CXCursor, nint, int> visitor, nint clientData);
    [LibraryImport(Library)] public static partial int clang_getCursorKind(CXCursor cursor);
    [LibraryImport(Library)] public static partial CXString clang_getCursorSpelling(CXCursor cursor);
    [LibraryImport(Library)] public static partial byte* clang_getCString(CXString text);
    [LibraryImport(Library)] public static partial void clang_disposeString(CXString text);
    [LibraryImport(Library)] public static partial CXType clang_getCursorType(CXCursor cursor);
    [LibraryImport(Library)] public static partial CXType clang_getCursorResultType(CXCursor cursor);
    [LibraryImport(Library)] public static partial int clang_Cursor_getNumArguments(CXCursor cursor);
    [LibraryImport(Library)] public static partial CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);
    [LibraryImport(Library)] public static partial CXString clang_getTypeSpelling(CXType type);
    [LibraryImport(Library)] public static partial CXType clang_getCanonicalType(CXType type);
    [LibraryImport(Library)] public static partial CXType clang_getPointeeType(CXType type);
    [LibraryImport(Library)] public static partial uint clang_isConstQualifiedType(CXType type);
    [LibraryImport(Library)] public static partial long clang_Type_getSizeOf(CXType type);
    [LibraryImport(Library)] public static partial long clang_Type_getAlignOf(CXType type);
    [LibraryImport(Library)] public static partial long clang_Cursor_getOffsetOfField(CXCursor cursor);
    [LibraryImport(Library)] public static partial long clang_getEnumConstantDeclValue(CXCursor cursor);
    [LibraryImport(Library)] public static partial CXString clang_Cursor_getRawCommentText(CXCursor cursor);
    [LibraryImport(Library)] public static partial CXSourceLocation clang_getCursorLocation(CXCursor cursor);
    [LibraryImport(Library)] public static partial int clang_Location_isFromMainFile(CXSourceLocation location);
    [LibraryImport(Library)]
    public static partial void clang_getExpansionLocation(CXSourceLocation location, nint* file, uint* line, uint* column, uint* offset);
    [LibraryImport(Library)] public static partial uint clang_Cursor_isMacroFunctionLike(CXCursor cursor);
    [LibraryImport(Library)] public static partial CXSourceRange clang_getCursorExtent(CXCursor cursor);
    [LibraryImport(Library)] public static partial void clang_tokenize(nint unit, CXSourceRange range, CXToken** tokens, uint* count);
    [LibraryImport(Library)] public static partial CXString clang_getTokenSpelling(nint unit, CXToken token);
    [LibraryImport(Library)] public static partial void clang_disposeTokens(nint unit, CXToken* tokens, uint count);
    [LibraryImport(Library)] public static partial long clang_getArraySize(CXType type);
    [LibraryImport(Library)] public static partial CXType clang_getArrayElementType(CXType type);
    [LibraryImport(Library)] public static partial CXCursor clang_getTypeDeclaration(CXType type);
    [LibraryImport(Library)] public static partial int clang_Cursor_getStorageClass(CXCursor cursor);

    /// <summary>Copies a CXString into a managed string and releases it.</summary>
    public static string Take(CXString text)
    {
        try
        {
            byte* p = clang_getCString(text);
            return p == null ? "" : Marshal.PtrToStringUTF8((nint)p) ?? "";
        }
        finally
        {
            clang_disposeString(text);
        }
    }
}
