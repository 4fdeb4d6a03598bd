using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Fednl.Interop.Generator;

/// <summary>
/// Parses a C header with libclang and collects the declarations of that file (not of the headers it includes):
/// functions, enums, structs and integer macros, each with its doc comment.
/// </summary>
internal static unsafe class HeaderReader
{
    private const uint DetailedPreprocessingRecord = 0x01, SkipFunctionBodies = 0x40;
    private const int StorageStatic = 3;

    public static HeaderModel Read(string headerPath)
    {
        if (!File.Exists(headerPath)) throw new FileNotFoundException($"header not found: {headerPath}", headerPath);
        string[] lines = File.ReadAllLines(headerPath);
        nint index = LibClang.clang_createIndex(0, 0);
        try
        {
            nint unit = Parse(index, headerPath);
            try
            {
                var cursors = new List<CXCursor>();
                var handle = GCHandle.Alloc(cursors);
                try
                {
                    LibClang.clang_visitChildren(LibClang.clang_getTranslationUnitCursor(unit), &CollectTopLevel, GCHandle.ToIntPtr(handle));
                }
                finally
                {
                    handle.Free();
                }
                return Build(unit, cursors, lines);
            }
            finally
            {
                LibClang.clang_disposeTranslationUnit(unit);
            }
        }
        finally
        {
            LibClang.clang_disposeIndex(index);
        }
    }

