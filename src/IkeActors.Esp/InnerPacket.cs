using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>The fields of an inner IPv4 packet that SPD and selector checks look at (RFC 4301 §4.4.1.1).</summary>
public readonly record struct FlowKey(uint Source, uint Destination, byte Protocol, ushort SourcePort, ushort DestinationPort)
{
    public override string ToString() =>
        $"{TrafficSelector.Format(Source)}:{SourcePort} -> {TrafficSelector.Format(Destination)}:{DestinationPort} proto {Protocol}";
}

/// <summary>Reads an inner IP packet's addresses, protocol and ports without copying.</summary>
public static class InnerPacket
{
    public const byte Icmp = 1, Tcp = 6, Udp = 17, Sctp = 132;

    /// <summary>
    /// Reads the flow of an IPv4 packet. Ports are those of TCP, UDP and SCTP in the first fragment, else 0
    /// (RFC 4301 §4.4.1.1: OPAQUE for non-initial fragments). False for anything that is not a whole IPv4 header.
    /// </summary>
    public static bool TryReadIPv4Flow(ReadOnlySpan<byte> packet, out FlowKey flow)
    {
        flow = default;
        if (packet.Length < 20 || packet[0] >> 4 != 4)
        {
            return false;
        }
        int headerLength = (packet[0] & 0x0F) * 4;
        if (headerLength < 20 || headerLength > packet.Length)
        {
            return false;
        }
        byte protocol = packet[9];
        uint source = BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);
        uint destination = BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);
        ushort fragmentOffset = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF);
        ushort sourcePort = 0, destinationPort = 0;
        if (fragmentOffset == 0 && protocol is Tcp or Udp or Sctp && packet.Length >= headerLength + 4)
        {
            sourcePort = BinaryPrimitives.ReadUInt16BigEndian(packet[headerLength..]);
            destinationPort = BinaryPrimitives.ReadUInt16BigEndian(packet[(headerLength + 2)..]);
        }
        flow = new FlowKey(source, destination, protocol, sourcePort, destinationPort);
        return true;
    }
}
