using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace IkeActors.Esp;

/// <summary>
/// The Internet checksum (RFC 1071) as the segmenters and the coalescer need it: sums over big-endian 16-bit words that
/// the caller folds, and the IPv4 header fields a cut or merged packet gets anew (RFC 791).
/// </summary>
internal static class InternetChecksum
{
    /// <summary>
    /// The IPv4 header of a packet cut from (or merged into) a super-packet: its total length (the packet's own),
    /// identification and header checksum (RFC 791).
    /// </summary>
    public static void SetIpv4Header(Span<byte> packet, int ihl, ushort id)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], id);
        packet[10] = packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)~Fold(Sum(packet[..ihl], 0)));
    }

    /// <summary>
    /// The data's 16-bit big-endian words (a trailing byte zero-padded) added to <paramref name="initial"/>, folded or not
    /// (the caller folds). On a little-endian machine the words are added in the machine's order, 32 or 8 bytes at a
    /// time, and the folded sum byte-swapped once: the ones' complement sum does not depend on byte order (RFC 1071 §2(B)).
    /// </summary>
    public static ulong Sum(ReadOnlySpan<byte> data, ulong initial)
    {
        if (!BitConverter.IsLittleEndian) return SumBigEndian(data, initial);
        ulong sum = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && data.Length >= 256) // below it, folding the lanes costs more than it saves
        {
            // 32 bytes a step: eight 32-bit words widened into four 64-bit lanes (no lane can overflow below 2^31 steps).
            var lanes = Vector256<ulong>.Zero;
            var blocks = MemoryMarshal.Cast<byte, Vector256<uint>>(data);
            foreach (var block in blocks)
            {
                var (low, high) = Vector256.Widen(block);
                lanes += low + high;
            }
            sum = Fold(lanes.GetElement(0)) + (ulong)Fold(lanes.GetElement(1)) + Fold(lanes.GetElement(2)) + Fold(lanes.GetElement(3));
            i = blocks.Length * 32;
        }
        var words = MemoryMarshal.Cast<byte, ulong>(data[i..]);
        foreach (var w in words) sum += (w & 0xFFFF_FFFF) + (w >> 32); // two 32-bit halves: their 64-bit sum cannot overflow
        i += words.Length * 8;
        if (i + 4 <= data.Length)
        {
            sum += MemoryMarshal.Read<uint>(data[i..]);
            i += 4;
        }
        if (i + 2 <= data.Length)
        {
            sum += MemoryMarshal.Read<ushort>(data[i..]);
            i += 2;
        }
        if (i < data.Length) sum += data[i]; // the low byte of a little-endian word: the high byte once swapped
        return initial + BinaryPrimitives.ReverseEndianness(Fold(sum));
    }

    private static ulong SumBigEndian(ReadOnlySpan<byte> data, ulong initial)
    {
        var sum = initial;
        var i = 0;
        for (; i + 2 <= data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>A sum folded to 16 bits with end-around carry (RFC 1071 §4.1); 2^16 ≡ 1 modulo 2^16 - 1, so 32-bit words add alike.</summary>
    public static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }
}
