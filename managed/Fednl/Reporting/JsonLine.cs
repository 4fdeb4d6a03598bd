using System.Globalization;
using System.Text;

namespace Fednl.Reporting;

/// <summary>
/// A JSON object on one line, member by member: numbers in their shortest round-trip form, non-finite ones as null
/// (JSON has no infinity or NaN: a diverged run's values), strings with every character outside printable ASCII,
/// quotes, backslashes and HTML-sensitive ones escaped as \uXXXX (as System.Text.Json's default encoder does).
/// </summary>
internal sealed class JsonLine
{
    private readonly StringBuilder _text = new("{", 1024);
    private bool _first = true;

    public void Number(string name, long value) => Name(name).Append(value.ToString(CultureInfo.InvariantCulture));

    public void Number(string name, ulong value) => Name(name).Append(value.ToString(CultureInfo.InvariantCulture));

    public void Finite(string name, double value)
    {
        if (double.IsFinite(value)) Name(name).Append(value.ToString("R", CultureInfo.InvariantCulture));
        else Name(name).Append("null");
    }

    public void Boolean(string name, bool value) => Name(name).Append(value ? "true" : "false");

    public void String(string name, string value) => Quoted(Name(name), value);

    public void StartObject(string name)
    {
        Name(name).Append('{');
        _first = true;
    }

    public void EndObject()
    {
        _text.Append('}');
        _first = false;
    }

    public string Close() => _text.Append('}').ToString();

    private StringBuilder Name(string name)
    {
        if (!_first) _text.Append(',');
        _first = false;
        return Quoted(_text, name).Append(':');
    }

    private static StringBuilder Quoted(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (char c in value)
        {
            if (c is >= ' ' and <= '~' && c is not ('"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`')) text.Append(c);
            else text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
        }
        return text.Append('"');
    }
}
