using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Fednl.Network;

/// <summary>Writes little-endian fields into a caller-owned buffer, front to back.</summary>
public ref struct WireWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _position;

    public readonly int Position => _position;

    private Span<byte> Take(int bytes)
    {
        if (bytes > _buffer.Length - _position)
            throw new InvalidOperationException($"frame buffer too small: {bytes} more bytes at offset {_position} of {_buffer.Length}");
        var span = _buffer.Slice(_position, bytes);
        _position += bytes;
        return span;
    }

    public void Byte(byte value) => Take(1)[0] = value;
    public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);
    public void UInt32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value);
    public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);
    public void UInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value);
    public void Double(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Take(8), value);
    public void Bytes(scoped ReadOnlySpan<byte> value) => value.CopyTo(Take(value.Length));
    public void Utf8(string text) => _position += Encoding.UTF8.GetBytes(text, Take(Encoding.UTF8.GetByteCount(text)));

    public void Doubles(scoped ReadOnlySpan<double> values)
    {
        var target = Take(8 * values.Length);
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(target);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(target[(8 * i)..], values[i]);
    }

    public void Int32s(scoped ReadOnlySpan<int> values)
    {
        var target = Take(4 * values.Length);
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(target);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(target[(4 * i)..], values[i]);
    }
}

/// <summary>Reads little-endian fields from a received payload; running past its end is a malformed frame.</summary>
public ref struct WireReader(ReadOnlySpan<byte> payload, string what)
{
    private readonly ReadOnlySpan<byte> _payload = payload;
    private readonly string _what = what;
    private int _position;

    public readonly int Remaining => _payload.Length - _position;

    private ReadOnlySpan<byte> Take(int bytes)
    {
        if (bytes < 0 || bytes > _payload.Length - _position)
            throw new ProtocolException(ProtocolError.MalformedFrame,
                $"{_what} frame too short: needs {bytes} more bytes at offset {_position} of {_payload.Length}");
        var span = _payload.Slice(_position, bytes);
        _position += bytes;
        return span;
    }

    public byte Byte() => Take(1)[0];
    public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
    public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
    public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
    public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
    public double Double() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));
    public ReadOnlySpan<byte> Bytes(int count) => Take(count);
    public string Utf8Rest() => Encoding.UTF8.GetString(Take(Remaining));

    public void Doubles(scoped Span<double> values)
    {
        var source = Take(8 * values.Length);
        if (BitConverter.IsLittleEndian) source.CopyTo(MemoryMarshal.AsBytes(values));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]);
    }

    public void Int32s(scoped Span<int> values)
    {
        var source = Take(4 * values.Length);
        if (BitConverter.IsLittleEndian) source.CopyTo(MemoryMarshal.AsBytes(values));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(source[(4 * i)..]);
    }

    /// <summary>The payload must be used up exactly: trailing bytes mean the frame's length is wrong.</summary>
    public readonly void End()
    {
        if (_position != _payload.Length)
            throw new ProtocolException(ProtocolError.MalformedFrame,
                $"{_what} frame has {_payload.Length - _position} unexpected trailing bytes (length {_payload.Length})");
    }
}
