using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IkeActors.Esp;

namespace IkeActors.Benchmarks;

/// <summary>
/// The data plane's offload paths without the system calls (--filter '*Offload*'): cutting a 64 KB TCP super-packet from
/// the TUN device into 47 segments of 1386 bytes (TcpSegmenter), merging them back for the TUN device (TunCoalescer),
/// the same for UDP (a super-packet of 64 datagrams of 64 bytes cut by UdpSegmenter, 64 such datagrams merged), and
/// fragmenting a 3,000-byte packet for a 1438-byte tunnel (PathMtu). Per call; divide by the segments for a packet.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class OffloadBenchmarks
{
    private const int Mss = 1386, Payload = 47 * Mss;
    private byte[] _super = null!, _scratch = null!, _big = null!;
    private byte[][] _segments = null!, _datagrams = null!;
    private byte[] _udpSuper = null!;
    private const int SmallDatagram = 64, Datagrams = 64;
    private readonly TunCoalescer _coalescer = new();
    private readonly NullDevice _device = new();
    private int _sink;

    private sealed class NullDevice : IVirtioPacketDevice
    {
        public int Bytes;
        public bool VirtioHeader => true;
        public bool UdpSegmentation => true;
        public void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet) => Bytes += packet.Length;
        public void Write(ReadOnlySpan<byte> packet) => Bytes += packet.Length;
        public int Read(Span<byte> buffer, int timeoutMilliseconds) => 0;
        public void Dispose() { }
    }

    [GlobalSetup]
    public void Setup()
    {
        _super = new byte[52 + Payload];
        _super[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(_super.AsSpan(2), (ushort)_super.Length);
        _super[6] = 0x40;
        _super[8] = 64;
        _super[9] = 6;
        new byte[] { 192, 168, 1, 1, 192, 168, 2, 1 }.CopyTo(_super, 12);
        _super[32] = 8 << 4;
        _super[33] = 0x10;
        new Random(1).NextBytes(_super.AsSpan(52));
        _scratch = new byte[65535];
        var list = new List<byte[]>();
        TcpSegmenter.TrySegment(_super, Mss, _scratch, list, static (s, l) => l.Add(s.ToArray()), out _);
        _segments = [.. list];
        // A UDP super-packet as a UDP_SEGMENT send reaches the device (DF set), and the datagrams it is cut into.
        _udpSuper = new byte[28 + Datagrams * SmallDatagram];
        _udpSuper[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(_udpSuper.AsSpan(2), (ushort)_udpSuper.Length);
        _udpSuper[6] = 0x40;
        _udpSuper[8] = 64;
        _udpSuper[9] = 17;
        new byte[] { 192, 168, 1, 1, 192, 168, 2, 1, 0x1b, 0x58, 0x14, 0x51 }.CopyTo(_udpSuper, 12);
        BinaryPrimitives.WriteUInt16BigEndian(_udpSuper.AsSpan(24), (ushort)(_udpSuper.Length - 20));
        new Random(2).NextBytes(_udpSuper.AsSpan(28));
        var datagrams = new List<byte[]>();
        UdpSegmenter.TrySegment(_udpSuper, SmallDatagram, _scratch, datagrams, static (s, l) => l.Add(s.ToArray()), out _);
        _datagrams = [.. datagrams];
        _big = new byte[3000];
        _big[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(_big.AsSpan(2), 3000);
        _big[9] = 17;
    }

    [Benchmark(Description = "TcpSegmenter: 64 KB super-packet -> 47 segments with checksums")]
    public int Segment()
    {
        TcpSegmenter.TrySegment(_super, Mss, _scratch, this, static (s, b) => b._sink += s.Length, out var n);
        return n;
    }

    [Benchmark(Description = "TunCoalescer: 47 segments -> 1 super-packet")]
    public int Coalesce()
    {
        foreach (var s in _segments) _coalescer.Add(s, _device);
        _coalescer.Flush(_device);
        return _device.Bytes;
    }

    [Benchmark(Description = "UdpSegmenter: 64 x 64-byte super-packet -> 64 datagrams with checksums")]
    public int SegmentUdp()
    {
        UdpSegmenter.TrySegment(_udpSuper, SmallDatagram, _scratch, this, static (s, b) => b._sink += s.Length, out var n);
        return n;
    }

    [Benchmark(Description = "TunCoalescer: 64 UDP datagrams of 64 bytes -> 1 super-packet")]
    public int CoalesceUdp()
    {
        foreach (var d in _datagrams) _coalescer.Add(d, _device);
        _coalescer.Flush(_device);
        return _device.Bytes;
    }

    [Benchmark(Description = "PathMtu: 3,000-byte packet -> 3 fragments of at most 1438")]
    public int Fragment()
    {
        PathMtu.TryFragment(_big, 1438, _scratch, this, static (f, b) => b._sink += f.Length, out var n);
        return n;
    }
}
