namespace Fednl.Interop.Generator;

/// <summary>
/// C types to blittable C# types. Pointer parameters become by-reference parameters (const T* → in T, T* → ref T)
/// so callers pass span references without unsafe code; returned pointers become nint.
/// </summary>
internal static class TypeMap
{
    /// <summary>A value type (field, return, pointee).</summary>
    public static string Value(CXType type, string where)
    {
        var canonical = LibClang.clang_getCanonicalType(type);
        return canonical.Kind switch
        {
            TypeKind.Void => "void",
            TypeKind.Bool => "byte",
            TypeKind.CharS or TypeKind.CharU or TypeKind.UChar => "byte",
            TypeKind.SChar => "sbyte",
            TypeKind.Float => "float",
            TypeKind.Double => "double",
            TypeKind.Short or TypeKind.Int or TypeKind.Long or TypeKind.LongLong =>
                Signed(LibClang.clang_Type_getSizeOf(canonical), where),
            TypeKind.UShort or TypeKind.UInt or TypeKind.ULong or TypeKind.ULongLong =>
                Unsigned(LibClang.clang_Type_getSizeOf(canonical), where),
            TypeKind.Enum => Signed(LibClang.clang_Type_getSizeOf(canonical), where),
            TypeKind.Record => Names.Type(LibClang.Take(LibClang.clang_getCursorSpelling(LibClang.clang_getTypeDeclaration(canonical)))),
            TypeKind.Pointer => "nint",
            _ => throw new NotSupportedException($"{where}: no C# mapping for C type '{LibClang.Take(LibClang.clang_getTypeSpelling(type))}'"),
        };
    }

    public static string Parameter(CXType type, string where)
    {
        var canonical = LibClang.clang_getCanonicalType(type);
        if (canonical.Kind != TypeKind.Pointer) return Value(type, where);
        var pointee = LibClang.clang_getPointeeType(canonical);
        var pointeeCanonical = LibClang.clang_getCanonicalType(pointee);
        if (pointeeCanonical.Kind is TypeKind.Void or TypeKind.Pointer) return "nint";
        string element = Value(pointee, where);
        return (LibClang.clang_isConstQualifiedType(pointee) != 0 ? "in " : "ref ") + element;
    }

    public static string Return(CXType type, string where) =>
        LibClang.clang_getCanonicalType(type).Kind == TypeKind.Pointer ? "nint" : Value(type, where);

    private static string Signed(long size, string where) => size switch
    {
        1 => "sbyte",
        2 => "short",
        4 => "int",
        8 => "long",
        _ => throw new NotSupportedException($"{where}: signed integer of {size} bytes"),
    };

    private static string Unsigned(long size, string where) => size switch
    {
        1 => "byte",
        2 => "ushort",
        4 => "uint",
        8 => "ulong",
        _ => throw new NotSupportedException($"{where}: unsigned integer of {size} bytes"),
    };
}

/// <summary>C names to C# names.</summary>
internal static class Names
{
    /// <summary>fednl_build_info → FednlBuildInfo.</summary>
    public static string Type(string cName) => Pascal(cName);

    /// <summary>abi_version → AbiVersion; FEDNL_ERR_INVALID_ARGUMENT (prefix FEDNL_) → ErrInvalidArgument.</summary>
    public static string Pascal(string cName, string prefix = "")
    {
        string core = cName.StartsWith(prefix, StringComparison.Ordinal) ? cName[prefix.Length..] : cName;
        var parts = core.Split('_', StringSplitOptions.RemoveEmptyEntries);
        string result = string.Concat(parts.Select(p => char.ToUpperInvariant(p[0]) + p[1..].ToLowerInvariant()));
        return result.Length > 0 && char.IsDigit(result[0]) ? "_" + result : result;
    }

    /// <summary>The longest common prefix of the names that ends at an underscore.</summary>
    public static string CommonPrefix(IReadOnlyList<string> names)
    {
        if (names.Count == 0) return "";
        string prefix = names[0];
        foreach (var n in names)
        {
            int i = 0;
            while (i < prefix.Length && i < n.Length && prefix[i] == n[i]) i++;
            prefix = prefix[..i];
        }
        int cut = prefix.LastIndexOf('_');
        return cut < 0 ? "" : prefix[..(cut + 1)];
    }

    private static readonly HashSet<string> Keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
    ];

    /// <summary>A C parameter name that is a C# keyword gets an @.</summary>
    public static string Identifier(string name) => Keywords.Contains(name) ? "@" + name : name;
}
