using IkeActors.Negotiation;
using IkeActors.Protocol;

namespace IkeActors.Grains;

/// <summary>An installed pair to and from the form it travels between grains in (<see cref="IpsecSaTransfer"/>).</summary>
internal static class IpsecSaTransfers
{
    public static IpsecSaTransfer From(IpsecSa ipsecSa)
    {
        var q = ipsecSa.ToSnapshot();
        var t = q.Transform!;
        return new IpsecSaTransfer
        {
            MessageId = q.MessageId, Role = (int)q.Role, Ni = q.Ni, Nr = q.Nr, CryptoMap = q.CryptoMap, Sequence = q.Sequence,
            LocalFirst = q.Local.First, LocalLast = q.Local.Last, LocalProtocol = q.Local.Protocol, LocalPort = q.Local.Port,
            RemoteFirst = q.Remote.First, RemoteLast = q.Remote.Last, RemoteProtocol = q.Remote.Protocol, RemotePort = q.Remote.Port,
            Cipher = (int)t.Cipher, KeyLengthBits = t.KeyLengthBits, Integrity = (int)t.Integrity, Mode = (int)t.Mode,
            TransformLifetimeSeconds = t.LifetimeSeconds, TransformLifetimeKilobytes = t.LifetimeKilobytes, PfsGroup = (int?)t.PfsGroup,
            LifetimeSeconds = q.LifetimeSeconds, LifetimeKilobytes = q.LifetimeKilobytes,
            InboundSpi = q.InboundSpi, InboundEncryptionKey = q.Inbound!.EncryptionKey, InboundIntegrityKey = q.Inbound.IntegrityKey,
            OutboundSpi = q.OutboundSpi, OutboundEncryptionKey = q.Outbound!.EncryptionKey, OutboundIntegrityKey = q.Outbound.IntegrityKey,
            RekeyOf = q.RekeyOf, RekeyedBy = q.RekeyedBy, KilobytesUsed = q.KilobytesUsed, KilobyteSoftLimitReached = q.KilobyteSoftLimitReached,
            OutboundSequenceHighWater = q.OutboundSequenceHighWater,
        };
    }

    /// <summary>The pair for <paramref name="owner"/>, checked as a restored snapshot is (throws <see cref="IkeSaSnapshotException"/>).</summary>
    public static IpsecSa ToIpsecSa(IpsecSaTransfer p, IkeSa owner) => IpsecSa.FromSnapshot(owner, new QuickModeSnapshot
    {
        MessageId = p.MessageId, Role = (IkeRole)p.Role, State = QuickModeState.QM_ACTIVE, Ni = p.Ni, Nr = p.Nr,
        CryptoMap = p.CryptoMap, Sequence = p.Sequence,
        Local = new ProxyIdSnapshot { First = p.LocalFirst, Last = p.LocalLast, Protocol = p.LocalProtocol, Port = p.LocalPort },
        Remote = new ProxyIdSnapshot { First = p.RemoteFirst, Last = p.RemoteLast, Protocol = p.RemoteProtocol, Port = p.RemotePort },
        Transform = new IpsecTransformSnapshot
        {
            Cipher = (EspTransformId)p.Cipher, KeyLengthBits = p.KeyLengthBits, Integrity = (IpsecAuthAlgorithm)p.Integrity,
            Mode = (EncapsulationMode)p.Mode, LifetimeSeconds = p.TransformLifetimeSeconds, LifetimeKilobytes = p.TransformLifetimeKilobytes,
            PfsGroup = (OakleyGroup?)p.PfsGroup,
        },
        LifetimeSeconds = p.LifetimeSeconds, LifetimeKilobytes = p.LifetimeKilobytes,
        InboundSpi = p.InboundSpi, OutboundSpi = p.OutboundSpi,
        Inbound = new IpsecSaKeySnapshot { Spi = p.InboundSpi, EncryptionKey = p.InboundEncryptionKey, IntegrityKey = p.InboundIntegrityKey },
        Outbound = new IpsecSaKeySnapshot { Spi = p.OutboundSpi, EncryptionKey = p.OutboundEncryptionKey, IntegrityKey = p.OutboundIntegrityKey },
        RekeyOf = p.RekeyOf, RekeyedBy = p.RekeyedBy, KilobytesUsed = p.KilobytesUsed, KilobyteSoftLimitReached = p.KilobyteSoftLimitReached,
        OutboundSequenceHighWater = p.OutboundSequenceHighWater,
    });
}
