using System.Text.Json;
using Fednl.Reporting;
using NUnit.Framework;

namespace Fednl.Tests.Reporting;

/// <summary>The hand-written JSON line of `fednl train --json` parses back to what was written.</summary>
public class JsonLineTests
{
    [Test]
    public void MembersParseBackExactly()
    {
        var line = new JsonLine();
        line.Finite("small", 1e-300);
        line.Finite("third", 1.0 / 3.0);
        line.Finite("negative_zero", -0.0);
        line.Finite("nan", double.NaN);
        line.Finite("infinite", double.NegativeInfinity);
        line.Number("big", long.MinValue);
        line.Number("seed", ulong.MaxValue);
        line.Boolean("yes", true);
        line.StartObject("inner");
        line.Number("one", 1);
        line.Finite("two", 2.5);
        line.EndObject();
        line.String("message", "f = \"NaN\" at λ\\2 <b>&'+`\n\t\u0001 é");
        string text = line.Close();

        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("\n"));
            Assert.That(root.GetProperty("small").GetDouble(), Is.EqualTo(1e-300));
            Assert.That(root.GetProperty("third").GetDouble(), Is.EqualTo(1.0 / 3.0));
            Assert.That(double.IsNegative(root.GetProperty("negative_zero").GetDouble()), Is.True);
            Assert.That(root.GetProperty("nan").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("infinite").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("big").GetInt64(), Is.EqualTo(long.MinValue));
            Assert.That(root.GetProperty("seed").GetUInt64(), Is.EqualTo(ulong.MaxValue));
            Assert.That(root.GetProperty("yes").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("inner").GetProperty("one").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("inner").GetProperty("two").GetDouble(), Is.EqualTo(2.5));
            Assert.That(root.GetProperty("message").GetString(), Is.EqualTo("f = \"NaN\" at λ\\2 <b>&'+`\n\t\u0001 é"));
            Assert.That(root.EnumerateObject().Select(p => p.Name),
                Is.EqualTo(new[] { "small", "third", "negative_zero", "nan", "infinite", "big", "seed", "yes", "inner", "message" }));
        });
    }

    [Test]
    public void AnEmptyObjectIsValid()
    {
        var line = new JsonLine();
        line.StartObject("phases");
        line.EndObject();
        using var json = JsonDocument.Parse(line.Close());
        Assert.That(json.RootElement.GetProperty("phases").EnumerateObject().Count(), Is.EqualTo(0));
    }
}
