namespace Fednl.Data;

/// <summary>A LIBSVM file that cannot be read; names the file, the line (1-based, 0 for the whole file) and the token.</summary>
public sealed class LibSvmFormatException(string file, int line, string token, string problem)
    : Exception(line > 0 ? $"{file}:{line}: {problem}" + (token.Length > 0 ? $" ('{token}')" : "") : $"{file}: {problem}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string Token { get; } = token;
}
