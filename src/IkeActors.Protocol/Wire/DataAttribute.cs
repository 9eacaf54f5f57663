using System.Buffers.Binary;

namespace IkeActors.Protocol;

/// <summary>The forms a data attribute may take (RFC 2408 §3.3).</summary>
public enum AttributeForm
{
    /// <summary>TV: AF bit set, a 16-bit value in place of the length.</summary>
    Basic,
    /// <summary>TLV: AF bit clear, a length and that many value bytes.</summary>
    Variable,
    /// <summary>Either (RFC 2409 Appendix A: life duration may be basic or variable).</summary>
    Any,
}

/// <summary>One data attribute in the wire bytes of a validated list.</summary>
public readonly ref struct DataAttributeView
{
    internal DataAttributeView(ushort type, bool isBasic, ushort basicValue, ReadOnlySpan<byte> value, int offset)
    {
        Type = type; IsBasic = isBasic; BasicValue = basicValue; Value = value; Offset = offset;
    }

    /// <summary>Attribute type without the AF bit.</summary>
    public ushort Type { get; }
    /// <summary>True for TV (AF = 1), false for TLV.</summary>
    public bool IsBasic { get; }
    /// <summary>The value of a basic attribute.</summary>
    public ushort BasicValue { get; }
    /// <summary>The value bytes of a variable attribute (empty for basic).</summary>
    public ReadOnlySpan<byte> Value { get; }
    /// <summary>Offset of the attribute within the list.</summary>
    public int Offset { get; }

    /// <summary>The value as an integer: basic, or a variable value of 1 to 8 bytes (RFC 2409 Appendix A life durations).</summary>
    public bool TryGetInteger(out ulong value)
    {
        if (IsBasic) { value = BasicValue; return true; }
        value = 0;
        if (Value.Length is 0 or > 8) return false;
        foreach (var b in Value) value = value << 8 | b;
        return true;
    }
}

/// <summary>
/// Iterates the data attributes of a transform (RFC 2408 §3.3). Validate first; the
/// enumerator itself trusts its input and stops at the first inconsistency.
/// </summary>
public ref struct DataAttributeReader
{
    private readonly ReadOnlySpan<byte> _all;
    private int _next;
    private DataAttributeView _current;

    public DataAttributeReader(ReadOnlySpan<byte> attributes)
    {
        _all = attributes; _next = 0; _current = default;
    }

    public readonly DataAttributeReader GetEnumerator() => this;
    public readonly DataAttributeView Current => _current;

    public bool MoveNext()
    {
        if (_all.Length - _next < 4) return false;
        var s = _all.Slice(_next);
        var raw = BinaryPrimitives.ReadUInt16BigEndian(s);
        var type = (ushort)(raw & 0x7FFF);
        var field = BinaryPrimitives.ReadUInt16BigEndian(s.Slice(2));
        if ((raw & 0x8000) != 0)
        {
            _current = new DataAttributeView(type, true, field, default, _next);
            _next += 4;
            return true;
        }
        if (field > s.Length - 4) return false;
        _current = new DataAttributeView(type, false, 0, s.Slice(4, field), _next);
        _next += 4 + field;
        return true;
    }

    /// <summary>Number of attributes (walks the list).</summary>
    public readonly int Count()
    {
        var n = 0;
        foreach (var _ in this) n++;
        return n;
    }

    /// <summary>Checks that the attributes exactly fill the data. Never throws.</summary>
    public static bool Validate(ReadOnlySpan<byte> attributes, out WireError error)
    {
        var offset = 0;
        while (offset < attributes.Length)
        {
            if (attributes.Length - offset < 4)
            {
                error = new WireError(offset, "data attribute", WireErrorReason.AttributeTruncated);
                return false;
            }
            var raw = BinaryPrimitives.ReadUInt16BigEndian(attributes.Slice(offset));
            if ((raw & 0x8000) != 0) { offset += 4; continue; }
            int length = BinaryPrimitives.ReadUInt16BigEndian(attributes.Slice(offset + 2));
            if (length > attributes.Length - offset - 4)
            {
                error = new WireError(offset + 2, "data attribute.Length", WireErrorReason.AttributeTruncated);
                return false;
            }
            offset += 4 + length;
        }
        error = default;
        return true;
    }
}

/// <summary>A data attribute as a value (RFC 2408 §3.3): basic (TV) or variable (TLV).</summary>
public readonly struct DataAttribute : IEquatable<DataAttribute>
{
    private DataAttribute(ushort type, bool isBasic, ushort basicValue, ReadOnlyMemory<byte> value)
    {
        if (type > 0x7FFF) throw new ArgumentOutOfRangeException(nameof(type), "attribute types are 15 bits (RFC 2408 §3.3)");
        Type = type; IsBasic = isBasic; BasicValue = basicValue; Value = value;
    }

    public ushort Type { get; }
    public bool IsBasic { get; }
    public ushort BasicValue { get; }
    public ReadOnlyMemory<byte> Value { get; }

    public static DataAttribute Basic(ushort type, ushort value) => new(type, true, value, default);

    public static DataAttribute Variable(ushort type, ReadOnlyMemory<byte> value)
    {
        if (value.Length > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(value), "a TLV value holds at most 65535 bytes");
        return new(type, false, 0, value);
    }

    /// <summary>A life duration or other integer in the shortest form: basic when it fits 16 bits, else a variable big-endian value.</summary>
    public static DataAttribute Integer(ushort type, ulong value)
    {
        if (value <= ushort.MaxValue) return Basic(type, (ushort)value);
        var bytes = value <= uint.MaxValue ? new byte[4] : new byte[8];
        if (bytes.Length == 4) BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
        else BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Variable(type, bytes);
    }

    public int EncodedSize => IsBasic ? 4 : 4 + Value.Length;

    public int Write(Span<byte> destination)
    {
        if (destination.Length < EncodedSize) throw new ArgumentException("destination too small", nameof(destination));
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Type | (IsBasic ? 0x8000 : 0)));
        if (IsBasic)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), BasicValue);
            return 4;
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)Value.Length);
        Value.Span.CopyTo(destination.Slice(4));
        return 4 + Value.Length;
    }

    public static DataAttribute FromView(DataAttributeView view) =>
        view.IsBasic ? Basic(view.Type, view.BasicValue) : Variable(view.Type, view.Value.ToArray());

    public bool Equals(DataAttribute other) =>
        Type == other.Type && IsBasic == other.IsBasic && BasicValue == other.BasicValue && Value.Span.SequenceEqual(other.Value.Span);

    public override bool Equals(object? obj) => obj is DataAttribute other && Equals(other);
    public override int GetHashCode() => HashCode.Combine(Type, IsBasic, BasicValue, Value.Length);
    public static bool operator ==(DataAttribute left, DataAttribute right) => left.Equals(right);
    public static bool operator !=(DataAttribute left, DataAttribute right) => !left.Equals(right);
    public override string ToString() => IsBasic ? $"{Type}={BasicValue}" : $"{Type}=[{Value.Length} bytes]";
}
