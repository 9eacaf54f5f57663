using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace IkeActors.Gateway.Tests.Flood;

/// <summary>
/// A flood generator of our own, for a responder on loopback: valid Main Mode MM1s with fresh initiator cookies
/// (the seed initiator's real MM1, cookie rewritten) and malformed datagrams of every kind we could think of, from
/// one address or many of 127.0.0.0/8, at a target rate. Bounded in count and time; sends only to loopback.
/// </summary>
internal sealed class Mm1Flood : IDisposable
{
    private readonly IPEndPoint _target;
    private readonly UdpClient[] _sources;
    private readonly byte[] _mm1;
    private long _sent;

    /// <param name="sources">Source addresses (each in 127.0.0.0/8); one socket each, on a port the kernel picks.</param>
    public Mm1Flood(IPEndPoint target, byte[] validMm1, IEnumerable<IPAddress> sources)
    {
        if (!IPAddress.IsLoopback(target.Address)) throw new ArgumentException("floods go to loopback only", nameof(target));
        _target = target;
        _mm1 = validMm1;
        _sources = sources.Select(a =>
        {
            if (!IPAddress.IsLoopback(a)) throw new ArgumentException($"{a} is not in 127.0.0.0/8", nameof(sources));
            var c = new UdpClient(new IPEndPoint(a, 0));
            c.Client.ReceiveBufferSize = 4096; // the responder's answers (MM2) are not read: let the kernel drop them
            return c;
        }).ToArray();
    }

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Sources 127.A.B.1.. with <paramref name="count"/> addresses (A, B as given).</summary>
    public static IEnumerable<IPAddress> Addresses(int count, byte a = 1, byte b = 0) =>
        Enumerable.Range(0, count).Select(i => new IPAddress([127, a, (byte)(b + i / 250), (byte)(1 + i % 250)]));

    /// <summary>
    /// Sends <paramref name="count"/> datagrams round-robin over the sources at about <paramref name="perSecond"/>
    /// (0: as fast as the socket takes them); one in <paramref name="malformedEvery"/> is malformed (0: none).
    /// Calls <paramref name="at"/> after every <paramref name="every"/> datagrams. Stops at <paramref name="deadline"/>.
    /// </summary>
    public void Send(int count, int perSecond, int malformedEvery, TimeSpan deadline, CancellationToken ct = default,
        int every = 0, Action<long>? at = null)
    {
        var clock = Stopwatch.StartNew();
        var rng = new Random(42);
        for (var i = 0; i < count && !ct.IsCancellationRequested && clock.Elapsed < deadline; i++)
        {
            if (perSecond > 0)
            {
                var due = TimeSpan.FromSeconds((double)i / perSecond);
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(2)) Thread.Sleep(wait);
            }
            var datagram = malformedEvery > 0 && i % malformedEvery == malformedEvery - 1 ? Malformed(i / malformedEvery, rng) : FreshMm1();
            try { _sources[i % _sources.Length].Send(datagram, _target); }
            catch (SocketException) { } // ECONNREFUSED from an earlier ICMP: keep flooding
            var sent = Interlocked.Increment(ref _sent);
            if (every > 0 && sent % every == 0) at?.Invoke(sent);
        }
    }

    /// <summary>The valid MM1 with a fresh, random initiator cookie (RFC 2408 §3.1: responder cookie zero).</summary>
    public byte[] FreshMm1()
    {
        var copy = _mm1.ToArray();
        RandomNumberGenerator.Fill(copy.AsSpan(0, 8));
        return copy;
    }

    /// <summary>The kinds of malformed datagram, in turn (kind = n mod count).</summary>
    public static readonly string[] Kinds =
    [
        "empty", "truncated header", "header length beyond datagram", "header length below 28", "IKEv2 version",
        "Aggressive Mode with zero responder cookie", "Informational with zero responder cookie", "unknown cookies (MM3-like)",
        "encrypted flag on MM1", "unknown next payload", "payload length beyond message", "payload length zero",
        "MM1 cut inside a payload", "random bytes", "jumbo datagram", "zero initiator cookie", "one 0xFF octet",
        "SA payload with absurd proposal count", "message ID non-zero on Main Mode",
    ];

    public byte[] Malformed(int n, Random rng)
    {
        var m = FreshMm1();
        switch (n % Kinds.Length)
        {
            case 0: return [];
            case 1: return m[..(1 + rng.Next(27))];
            case 2: BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(24), (uint)m.Length + 500); return m;
            case 3: BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(24), 20); return m;
            case 4: m[17] = 0x20; return m;
            case 5: m[18] = 4; return m;
            case 6: m[18] = 5; return m;
            case 7: RandomNumberGenerator.Fill(m.AsSpan(8, 8)); return m;
            case 8: m[19] |= 0x01; return m;
            case 9: m[16] = 99; return m;
            case 10: BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(30), 0xFFFF); return m;
            case 11: BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(30), 0); return m;
            case 12: { var cut = m[..Math.Max(29, m.Length / 2)]; BinaryPrimitives.WriteUInt32BigEndian(cut.AsSpan(24), (uint)cut.Length); return cut; }
            case 13: { var r = new byte[28 + rng.Next(1400)]; rng.NextBytes(r); return r; }
            case 14: { var j = new byte[9000]; m.CopyTo(j, 0); BinaryPrimitives.WriteUInt32BigEndian(j.AsSpan(24), 9000); return j; }
            case 15: m.AsSpan(0, 8).Clear(); return m;
            case 16: return [0xFF];
            case 17: if (m.Length > 40) { m[37] = 0xFF; } return m;
            default: BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(20), (uint)rng.Next(1, int.MaxValue)); return m;
        }
    }

    public void Dispose()
    {
        foreach (var s in _sources) s.Dispose();
    }
}
