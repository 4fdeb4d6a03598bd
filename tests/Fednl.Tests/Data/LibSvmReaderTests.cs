using System.Diagnostics;
using Fednl.Data;

namespace Fednl.Tests.Data;

public sealed class LibSvmReaderTests
{
    private static Dataset ReadText(string text, bool intercept = false)
    {
        using var temp = TestData.TempFolder();
        return LibSvmReader.Read(temp.File("data.svm", text), intercept);
    }

    private static LibSvmFormatException Fails(string text)
    {
        using var temp = TestData.TempFolder();
        string path = temp.File("bad.svm", text);
        return Assert.Throws<LibSvmFormatException>(() => LibSvmReader.Read(path))!;
    }

    [Test]
    public void Reads_sparse_rows_labels_and_dimensions()
    {
        var d = ReadText("+1 1:0.5 3:-2\n-1\n+1 2:1e-3 4:4\n");
        Assert.That(d.Samples, Is.EqualTo(3));
        Assert.That(d.Features, Is.EqualTo(4));
        Assert.That(d.RowPointers, Is.EqualTo(new long[] { 0, 2, 2, 4 }));
        Assert.That(d.ColumnIndices, Is.EqualTo(new[] { 0, 2, 1, 3 }));
        Assert.That(d.Values, Is.EqualTo(new[] { 0.5, -2, 1e-3, 4 }));
        Assert.That(d.Labels, Is.EqualTo(new[] { 1.0, -1, 1 }));
    }

    [TestCase("0 1:1\n1 1:2\n", new[] { -1.0, 1 })]
    [TestCase("1 1:1\n2 1:2\n", new[] { -1.0, 1 })]
    [TestCase("-1 1:1\n+1 1:2\n", new[] { -1.0, 1 })]
    [TestCase("5 1:1\n3 1:2\n", new[] { 1.0, -1 })]
    public void Two_label_values_map_smaller_to_minus_one(string text, double[] expected) =>
        Assert.That(ReadText(text).Labels, Is.EqualTo(expected));

    [Test]
    public void Blank_lines_crlf_and_trailing_spaces_are_accepted()
    {
        var d = ReadText("1 1:1 \r\n\r\n   \n0 2:3\t\r\n");
        Assert.That(d.Samples, Is.EqualTo(2));
        Assert.That(d.Values, Is.EqualTo(new[] { 1.0, 3 }));
    }

    [Test]
    public void Intercept_is_the_last_column()
    {
        var d = ReadText("1 1:1\n0 3:2\n", intercept: true);
        Assert.That(d.Features, Is.EqualTo(4));
        Assert.That(d.ColumnIndices, Is.EqualTo(new[] { 0, 3, 2, 3 }));
        Assert.That(d.Values, Is.EqualTo(new[] { 1.0, 1, 2, 1 }));
    }

    [TestCase("1 1:abc\n0 1:1\n", 1, "1:abc", "value is not a number")]
    [TestCase("x 1:1\n0 1:1\n", 1, "x", "label is not a number")]
    [TestCase("1 1:1\n0 0:1\n", 2, "0:1", "index must be >= 1")]
    [TestCase("1 -3:1\n0 1:1\n", 1, "-3:1", "index must be >= 1")]
    [TestCase("1 2:1 1:1\n0 1:1\n", 1, "1:1", "indices must ascend")]
    [TestCase("1 2:1 2:1\n0 1:1\n", 1, "2:1", "indices must ascend")]
    [TestCase("1 1:NaN\n0 1:1\n", 1, "1:NaN", "NaN or infinity")]
    [TestCase("1 1:-Infinity\n0 1:1\n", 1, "1:-Infinity", "NaN or infinity")]
    [TestCase("NaN 1:1\n0 1:1\n", 1, "NaN", "NaN or infinity")]
    [TestCase("1 2:inf\n0 1:1\n", 1, "2:inf", "NaN or infinity")]
    [TestCase("1 2:-INF\n0 1:1\n", 1, "2:-INF", "NaN or infinity")]
    [TestCase("1 2:nan\n0 1:1\n", 1, "2:nan", "NaN or infinity")]
    [TestCase("inf 2:1\n0 1:1\n", 1, "inf", "NaN or infinity")]
    [TestCase("1 1:1\n0 1:1\n\n1 7\n", 4, "7", "expected index:value")]
    [TestCase("1 a:1\n0 1:1\n", 1, "a:1", "index is not an integer")]
    public void Malformed_input_names_file_line_and_token(string text, int line, string token, string problem)
    {
        var e = Fails(text);
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(e.Token, Is.EqualTo(token));
        Assert.That(e.Message, Does.Contain(problem));
        Assert.That(e.Message, Does.Contain("bad.svm:" + line));
    }

