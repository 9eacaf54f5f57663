using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>The outer header's DF bit (the ASA's `crypto ipsec df-bit clear-df|copy-df|set-df INTERFACE`; copy-df by default).</summary>
public enum DfBitPolicy
{
    CopyDf,
    ClearDf,
    SetDf,
}

/// <summary>
/// Inside packets too big for the tunnel, as the ASA treats them: the largest inner packet an SA carries within the
/// outside MTU, ICMP "fragmentation needed" (RFC 792 type 3 code 4, with the next-hop MTU of RFC 1191 §4) for one that
/// may not be fragmented, and IPv4 fragmentation before encryption (RFC 791 §3.2; the ASA's default
/// `crypto ipsec fragmentation before-encryption`) for one that may.
/// </summary>
public static class PathMtu
{
    private const int Ipv4HeaderSize = 20, UdpHeaderSize = 8, IcmpHeaderSize = 8;
    private const ushort DontFragment = 0x4000, MoreFragments = 0x2000, OffsetMask = 0x1FFF;

    /// <summary>
    /// The largest inner packet <paramref name="sa"/> turns into an outer packet of at most <paramref name="mtu"/> bytes
    /// (outer IPv4 header, UDP when NAT-T encapsulated, ESP with its padding to the block size).
    /// </summary>
    public static int MaxInnerLength(EspSa sa, int mtu, bool udpEncapsulated) =>
        sa.MaxInnerLength(mtu - Ipv4HeaderSize - (udpEncapsulated ? UdpHeaderSize : 0));

    /// <summary>The DF bit of an IPv4 header.</summary>
    public static bool DontFragmentSet(ReadOnlySpan<byte> packet) =>
        packet.Length >= Ipv4HeaderSize && (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & DontFragment) != 0;

    /// <summary>
    /// RFC 1122 §3.2.2: no ICMP error about an ICMP error, nor about a fragment other than the first. ICMP messages
    /// that are errors: destination unreachable (3), source quench (4), redirect (5), time exceeded (11), parameter problem (12).
    /// </summary>
    public static bool MayAnswerWithIcmp(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < Ipv4HeaderSize) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & OffsetMask) != 0) return false;
        var ihl = (packet[0] & 0x0F) * 4;
        if (packet[9] != 1) return true;
        return packet.Length > ihl && packet[ihl] is not (3 or 4 or 5 or 11 or 12);
    }

    /// <summary>The size of the ICMP message <see cref="WriteFragmentationNeeded"/> writes about <paramref name="original"/>.</summary>
    public static int FragmentationNeededSize(ReadOnlySpan<byte> original) =>
        Ipv4HeaderSize + IcmpHeaderSize + Quoted(original);

    // RFC 1812 §4.3.2.3: as much of the original as fits in 576 bytes (RFC 792 asks for its header and 8 octets).
    private static int Quoted(ReadOnlySpan<byte> original) => Math.Min(original.Length, 576 - Ipv4HeaderSize - IcmpHeaderSize);

    /// <summary>
    /// Writes an IPv4 ICMP destination unreachable, fragmentation needed and DF set, from <paramref name="source"/> to the
    /// original's sender, announcing <paramref name="nextHopMtu"/>; returns its length.
    /// </summary>
    public static int WriteFragmentationNeeded(ReadOnlySpan<byte> original, uint source, int nextHopMtu, Span<byte> destination)
    {
        var quoted = Quoted(original);
        var length = Ipv4HeaderSize + IcmpHeaderSize + quoted;
        var ip = destination[..length];
        ip.Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)length);
        ip[8] = 64; // TTL
        ip[9] = 1; // ICMP
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], source);
        original.Slice(12, 4).CopyTo(ip[16..]); // to the original's source
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..Ipv4HeaderSize]));
        var icmp = ip[Ipv4HeaderSize..];
        icmp[0] = 3; // destination unreachable
        icmp[1] = 4; // fragmentation needed and DF set
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], (ushort)nextHopMtu); // RFC 1191 §4
        original[..quoted].CopyTo(icmp[IcmpHeaderSize..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return length;
    }

    /// <summary>
    /// Splits an IPv4 packet into fragments of at most <paramref name="maxLength"/> bytes (RFC 791 §3.2: data in multiples
    /// of 8 octets, offsets and MF continuing those of a packet that is itself a fragment, DF cleared) and hands each to
    /// <paramref name="send"/>. False, nothing sent, for a packet with IP options (what each fragment copies differs) or
    /// when <paramref name="maxLength"/> leaves no room for 8 octets of data.
    /// </summary>
    public static bool TryFragment<TState>(ReadOnlySpan<byte> packet, int maxLength, Span<byte> scratch, TState state,
        FragmentSink<TState> send, out int fragments)
    {
        fragments = 0;
        if (packet.Length < Ipv4HeaderSize || (packet[0] & 0x0F) != 5) return false;
        var total = Math.Min(packet.Length, BinaryPrimitives.ReadUInt16BigEndian(packet[2..]));
        var perFragment = (maxLength - Ipv4HeaderSize) / 8 * 8;
        if (perFragment < 8 || total <= Ipv4HeaderSize) return false;
        var flags = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        var offset = flags & OffsetMask;
        var lastMore = (flags & MoreFragments) != 0;
        var data = packet[Ipv4HeaderSize..total];
        for (var at = 0; at < data.Length; at += perFragment)
        {
            var piece = data.Slice(at, Math.Min(perFragment, data.Length - at));
            var last = at + piece.Length == data.Length;
            var fragment = scratch[..(Ipv4HeaderSize + piece.Length)];
            packet[..Ipv4HeaderSize].CopyTo(fragment);
            piece.CopyTo(fragment[Ipv4HeaderSize..]);
            BinaryPrimitives.WriteUInt16BigEndian(fragment[2..], (ushort)fragment.Length);
            var more = !last || lastMore;
            BinaryPrimitives.WriteUInt16BigEndian(fragment[6..], (ushort)((more ? MoreFragments : 0) | (offset + at / 8)));
            fragment[10] = 0;
            fragment[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(fragment[10..], Checksum(fragment[..Ipv4HeaderSize]));
            send(fragment, state);
            fragments++;
        }
        return true;
    }

    /// <summary>Receives one fragment (valid only during the call).</summary>
    public delegate void FragmentSink<TState>(ReadOnlySpan<byte> fragment, TState state);

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/>, whose checksum field is zero.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
