namespace IkeActors.Esp.Tests.Support;

/// <summary>A TUN device with offloads in memory: records each write with its virtio-net header; UDP segmentation as told.</summary>
internal sealed class VirtioRecorder(bool udpSegmentation = false) : IVirtioPacketDevice
{
    public List<(VirtioNetHeader Header, byte[] Packet)> Written { get; } = [];
    public bool VirtioHeader => true;
    public bool UdpSegmentation => udpSegmentation;
    public void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet) => Written.Add((header, packet.ToArray()));
    public void Write(ReadOnlySpan<byte> packet) => Written.Add((default, packet.ToArray()));
    public int Read(Span<byte> buffer, int timeoutMilliseconds) => 0;
    public void Dispose() { }
}

/// <summary>
/// Two data planes with one SA pair between them (192.168.2.0/24 behind the left, 192.168.1.0/24 behind the right; ESP
/// in UDP or raw): what the left sends is kept in <see cref="Esp"/>, and the right writes to <paramref name="rightDevice"/>.
/// </summary>
internal sealed class PlanePair : IDisposable
{
    private readonly EspSaDatabase _leftSad = new(), _rightSad = new();

    public PlanePair(bool udp, IPacketDevice rightDevice)
    {
        Left = new EspDataPlane(_leftSad, new FakeDevice());
        Right = new EspDataPlane(_rightSad, rightDevice);
        var leftNet = TrafficSelector.Subnet(System.Net.IPAddress.Parse("192.168.2.0"), 24);
        var rightNet = TrafficSelector.Subnet(System.Net.IPAddress.Parse("192.168.1.0"), 24);
        _leftSad.Add(new EspSaPair(Make.Sa(1, EspDirection.Inbound), Make.Sa(2, EspDirection.Outbound), leftNet, rightNet,
            new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.0.0.2"), 4500), udp));
        _rightSad.Add(new EspSaPair(Make.Sa(2, EspDirection.Inbound), Make.Sa(1, EspDirection.Outbound), rightNet, leftNet,
            new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.0.0.1"), 4500), udp));
        Left.UdpSend = Left.RawSend = (p, _) => Esp.Add(p.ToArray());
    }

    public EspDataPlane Left { get; }
    public EspDataPlane Right { get; }
    public List<byte[]> Esp { get; } = [];

    /// <summary>Each ESP packet the left sent, received by the right in one batch (UDP 4500's, or a raw receiver's with <paramref name="coalescer"/>).</summary>
    public void DeliverAll(bool udp, TunCoalescer coalescer)
    {
        var from = new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.0.0.1"), 4500);
        foreach (var e in Esp)
            Assert.Equal(EspInboundResult.Delivered, udp ? Right.OnUdpEspInBatch(e, from) : Right.OnRawEsp([0x45, .. new byte[8], 50, .. new byte[10], .. e], coalescer));
    }

    /// <summary>Ends the receive batch: the merged packets reach the device.</summary>
    public void EndBatch(bool udp, TunCoalescer coalescer, IVirtioPacketDevice device)
    {
        if (udp) Right.EndUdpBatch();
        else coalescer.Flush(device);
    }

    public void Dispose()
    {
        Left.Dispose();
        Right.Dispose();
        _leftSad.Dispose();
        _rightSad.Dispose();
    }
}
