namespace Fednl.Interop.Generator;

/// <summary>What the generator reads out of a C header: the declarations it turns into C#.</summary>
internal sealed record HeaderModel(
    IReadOnlyList<ConstantDecl> Constants,
    IReadOnlyList<EnumDecl> Enums,
    IReadOnlyList<StructDecl> Structs,
    IReadOnlyList<FunctionDecl> Functions);

/// <summary>An object-like macro with an integer value.</summary>
internal sealed record ConstantDecl(string CName, long Value, string? Doc);

internal sealed record EnumDecl(string CName, string? Doc, IReadOnlyList<EnumMember> Members);

internal sealed record EnumMember(string CName, long Value, string? Doc);

internal sealed record StructDecl(string CName, string? Doc, long Size, long Alignment, IReadOnlyList<FieldDecl> Fields);

/// <summary>A struct field: its C# type, and for a fixed-size array its element type and length.</summary>
internal sealed record FieldDecl(string CName, string CSharpType, long OffsetBytes, string? Doc, string? ArrayElement, long ArrayLength);

internal sealed record FunctionDecl(string CName, string ReturnType, string? Doc, IReadOnlyList<ParameterDecl> Parameters);

/// <summary>A parameter: its C# type with any ref/in modifier, and its C spelling for the doc comment.</summary>
internal sealed record ParameterDecl(string Name, string CSharpType, string CType);
