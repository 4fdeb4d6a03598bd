using System.Buffers.Binary;

namespace Fednl.Network;

/// <summary>
/// A minimal reader of the protobuf wire format over a span, for reading large messages in place: tags, varints,
/// fixed64 and length-delimited fields (returned as slices, not copies). Every read is bounds-checked; a truncated
/// or malformed field throws a <see cref="ProtocolException"/> naming <c>what</c> was being read.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data, string what)
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    private readonly ReadOnlySpan<byte> _data = data;
    private int _at;

    /// <summary>Bytes read so far.</summary>
    public readonly int Position => _at;

    /// <summary>True while bytes remain (for packed repeated fields, which are values without tags).</summary>
    public readonly bool HasMore => _at < _data.Length;

    /// <summary>Reads the next tag; false at the end of the data.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (_at == _data.Length)
        {
            (field, wireType) = (0, 0);
            return false;
        }
        ulong tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field == 0 || tag >> 3 > int.MaxValue) throw Malformed($"has field number {tag >> 3}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_at == _data.Length) throw Malformed("ends inside a varint");
            byte b = _data[_at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Malformed("has a varint longer than 10 bytes");
    }

    /// <summary>An <c>int32</c> field: negative values travel as 10-byte varints, and the low 32 bits are the value.</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    public double ReadDouble()
    {
        if (_data.Length - _at < 8) throw Malformed("ends inside a double");
        double value = BinaryPrimitives.ReadDoubleLittleEndian(_data[_at..]);
        _at += 8;
        return value;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _at)) throw Malformed($"has a field of {length} bytes where {_data.Length - _at} remain");
        var slice = _data.Slice(_at, (int)length);
        _at += (int)length;
        return slice;
    }

    /// <summary>Skips a field's value (an unknown field, or a known one of another wire type, as protobuf does).</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: Advance(8); break;
            case LengthDelimited: ReadBytes(); break;
            case Fixed32: Advance(4); break;
            default: throw Malformed($"has wire type {wireType}, which this protocol never uses");
        }
    }

    private void Advance(int count)
    {
        if (_data.Length - _at < count) throw Malformed($"ends inside a {count}-byte field");
        _at += count;
    }

    private readonly ProtocolException Malformed(string problem) =>
        new(ProtocolError.MalformedFrame, $"{what} does not parse: it {problem} (at byte {_at} of {_data.Length})");
}
