using CsCheck;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>RFC 4303 §3.4.3 anti-replay, against a model that simply remembers everything it accepted.</summary>
public class ReplayWindowTests
{
    /// <summary>The obvious definition: accept a number never seen before that is not 64 or more below the highest seen.</summary>
    private sealed class Model
    {
        private readonly HashSet<uint> _seen = [];
        public uint Max { get; private set; }

        public bool Accept(uint seq)
        {
            if (seq == 0 || _seen.Contains(seq) || (Max >= seq && Max - seq >= 64)) return false;
            _seen.Add(seq);
            Max = Math.Max(Max, seq);
            return true;
        }

        public ulong Bitmap()
        {
            ulong b = 0;
            for (int i = 0; i < 64 && i < Max; i++) if (_seen.Contains(Max - (uint)i)) b |= 1UL << i;
            return b;
        }
    }

    [Fact]
    public void Window_agrees_with_the_model_on_random_arrivals()
    {
        Gen.UInt[1, 400].Array[0, 300].Sample(arrivals =>
        {
            var window = new ReplayWindow();
            var model = new Model();
            foreach (var seq in arrivals)
            {
                bool ok = window.Check(seq) == ReplayCheck.Ok;
                Assert.Equal(model.Accept(seq), ok);
                if (ok) window.Update(seq);
            }
            Assert.Equal(model.Max, window.Top);
            Assert.Equal(model.Bitmap(), window.Bitmap);
        }, iter: 2000);
    }

    [Fact]
    public void Window_agrees_with_the_model_through_real_packets()
    {
        // Near-in-order arrivals with jitter, duplicates and stragglers, as a real path delivers them.
        var gen = Gen.Int[-70, 3].Array[1, 150];
        gen.Sample(steps =>
        {
            using var outbound = Make.Sa(0x1000, EspDirection.Outbound);
            using var inbound = Make.Sa(0x1000, EspDirection.Inbound);
            var sent = new List<byte[]>();
            var model = new Model();
            int accepted = 0, replayed = 0;
            foreach (var step in steps)
            {
                byte[] packet;
                if (step >= 0 || sent.Count == 0)
                {
                    var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", (ushort)sent.Count);
                    packet = new byte[outbound.MaxPacketSize(inner.Length)];
                    Array.Resize(ref packet, outbound.Encapsulate(inner, packet));
                    sent.Add(packet);
                }
                else
                {
                    packet = sent[Math.Max(0, sent.Count + step)]; // an old packet again
                }
                uint seq = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(4));
                bool expected = model.Accept(seq);
                var status = inbound.TryDecapsulate((byte[])packet.Clone(), out _, out _);
                Assert.Equal(expected ? EspDecapStatus.Ok : EspDecapStatus.Replay, status);
                if (expected) accepted++; else replayed++;
            }
            var c = inbound.Counters.Snapshot();
            Assert.Equal((accepted, accepted, replayed, replayed), (c.Decaps, c.Verify, c.ReplayFailed, c.RecvErrors));
            Assert.Equal(model.Bitmap(), inbound.ReplayWindow.Bitmap);
        }, iter: 200);
    }

    [Fact]
    public void Named_cases()
    {
        var w = new ReplayWindow();
        Assert.Equal(ReplayCheck.TooOld, w.Check(0)); // never sent (RFC 4303 §3.3.3: the first packet is 1)
        foreach (uint s in new uint[] { 1, 2, 3, 4 }) w.Update(s);
        Assert.Equal((0u, 0xFu), w.BitmapWords); // the ASA's "0x00000000 0x0000000F" after four packets
        Assert.Equal(ReplayCheck.Duplicate, w.Check(3));
        w.Update(100);
        Assert.Equal(ReplayCheck.TooOld, w.Check(36));   // 100 - 36 = 64: just outside
        Assert.Equal(ReplayCheck.Ok, w.Check(37));       // 100 - 37 = 63: last slot, reordered within the window
        w.Update(37);
        Assert.Equal(ReplayCheck.Duplicate, w.Check(37));
        Assert.Equal((0x80000000u, 1u), w.BitmapWords);
        w.Update(100 + 64);                              // a jump of a whole window clears the bitmap
        Assert.Equal(1UL, w.Bitmap);
        Assert.Equal(ReplayCheck.Ok, w.Check(uint.MaxValue));
    }
}
