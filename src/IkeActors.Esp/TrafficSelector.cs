using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace IkeActors.Esp;

/// <summary>
/// One side of an SA's traffic selectors (RFC 4301 §4.4.1.1), shaped like an ASA crypto ACL proxy ID:
/// an IPv4 address range, a protocol (0 = any) and a port range (0-65535 = any). Quick Mode's
/// IPV4_ADDR_SUBNET / IPV4_ADDR_RANGE IDs map onto it directly.
/// </summary>
public readonly record struct TrafficSelector(uint StartAddress, uint EndAddress, byte Protocol = 0, ushort StartPort = 0, ushort EndPort = ushort.MaxValue)
{
    public static TrafficSelector Any => new(0, uint.MaxValue);

    /// <summary>address/prefix, e.g. 192.168.1.0/24 (the ACL's "192.168.1.0 255.255.255.0").</summary>
    public static TrafficSelector Subnet(IPAddress network, int prefixLength, byte protocol = 0, ushort port = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)prefixLength, 32u, nameof(prefixLength));
        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        uint start = ToUInt32(network) & mask;
        return new TrafficSelector(start, start | ~mask, protocol, port, port == 0 ? ushort.MaxValue : port);
    }

    /// <summary>A single host (ACL "host A.B.C.D").</summary>
    public static TrafficSelector Host(IPAddress address, byte protocol = 0, ushort port = 0) => Subnet(address, 32, protocol, port);

    /// <summary>An address range (IPV4_ADDR_RANGE).</summary>
    public static TrafficSelector Range(IPAddress start, IPAddress end, byte protocol = 0) => new(ToUInt32(start), ToUInt32(end), protocol);

    public bool ContainsAddress(uint address) => address >= StartAddress && address <= EndAddress;

    public bool ContainsPort(ushort port) => port >= StartPort && port <= EndPort;

    public bool MatchesProtocol(byte protocol) => Protocol == 0 || Protocol == protocol;

    /// <summary>
    /// Whether one endpoint of a flow falls inside: address, protocol, and port when the selector names one
    /// (a port-less packet such as ICMP matches only an any-port selector).
    /// </summary>
    public bool Matches(uint address, byte protocol, ushort port) =>
        ContainsAddress(address) && MatchesProtocol(protocol) && (IsAnyPort || (HasPorts(protocol) && ContainsPort(port)));

    public bool IsAnyPort => StartPort == 0 && EndPort == ushort.MaxValue;

    private static bool HasPorts(byte protocol) => protocol is InnerPacket.Tcp or InnerPacket.Udp or InnerPacket.Sctp;

    public static uint ToUInt32(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("IPv4 selectors only", nameof(address));
        }
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(b);
    }

    public static string Format(uint address) => $"{address >> 24}.{(address >> 16) & 0xFF}.{(address >> 8) & 0xFF}.{address & 0xFF}";

    public override string ToString() =>
        $"{Format(StartAddress)}-{Format(EndAddress)}/{Protocol}/{(IsAnyPort ? "0" : StartPort == EndPort ? StartPort.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{StartPort}-{EndPort}")}";
}
