using System.Buffers.Binary;
using System.Security.Cryptography;
using IkeActors.Crypto;
using IkeActors.Protocol;

using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>SPIs, nonces and KEYMAT (RFC 2409 §5.5).</summary>
public sealed partial class QuickModeExchange
{
    /// <summary>KEYMAT for both directions (RFC 2409 §5.5), kept in <see cref="_pair"/> for <see cref="Complete"/>.</summary>
    private bool Install(NegotiationOutput output)
    {
        AsaDebug.LoadingAllIpsecSas(output, Context);
        AsaDebug.GeneratingQuickModeKey(output, Context);
        SecretBuffer? pfsSecret = null;
        if (_pfs is not null && _pfs.ComputeSharedSecret(_peerPfsPublic, out pfsSecret) != DhStatus.Ok)
        {
            FailExchange(FailureReason.InvalidKeyExchange, "invalid PFS public value", output, notify: NotifyMessageType.InvalidKeyInformation);
            return false;
        }
        using (pfsSecret) _pair = PairFrom(pfsSecret is null ? ReadOnlySpan<byte>.Empty : pfsSecret.ReadOnlySpan);
        var match = Match!;
        AsaDebug.NpEncryptRuleLookup(output, Context, match.Map.Name, match.Entry.Sequence, match.AccessList.Name);
        if (Role == IkeRole.Initiator)
            AsaDebug.SecurityNegotiationCompleteL2LInitiator(output, Context, _sa.TunnelGroup ?? "", InboundSpi, OutboundSpi);
        else
            AsaDebug.SecurityNegotiationCompleteL2LResponder(output, Context, _sa.TunnelGroup ?? "", InboundSpi, OutboundSpi);
        return true;
    }

    /// <summary>KEYMAT = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b), split into the cipher key and the HMAC key.</summary>
    private IpsecSaPair PairFrom(ReadOnlySpan<byte> pfsSecret)
    {
        var transform = Transform!;
        var length = transform.EncryptionKeyBytes + transform.IntegrityKeyBytes;
        var inbound = new byte[length];
        var outbound = new byte[length];
        IkeHashes.Keymat(HashAlgorithm, _sa.Keys!.SkeyidD, pfsSecret, (byte)ProtocolId.IpsecEsp, SpiBytes(InboundSpi), _ni, _nr, inbound);
        IkeHashes.Keymat(HashAlgorithm, _sa.Keys!.SkeyidD, pfsSecret, (byte)ProtocolId.IpsecEsp, SpiBytes(OutboundSpi), _ni, _nr, outbound);
        var e = transform.EncryptionKeyBytes;
        var match = Match!;
        var pair = new IpsecSaPair(
            new IpsecSaKeys(InboundSpi, inbound[..e], inbound[e..]),
            new IpsecSaKeys(OutboundSpi, outbound[..e], outbound[e..]),
            transform, Local, Remote, _sa.Peer, match.Map.Name, match.Entry.Sequence, match.AccessList.Name,
            LifetimeSeconds, LifetimeKilobytes, MessageId, Role, transform.IsUdpEncapsulated ? _sa.Destination : null);
        CryptographicOperations.ZeroMemory(inbound);
        CryptographicOperations.ZeroMemory(outbound);
        return pair;
    }

    private uint NewSpi()
    {
        Span<byte> b = stackalloc byte[4];
        uint spi;
        do
        {
            _sa.Gateway.Environment.Fill(b);
            spi = BinaryPrimitives.ReadUInt32BigEndian(b);
        } while (spi < 256); // RFC 4303 §2.1: SPIs 1-255 are reserved, 0 is not an SPI
        return spi;
    }

    private byte[] Nonce()
    {
        var n = new byte[20];
        _sa.Gateway.Environment.Fill(n);
        return n;
    }
}
