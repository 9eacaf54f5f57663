using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using IkeActors.Esp;

namespace IkeActors.Benchmarks;

/// <summary>
/// The data plane's outbound path per packet on one thread, with the sends of the no-op kind (--filter '*EspOrderedSend*'):
/// one inside packet (SPD lookup, encapsulation, send) and one 64 KB TCP super-packet from a TUN device with offloads
/// (cut into 47 segments, encapsulated into one batch, one batched send; reported per segment). With several pumps an
/// SA's packets take their numbers, are encrypted and sent under the SA's lock (EspSa.SendOrder): what that costs
/// uncontended. Only public API the data plane had before it too, so compare-revisions.sh can run it on both.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class EspOrderedSendBenchmarks
{
    private const int Mss = 1386, Segments = 47;
    private EspSaDatabase _sad = null!, _virtioSad = null!;
    private EspDataPlane _plane = null!, _virtioPlane = null!;
    private byte[] _small = null!, _large = null!, _read = null!, _super = null!;
    private long _sent;

    [GlobalSetup]
    public void Setup()
    {
        _sad = Sad();
        _plane = new EspDataPlane(_sad, new NullDevice(false)) { RawSend = (p, _) => _sent += p.Length };
        _virtioSad = Sad();
        _virtioPlane = new EspDataPlane(_virtioSad, new NullDevice(true))
        {
            RawSend = (p, _) => _sent += p.Length,
            RawSendBatch = (p, _, _) => _sent += p.Length,
        };
        _small = Packet(64);
        _large = Packet(1400);
        _super = Packet(Segments * Mss + 52);
        _super[9] = 6;
        _super[32] = 8 << 4; // TCP, 32-byte header
        _super[33] = 0x10;
        _read = new byte[VirtioNetHeader.Size + _super.Length];
    }

    private static EspSaDatabase Sad()
    {
        var ek = RandomNumberGenerator.GetBytes(16);
        var ak = RandomNumberGenerator.GetBytes(20);
        var sad = new EspSaDatabase();
        sad.Add(new EspSaPair(new EspSa(0x2001, EspDirection.Inbound, EspCipher.Aes128Cbc, ek, EspIntegrity.HmacSha1_96, ak),
            new EspSa(0x2002, EspDirection.Outbound, EspCipher.Aes128Cbc, ek, EspIntegrity.HmacSha1_96, ak),
            TrafficSelector.Subnet(IPAddress.Parse("192.168.1.0"), 24), TrafficSelector.Subnet(IPAddress.Parse("192.168.2.0"), 24),
            new IPEndPoint(IPAddress.Parse("10.0.0.2"), 0), udpEncapsulated: false));
        return sad;
    }

    private static byte[] Packet(int length)
    {
        var p = new byte[length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)length);
        p[9] = 17;
        new byte[] { 192, 168, 1, 1, 192, 168, 2, 1 }.CopyTo(p, 12);
        return p;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plane.Dispose();
        _virtioPlane.Dispose();
        _sad.Dispose();
        _virtioSad.Dispose();
    }

    [Benchmark(Description = "outbound 64 B (SPD, encapsulate, send)")]
    public EspOutboundResult Outbound64() => _plane.ProcessOutbound(_small);

    [Benchmark(Description = "outbound 1400 B (SPD, encapsulate, send)")]
    public EspOutboundResult Outbound1400() => _plane.ProcessOutbound(_large);

    [Benchmark(Description = "super-packet 47 x 1386 B: segment, encapsulate, one batched send (per segment)", OperationsPerInvoke = Segments)]
    public void SuperPacket()
    {
        // A fresh copy each time: the segmenter completes checksums in the read buffer.
        _read.AsSpan(0, VirtioNetHeader.Size).Clear();
        _read[1] = VirtioNetHeader.GsoTcpV4;
        BinaryPrimitives.WriteUInt16LittleEndian(_read.AsSpan(2), 52);
        BinaryPrimitives.WriteUInt16LittleEndian(_read.AsSpan(4), Mss);
        _super.CopyTo(_read, VirtioNetHeader.Size);
        _virtioPlane.ProcessFromTun(_read);
    }

    private sealed class NullDevice(bool virtio) : IVirtioPacketDevice
    {
        public bool VirtioHeader => virtio;
        public void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet) { }
        public void Write(ReadOnlySpan<byte> packet) { }
        public int Read(Span<byte> buffer, int timeoutMilliseconds) => 0;
        public void Dispose() { }
    }
}
