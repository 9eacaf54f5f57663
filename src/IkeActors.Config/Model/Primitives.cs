using System.Collections;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace IkeActors.Config.Model;

/// <summary>
/// An immutable ordered list with structural equality, so that model records
/// compare by content (parse → show → parse must give an equal model).
/// </summary>
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    public static readonly ValueList<T> Empty = new(Array.Empty<T>());

    public ValueList(IEnumerable<T> items) => _items = items.ToArray();

    public T this[int index] => _items[index];
    public int Count => _items.Length;
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) =>
        other is not null && _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => obj is ValueList<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items) hash.Add(item);
        return hash.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(", ", _items) + "]";
}

public static class ValueList
{
    public static ValueList<T> From<T>(params IEnumerable<T> items) => new(items);
    public static ValueList<T> ToValueList<T>(this IEnumerable<T> items) => new(items);
}

/// <summary>An IPv4 address as a 32-bit host-order number, with ASA-style text.</summary>
public static class Ipv4
{
    public static uint ToUInt32(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException("Only IPv4 addresses are supported.", nameof(address));
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }

    public static IPAddress ToAddress(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    public static string Format(uint value) =>
        $"{value >> 24}.{(value >> 16) & 0xFF}.{(value >> 8) & 0xFF}.{value & 0xFF}";

    /// <summary>Strict dotted-quad parse (four decimal octets 0-255, nothing else).</summary>
    public static bool TryParse(string text, out uint value)
    {
        value = 0;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3) return false;
            var octet = 0;
            foreach (var c in part)
            {
                if (c is < '0' or > '9') return false;
                octet = octet * 10 + (c - '0');
            }
            if (octet > 255) return false;
            value = value << 8 | (uint)octet;
        }
        return true;
    }

    /// <summary>A mask is contiguous ones followed by zeros.</summary>
    public static bool IsContiguousMask(uint mask) => (~mask & (~mask + 1)) == 0;

    public static int MaskLength(uint mask) => System.Numerics.BitOperations.PopCount(mask);

    public static uint MaskFromLength(int length) => length == 0 ? 0u : uint.MaxValue << (32 - length);
}

/// <summary>An IPv4 network: address and prefix length (what the ASA writes as address + mask).</summary>
public readonly record struct Ipv4Prefix
{
    public uint Network { get; }
    public int Length { get; }

    public Ipv4Prefix(uint network, int length)
    {
        if (length is < 0 or > 32) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
        Network = network & Ipv4.MaskFromLength(length);
    }

    public static Ipv4Prefix Host(uint address) => new(address, 32);

    public static Ipv4Prefix Parse(string addressMask)
    {
        var parts = addressMask.Split(' ', '/');
        if (parts.Length != 2 || !Ipv4.TryParse(parts[0], out var a))
            throw new FormatException($"Not an IPv4 prefix: {addressMask}");
        if (Ipv4.TryParse(parts[1], out var m) && Ipv4.IsContiguousMask(m)) return new(a, Ipv4.MaskLength(m));
        if (int.TryParse(parts[1], out var l) && l is >= 0 and <= 32) return new(a, l);
        throw new FormatException($"Not an IPv4 prefix: {addressMask}");
    }

    public uint Mask => Ipv4.MaskFromLength(Length);
    public uint First => Network;
    public uint Last => Network | ~Mask;
    public IPAddress Address => Ipv4.ToAddress(Network);
    public IPAddress MaskAddress => Ipv4.ToAddress(Mask);
    public Ipv4Range ToRange() => new(First, Last);

    public bool Contains(uint address) => (address & Mask) == Network;
    public bool Contains(IPAddress address) => Contains(Ipv4.ToUInt32(address));

    /// <summary>ASA text: "192.168.1.0 255.255.255.0".</summary>
    public string ToAddressMask() => $"{Ipv4.Format(Network)} {Ipv4.Format(Mask)}";

    public override string ToString() => $"{Ipv4.Format(Network)}/{Length}";
}

/// <summary>An inclusive IPv4 address range (an ID_IPV4_ADDR_RANGE, an `object network` range).</summary>
public readonly record struct Ipv4Range(uint First, uint Last)
{
    public static readonly Ipv4Range All = new(0, uint.MaxValue);

    public bool Contains(uint address) => address >= First && address <= Last;
    public bool Contains(Ipv4Range other) => other.First >= First && other.Last <= Last;
    public bool Overlaps(Ipv4Range other) => other.First <= Last && First <= other.Last;

    /// <summary>The prefix this range is exactly, if it is one.</summary>
    public Ipv4Prefix? AsPrefix()
    {
        var size = (ulong)Last - First + 1;
        if ((size & (size - 1)) != 0) return null;
        var length = 32 - System.Numerics.BitOperations.Log2(size);
        var prefix = new Ipv4Prefix(First, (int)length);
        return prefix.First == First ? prefix : null;
    }

    /// <summary>The fewest prefixes that cover exactly this range, lowest first.</summary>
    public IReadOnlyList<Ipv4Prefix> ToPrefixes()
    {
        var result = new List<Ipv4Prefix>();
        ulong start = First;
        while (start <= Last)
        {
            // The largest block aligned at start that stays within the range.
            var length = start == 0 ? 0 : 32 - System.Numerics.BitOperations.TrailingZeroCount((uint)start);
            while ((start | (~Ipv4.MaskFromLength(length) & 0xFFFFFFFFul)) > Last) length++;
            var prefix = new Ipv4Prefix((uint)start, length);
            result.Add(prefix);
            start = (ulong)prefix.Last + 1;
        }
        return result;
    }

    public override string ToString() => $"{Ipv4.Format(First)}-{Ipv4.Format(Last)}";
}

/// <summary>
/// A pre-shared key. Its text never appears in ToString(), logs or `show` output
/// (the ASA prints `*****`); comparisons are constant-time.
/// </summary>
public sealed class PreSharedKey : IEquatable<PreSharedKey>
{
    /// <summary>What the ASA prints in place of a key in `show running-config`.</summary>
    public const string Mask = "*****";

    private readonly byte[] _utf8;

    public PreSharedKey(string key) => _utf8 = Encoding.UTF8.GetBytes(key);

    /// <summary>The key bytes, for SKEYID = prf(pre-shared-key, Ni_b | Nr_b) (RFC 2409 section 5.4).</summary>
    public ReadOnlySpan<byte> Bytes => _utf8;

    /// <summary>The key text, only for writing a configuration back to disk (`more system:running-config`).</summary>
    public string Reveal() => Encoding.UTF8.GetString(_utf8);

    public bool IsMaskPlaceholder => Reveal() == Mask;

    public bool Equals(PreSharedKey? other) =>
        other is not null && CryptographicOperations.FixedTimeEquals(_utf8, other._utf8);

    public override bool Equals(object? obj) => obj is PreSharedKey other && Equals(other);

    // Hash only the length: equal keys must hash equally, and the hash must not leak content.
    public override int GetHashCode() => _utf8.Length;

    public override string ToString() => Mask;
}

/// <summary>Where something is in a configuration file (1-based line and column).</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}