    /// <summary>
    /// The one-pass shape (digits, an optional point, at most 15 digits) gives double.Parse's bits: random decimals of
    /// every length and point position, with signs, leading zeros and the edge shapes ("5.", ".5", "-0"); longer or
    /// other tokens are left to double.Parse.
    /// </summary>
    [Test]
    public void Plain_decimals_parse_to_the_bits_double_parse_gives()
    {
        var random = new Random(11);
        var tokens = new List<string> { "0", "-0", "+0", "5.", ".5", "-.5", "007", "0.18257", "999999999999999", "0.000000000000001",
            "123456789.012345", "9007199254740993", "1e5", "1.2.3", ".", "-", "", "1,5", "0x10", "12345678901234567" };
        for (int n = 0; n < 20000; n++)
        {
            int digits = random.Next(1, 18), point = random.Next(-1, digits + 1);
            var chars = new char[digits];
            for (int i = 0; i < digits; i++) chars[i] = (char)('0' + random.Next(10));
            string body = new(chars);
            if (point >= 0) body = body[..point] + "." + body[point..];
            tokens.Add((random.Next(4)) switch { 0 => "-", 1 => "+", _ => "" } + body);
        }
        int plain = 0;
        foreach (string token in tokens)
        {
            bool parsed = double.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double expected);
            if (!LibSvmReader.TryParsePlainDecimal(System.Text.Encoding.ASCII.GetBytes(token), out double value)) continue;
            plain++;
            Assert.That(parsed, Is.True, token);
            Assert.That(BitConverter.DoubleToInt64Bits(value), Is.EqualTo(BitConverter.DoubleToInt64Bits(expected)), token);
        }
        Assert.That(plain, Is.GreaterThan(15000), "most random tokens take the one-pass shape");
        foreach (string other in new[] { "1e5", "1.2.3", ".", "-", "", "1,5", "0x10", "12345678901234567", "9999999999999999" })
            Assert.That(LibSvmReader.TryParsePlainDecimal(System.Text.Encoding.ASCII.GetBytes(other), out _), Is.False, other);
    }

    [Test]
    public void Exponents_long_values_and_a_last_line_without_newline_read_as_before()
    {
        var d = ReadText("1 1:1e-3 3:0.12345678901234567890 12:-2.5E+2\n\n0 2:7 3:-.5", intercept: true);
        Assert.That(d.Samples, Is.EqualTo(2));
        Assert.That(d.Features, Is.EqualTo(13));
        Assert.That(d.Values, Is.EqualTo(new[] { 1e-3, 0.12345678901234568, -250, 1, 7, -0.5, 1 }));
        Assert.That(d.ColumnIndices, Is.EqualTo(new[] { 0, 2, 11, 12, 1, 2, 12 }));
    }

    [Test]
    public void A_utf8_byte_order_mark_is_accepted()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fednl-bom-{Guid.NewGuid():N}.svm");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "+1 2:1\n-1 1:1\n"u8]);
        try
        {
            var d = LibSvmReader.Read(path);
            Assert.That(d.Labels, Is.EqualTo(new[] { 1.0, -1.0 }));
            Assert.That(d.ColumnIndices, Is.EqualTo(new[] { 1, 0 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void One_or_three_label_values_are_errors()
    {
        Assert.That(Fails("1 1:1\n1 1:2\n").Message, Does.Contain("found one (1)"));
        Assert.That(Fails("1 1:1\n2 1:2\n3 1:1\n").Message, Does.Contain("found more (1, 2, 3)"));
    }

    [Test]
    public void Empty_and_missing_files_are_errors()
    {
        Assert.That(Fails("").Message, Does.Contain("no samples"));
        Assert.That(Fails("\n\n").Message, Does.Contain("no samples"));
        var e = Assert.Throws<LibSvmFormatException>(() => LibSvmReader.Read("/nonexistent/w8a"));
        Assert.That(e!.Message, Does.Contain("/nonexistent/w8a").And.Contain("no such file"));
    }

    [Category("RealData")]
    [TestCase("w8a", 49749, 301)]
    [TestCase("a9a", 32561, 124)]
    [TestCase("phishing", 11055, 69)]
    public void Reference_datasets_have_the_published_sizes(string name, int samples, int features)
    {
        var clock = Stopwatch.StartNew();
        var d = LibSvmReader.Read(TestData.Dataset(name), addIntercept: true);
        TestContext.Out.WriteLine($"{name}: loaded in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.That(d.Samples, Is.EqualTo(samples));
        Assert.That(d.Features, Is.EqualTo(features));
        Assert.That(d.Labels.Distinct().Order(), Is.EqualTo(new[] { -1.0, 1.0 }));
        var split = ClientSplit.Split(d, 142, 123);
        Assert.That(split.Clients[0].Samples, Is.EqualTo(samples / 142));
        Assert.That(split.DroppedSamples, Is.EqualTo(samples % 142));
    }
}
