using System.Buffers.Binary;
using System.Security.Cryptography;
using IkeActors.Crypto;
using IkeActors.Protocol;
using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>SPIs, nonces and KEYMAT (RFC 2409 §5.5) for the Quick Modes of one IKE SA.</summary>
internal sealed class QuickModeKeys(IkeSa sa)
{
    /// <summary>
    /// KEYMAT = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) for each direction, split into
    /// the cipher key and the HMAC key.
    /// </summary>
    public IpsecSaPair Pair(QuickModeExchange qm, ReadOnlySpan<byte> pfsSecret, byte[] ni, byte[] nr)
    {
        var transform = qm.Transform!;
        var hash = sa.Transform!.CryptoHash;
        var length = transform.EncryptionKeyBytes + transform.IntegrityKeyBytes;
        var inbound = new byte[length];
        var outbound = new byte[length];
        IkeHashes.Keymat(hash, sa.Keys!.SkeyidD, pfsSecret, (byte)ProtocolId.IpsecEsp, SpiBytes(qm.InboundSpi), ni, nr, inbound);
        IkeHashes.Keymat(hash, sa.Keys!.SkeyidD, pfsSecret, (byte)ProtocolId.IpsecEsp, SpiBytes(qm.OutboundSpi), ni, nr, outbound);
        var e = transform.EncryptionKeyBytes;
        var match = qm.Match!;
        var pair = new IpsecSaPair(
            new IpsecSaKeys(qm.InboundSpi, inbound[..e], inbound[e..]),
            new IpsecSaKeys(qm.OutboundSpi, outbound[..e], outbound[e..]),
            transform, qm.Local, qm.Remote, sa.Peer, match.Tag, match.Entry.Sequence, match.AccessList?.Name ?? "",
            qm.LifetimeSeconds, qm.LifetimeKilobytes, qm.MessageId, qm.Role, transform.IsUdpEncapsulated ? sa.Destination : null);
        CryptographicOperations.ZeroMemory(inbound);
        CryptographicOperations.ZeroMemory(outbound);
        return pair;
    }

    public uint NewSpi()
    {
        Span<byte> b = stackalloc byte[4];
        uint spi;
        do
        {
            sa.Gateway.Environment.Fill(b);
            spi = BinaryPrimitives.ReadUInt32BigEndian(b);
        } while (spi < 256); // RFC 4303 §2.1: SPIs 1-255 are reserved, 0 is not an SPI
        return spi;
    }

    public byte[] Nonce()
    {
        var n = new byte[20];
        sa.Gateway.Environment.Fill(n);
        return n;
    }
}
