using System.Net;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IkeActors.Esp;

namespace IkeActors.Benchmarks;

/// <summary>ESP tunnel-mode encapsulation and decapsulation per packet (RFC 4303). --filter '*Esp*'</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class EspBenchmarks
{
    public enum Suite { Aes128Sha1, Aes256Sha256, TripleDesSha1, Aes128Gcm, Aes256Gcm }

    [Params(Suite.Aes128Sha1, Suite.Aes256Sha256, Suite.TripleDesSha1, Suite.Aes128Gcm, Suite.Aes256Gcm)]
    public Suite Transform;

    /// <summary>Inner IPv4 packet length.</summary>
    [Params(64, 1400)]
    public int PacketLength;

    private const int Ring = 4096;
    private EspSa _outbound = null!, _inbound = null!;
    private EspSaDatabase _sad = null!;
    private EspDataPlane _plane = null!;
    private byte[] _inner = null!, _out = null!, _scratch = null!;
    private byte[][] _received = null!, _toPlane = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var (cipher, integrity) = Transform switch
        {
            Suite.Aes128Sha1 => (EspCipher.Aes128Cbc, EspIntegrity.HmacSha1_96),
            Suite.Aes256Sha256 => (EspCipher.Aes256Cbc, EspIntegrity.HmacSha256_128),
            Suite.Aes128Gcm => (EspCipher.Aes128Gcm16, EspIntegrity.None), // RFC 4106
            Suite.Aes256Gcm => (EspCipher.Aes256Gcm16, EspIntegrity.None),
            _ => (EspCipher.TripleDesCbc, EspIntegrity.HmacSha1_96),
        };
        var ek = RandomNumberGenerator.GetBytes(cipher.KeySize());
        var ak = RandomNumberGenerator.GetBytes(integrity.KeySize());
        _outbound = new EspSa(0x1001, EspDirection.Outbound, cipher, ek, integrity, ak);
        _inbound = new EspSa(0x1001, EspDirection.Inbound, cipher, ek, integrity, ak);
        _inner = new byte[PacketLength];
        _inner[0] = 0x45;
        _inner[9] = 17;
        new byte[] { 192, 168, 1, 1, 192, 168, 2, 1 }.CopyTo(_inner, 12);
        _out = new byte[_outbound.MaxPacketSize(PacketLength)];
        _scratch = new byte[_out.Length];

        // Packets with sequence numbers 1..Ring from a sender with the same keys.
        using var sender = new EspSa(0x1001, EspDirection.Outbound, cipher, ek, integrity, ak);
        _received = new byte[Ring][];
        for (int i = 0; i < Ring; i++)
        {
            var p = new byte[_out.Length];
            _received[i] = p[..sender.Encapsulate(_inner, p)];
        }

        // The whole outbound path: SPD lookup, encapsulation into a pooled buffer, send (a no-op here).
        _sad = new EspSaDatabase();
        _sad.Add(new EspSaPair(new EspSa(0x2001, EspDirection.Inbound, cipher, ek, integrity, ak), new EspSa(0x2002, EspDirection.Outbound, cipher, ek, integrity, ak),
            TrafficSelector.Subnet(IPAddress.Parse("192.168.1.0"), 24), TrafficSelector.Subnet(IPAddress.Parse("192.168.2.0"), 24),
            new IPEndPoint(IPAddress.Parse("10.0.0.2"), 0), udpEncapsulated: false));
        _plane = new EspDataPlane(_sad, new NullDevice()) { RawSend = static (_, _) => { } };
        using var peer = new EspSa(0x2001, EspDirection.Outbound, cipher, ek, integrity, ak);
        var reply = (byte[])_inner.Clone();
        new byte[] { 192, 168, 2, 1, 192, 168, 1, 1 }.CopyTo(reply, 12); // from the remote subnet to ours
        _toPlane = new byte[Ring][];
        for (int i = 0; i < Ring; i++)
        {
            var p = new byte[_out.Length];
            _toPlane[i] = p[..peer.Encapsulate(reply, p)];
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plane.Dispose();
        _sad.Dispose();
        _outbound.Dispose();
        _inbound.Dispose();
    }

    [Benchmark(Description = "encapsulate (pad, random IV, CBC, HMAC)")]
    public int Encapsulate() => _outbound.Encapsulate(_inner, _out);

    [Benchmark(Description = "decapsulate (replay check, HMAC verify, CBC, trailer checks)")]
    public EspDecapStatus Decapsulate()
    {
        if (_next == Ring)
        {
            _next = 0;
            _inbound.ReplayWindow.Reset(); // reuse the ring: outside the measured path 4095 times out of 4096
        }
        var p = _received[_next++];
        p.CopyTo(_scratch); // decryption is in place, as on a receive buffer
        return _inbound.TryDecapsulate(_scratch.AsSpan(0, p.Length), out _, out _);
    }

    [Benchmark(Description = "data plane outbound (SPD lookup + encapsulate + send)")]
    public EspOutboundResult DataPlaneOutbound() => _plane.ProcessOutbound(_inner);

    [Benchmark(Description = "data plane inbound (SPI lookup + decapsulate + selector check + TUN write)")]
    public EspInboundResult DataPlaneInbound()
    {
        if (_next == Ring)
        {
            _next = 0;
            _sad.Pairs[0].Inbound.ReplayWindow.Reset();
        }
        var p = _toPlane[_next++];
        p.CopyTo(_scratch);
        return _plane.OnUdpEsp(_scratch.AsSpan(0, p.Length), null);
    }

    private sealed class NullDevice : IPacketDevice
    {
        public int Read(Span<byte> buffer, int timeoutMilliseconds) => 0;
        public void Write(ReadOnlySpan<byte> packet) { }
        public void Dispose() { }
    }
}