    private static nint Parse(nint index, string headerPath)
    {
        string[] args = ["-x", "c", "-std=c11"];
        var utf8 = args.Select(a => Marshal.StringToCoTaskMemUTF8(a)).ToArray();
        nint file = Marshal.StringToCoTaskMemUTF8(headerPath);
        try
        {
            fixed (nint* argv = utf8)
            {
                nint unit = LibClang.clang_parseTranslationUnit(index, (byte*)file, (byte**)argv, args.Length, 0, 0,
                    DetailedPreprocessingRecord | SkipFunctionBodies);
                if (unit == 0) throw new InvalidOperationException($"libclang could not parse {headerPath}");
                var errors = new List<string>();
                uint count = LibClang.clang_getNumDiagnostics(unit);
                for (uint i = 0; i < count; i++)
                {
                    nint diagnostic = LibClang.clang_getDiagnostic(unit, i);
                    if (LibClang.clang_getDiagnosticSeverity(diagnostic) >= 3) // error or fatal
                        errors.Add(LibClang.Take(LibClang.clang_formatDiagnostic(diagnostic, LibClang.clang_defaultDiagnosticDisplayOptions())));
                    LibClang.clang_disposeDiagnostic(diagnostic);
                }
                if (errors.Count > 0)
                {
                    LibClang.clang_disposeTranslationUnit(unit);
                    throw new InvalidOperationException($"{headerPath} does not compile:\n" + string.Join("\n", errors));
                }
                return unit;
            }
        }
        finally
        {
            foreach (var p in utf8) Marshal.FreeCoTaskMem(p);
            Marshal.FreeCoTaskMem(file);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int CollectTopLevel(CXCursor cursor, CXCursor parent, nint data)
    {
        if (LibClang.clang_Location_isFromMainFile(LibClang.clang_getCursorLocation(cursor)) != 0)
            ((List<CXCursor>)GCHandle.FromIntPtr(data).Target!).Add(cursor);
        return 1; // CXChildVisit_Continue
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int CollectChildren(CXCursor cursor, CXCursor parent, nint data)
    {
        ((List<CXCursor>)GCHandle.FromIntPtr(data).Target!).Add(cursor);
        return 1;
    }

    private static List<CXCursor> Children(CXCursor cursor)
    {
        var list = new List<CXCursor>();
        var handle = GCHandle.Alloc(list);
        try
        {
            LibClang.clang_visitChildren(cursor, &CollectChildren, GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }
        return list;
    }

    private static HeaderModel Build(nint unit, List<CXCursor> cursors, string[] lines)
    {
        var constants = new List<ConstantDecl>();
        var enums = new List<EnumDecl>();
        var structs = new List<StructDecl>();
        var functions = new List<FunctionDecl>();
        var seen = new HashSet<string>();
        foreach (var cursor in cursors)
        {
            string name = LibClang.Take(LibClang.clang_getCursorSpelling(cursor));
            switch (LibClang.clang_getCursorKind(cursor))
            {
                case CursorKind.MacroDefinition:
                    if (ReadConstant(unit, cursor, name, lines) is { } constant) constants.Add(constant);
                    break;
                case CursorKind.EnumDecl when name.Length > 0 && seen.Add("enum " + name):
                    enums.Add(new EnumDecl(name, Doc(cursor, lines), Children(cursor)
                        .Where(c => LibClang.clang_getCursorKind(c) == CursorKind.EnumConstantDecl)
                        .Select(c => new EnumMember(LibClang.Take(LibClang.clang_getCursorSpelling(c)),
                            LibClang.clang_getEnumConstantDeclValue(c), Doc(c, lines)))
                        .ToList()));
                    break;
                case CursorKind.StructDecl when name.Length > 0 && seen.Add("struct " + name):
                    structs.Add(ReadStruct(cursor, name, lines));
                    break;
                case CursorKind.FunctionDecl when LibClang.clang_Cursor_getStorageClass(cursor) != StorageStatic && seen.Add("fn " + name):
                    functions.Add(ReadFunction(cursor, name, lines));
                    break;
            }
        }
        return new HeaderModel(constants, enums, structs, functions);
    }

    private static ConstantDecl? ReadConstant(nint unit, CXCursor cursor, string name, string[] lines)
    {
        if (LibClang.clang_Cursor_isMacroFunctionLike(cursor) != 0) return null;
        CXToken* tokens;
        uint count;
        LibClang.clang_tokenize(unit, LibClang.clang_getCursorExtent(cursor), &tokens, &count);
        try
        {
            if (count != 2) return null; // NAME VALUE: anything else is not an integer constant
            string text = LibClang.Take(LibClang.clang_getTokenSpelling(unit, tokens[1])).TrimEnd('u', 'U', 'l', 'L');
            long value;
            bool parsed = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? long.TryParse(text[2..], System.Globalization.NumberStyles.HexNumber, null, out value)
                : long.TryParse(text, out value);
            return parsed ? new ConstantDecl(name, value, Doc(cursor, lines)) : null;
        }
        finally
        {
            LibClang.clang_disposeTokens(unit, tokens, count);
        }
    }

    private static StructDecl ReadStruct(CXCursor cursor, string name, string[] lines)
    {
        var type = LibClang.clang_getCursorType(cursor);
        var fields = new List<FieldDecl>();
        foreach (var field in Children(cursor).Where(c => LibClang.clang_getCursorKind(c) == CursorKind.FieldDecl))
        {
            string fieldName = LibClang.Take(LibClang.clang_getCursorSpelling(field));
            var fieldType = LibClang.clang_getCanonicalType(LibClang.clang_getCursorType(field));
            long offset = LibClang.clang_Cursor_getOffsetOfField(field) / 8;
            if (fieldType.Kind == TypeKind.ConstantArray)
            {
                string element = TypeMap.Value(LibClang.clang_getArrayElementType(fieldType), $"{name}.{fieldName}");
                long length = LibClang.clang_getArraySize(fieldType);
                fields.Add(new FieldDecl(fieldName, "", offset, Doc(field, lines), element, length));
            }
            else
            {
                fields.Add(new FieldDecl(fieldName, TypeMap.Value(fieldType, $"{name}.{fieldName}"), offset, Doc(field, lines), null, 0));
            }
        }
        return new StructDecl(name, Doc(cursor, lines), LibClang.clang_Type_getSizeOf(type), LibClang.clang_Type_getAlignOf(type), fields);
    }

    private static FunctionDecl ReadFunction(CXCursor cursor, string name, string[] lines)
    {
        var parameters = new List<ParameterDecl>();
        int count = LibClang.clang_Cursor_getNumArguments(cursor);
        for (uint i = 0; i < count; i++)
        {
            var argument = LibClang.clang_Cursor_getArgument(cursor, i);
            string argumentName = LibClang.Take(LibClang.clang_getCursorSpelling(argument));
            if (argumentName.Length == 0) argumentName = $"arg{i}";
            var type = LibClang.clang_getCursorType(argument);
            parameters.Add(new ParameterDecl(argumentName, TypeMap.Parameter(type, $"{name}({argumentName})"),
                LibClang.Take(LibClang.clang_getTypeSpelling(type))));
        }
        var result = LibClang.clang_getCursorResultType(cursor);
        return new FunctionDecl(name, TypeMap.Return(result, name), Doc(cursor, lines), parameters);
    }

    /// <summary>
    /// The doc comment of a declaration: libclang's attached comment, or (for macros, which libclang attaches none
    /// to) the /** ... */ block that ends on the line just above it.
    /// </summary>
    private static string? Doc(CXCursor cursor, string[] lines)
    {
        string raw = LibClang.Take(LibClang.clang_Cursor_getRawCommentText(cursor));
        if (raw.Length == 0) raw = PrecedingComment(cursor, lines) ?? "";
        return raw.Length == 0 ? null : CommentText.Clean(raw);
    }

    private static string? PrecedingComment(CXCursor cursor, string[] lines)
    {
        nint file;
        uint line, column, offset;
        LibClang.clang_getExpansionLocation(LibClang.clang_getCursorLocation(cursor), &file, &line, &column, &offset);
        int end = (int)line - 2; // 0-based index of the line above the declaration
        if (end < 0 || end >= lines.Length || !lines[end].TrimEnd().EndsWith("*/", StringComparison.Ordinal)) return null;
        int start = end;
        while (start >= 0 && !lines[start].TrimStart().StartsWith("/**", StringComparison.Ordinal)) start--;
        if (start < 0) return null;
        var text = new StringBuilder();
        for (int i = start; i <= end; i++) text.AppendLine(lines[i]);
        return text.ToString();
    }
}
