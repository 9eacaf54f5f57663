using System.Net;
using IkeActors.Esp;
using IkeActors.Grains;
using IkeActors.Protocol;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The grains' view of this node's ESP data plane (<see cref="IIpsecSaInstaller"/>): an installed IPsec
/// SA pair becomes two <see cref="EspSa"/>s in the node's <see cref="EspSaDatabase"/>, a withdrawn one
/// leaves it (its keys zeroed), and its remote networks are routed into the TUN device while it is here where its
/// crypto map entry says `set reverse-route` (<see cref="ReverseRoutes"/>). Algorithms come as the IPsec DOI numbers
/// Quick Mode agreed on. A Quick Mode responder's inbound SA comes alone at QM2 (<see cref="AddInbound"/>): it
/// receives from then on, and the pair (its outbound SA, the reverse route) follows at QM3.
/// </summary>
public sealed class EspSaInstaller(EspSaDatabase database, FrontEndOptions options, ReverseRoutes reverseRoutes) : IIpsecSaInstaller
{
    public void Add(IpsecSaRecord sa)
    {
        if (Build(sa, options) is not { } pair) return; // a record without data-plane parameters, or algorithms we lack
        database.Add(pair); // completes the inbound SA installed alone at QM2, if there is one
        reverseRoutes.Added(sa);
    }

    public void AddInbound(IpsecSaRecord sa)
    {
        if (BuildInbound(sa, options) is not { } inbound) return;
        if (!database.AddInbound(inbound)) inbound.Dispose(); // there already (announced again after a restore)
    }

    /// <summary>The inbound SA of a record alone (no outbound keys yet); null as for <see cref="Build"/>.</summary>
    public static EspSaPair? BuildInbound(IpsecSaRecord sa, FrontEndOptions options)
    {
        if (sa.Esp is not { } esp || !TryMap(esp, out var cipher, out var integrity)) return null;
        var inbound = new EspSa(sa.InboundSpi, EspDirection.Inbound, cipher, sa.InboundEncryptionKey, integrity, sa.InboundIntegrityKey, LifetimeOf(sa));
        var (local, remote, peer) = Endpoints(esp, options);
        return EspSaPair.InboundOnly(inbound, local, remote, peer, esp.IsUdpEncapsulated);
    }

    /// <summary>The data plane's pair for a negotiated record; null when it has no ESP parameters or algorithms we lack.</summary>
    public static EspSaPair? Build(IpsecSaRecord sa, FrontEndOptions options)
    {
        if (sa.Esp is not { } esp) return null; // a record without data-plane parameters: nothing to carry traffic with
        if (!TryMap(esp, out var cipher, out var integrity)) return null;
        var lifetime = LifetimeOf(sa);
        var inbound = new EspSa(sa.InboundSpi, EspDirection.Inbound, cipher, sa.InboundEncryptionKey, integrity, sa.InboundIntegrityKey, lifetime);
        var outbound = new EspSa(sa.OutboundSpi, EspDirection.Outbound, cipher, sa.OutboundEncryptionKey, integrity, sa.OutboundIntegrityKey, lifetime);
        var (local, remote, peer) = Endpoints(esp, options);
        return new EspSaPair(inbound, outbound, local, remote, peer, esp.IsUdpEncapsulated)
        {
            // We sent QM3 (or are about to: the front-end sends it after this call): the new pair carries
            // nothing for a moment, until the peer has installed it (a rekeyed flow stays on the old pair,
            // packets queued during the negotiation wait).
            OutboundPreferredFromTick = esp.QuickModeInitiator ? Environment.TickCount64 + (long)OutboundSwitchDelay.TotalMilliseconds : 0,
        };
    }

    private static EspLifetime LifetimeOf(IpsecSaRecord sa) => sa.LifetimeKilobytes is { } kb and > 0 ? new EspLifetime(0, kb) : EspLifetime.Unlimited;

    /// <summary>The selectors as seen from here, and where ESP goes: NAT-T (RFC 3948) in UDP to where the peer's NAT-T messages come from, raw ESP to its address.</summary>
    private static (TrafficSelector Local, TrafficSelector Remote, IPEndPoint Peer) Endpoints(EspParameters esp, FrontEndOptions options)
    {
        var peer = esp.UdpEncapsulationAddress is { } natT
            ? options.Real(new IPEndPoint(IPAddress.Parse(natT), esp.UdpEncapsulationPort), natT: true)
            : new IPEndPoint(IPAddress.Parse(esp.PeerAddress), 0);
        return (Selector(esp.LocalFirst, esp.LocalLast, esp.LocalProtocol, esp.LocalPort),
            Selector(esp.RemoteFirst, esp.RemoteLast, esp.RemoteProtocol, esp.RemotePort), peer);
    }

    /// <summary>A pair, or an inbound SA alone that never got its pair: out of the database, keys zeroed; its reverse route goes with it.</summary>
    public void Remove(uint inboundSpi, uint outboundSpi)
    {
        database.Remove(inboundSpi);
        reverseRoutes.Removed(inboundSpi);
    }

    /// <summary>How long a new pair this side initiated waits before it takes outbound traffic (queued, or from an older pair).</summary>
    public static readonly TimeSpan OutboundSwitchDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>RFC 2407 §4.4.4 ESP transform IDs and §4.5 authentication algorithms to the data plane's.</summary>
    public static bool TryMap(EspParameters esp, out EspCipher cipher, out EspIntegrity integrity)
    {
        cipher = (EspTransformId)esp.TransformId switch
        {
            EspTransformId.Aes when esp.KeyLengthBits is 128 or 0 => EspCipher.Aes128Cbc,
            EspTransformId.Aes when esp.KeyLengthBits == 192 => EspCipher.Aes192Cbc,
            EspTransformId.Aes when esp.KeyLengthBits == 256 => EspCipher.Aes256Cbc,
            EspTransformId.TripleDes => EspCipher.TripleDesCbc,
            EspTransformId.Des => EspCipher.DesCbc,
            EspTransformId.Null => EspCipher.Null,
            EspTransformId.AesGcm16 when esp.KeyLengthBits is 128 => EspCipher.Aes128Gcm16,
            EspTransformId.AesGcm16 when esp.KeyLengthBits is 192 => EspCipher.Aes192Gcm16,
            EspTransformId.AesGcm16 when esp.KeyLengthBits is 256 => EspCipher.Aes256Gcm16,
            _ => (EspCipher)(-1),
        };
        integrity = (IpsecAuthAlgorithm)esp.AuthAlgorithm switch
        {
            0 => EspIntegrity.None,
            IpsecAuthAlgorithm.HmacMd5 => EspIntegrity.HmacMd5_96,
            IpsecAuthAlgorithm.HmacSha => EspIntegrity.HmacSha1_96,
            IpsecAuthAlgorithm.HmacSha2_256 => EspIntegrity.HmacSha256_128,
            IpsecAuthAlgorithm.HmacSha2_384 => EspIntegrity.HmacSha384_192,
            IpsecAuthAlgorithm.HmacSha2_512 => EspIntegrity.HmacSha512_256,
            _ => (EspIntegrity)(-1),
        };
        return Enum.IsDefined(cipher) && Enum.IsDefined(integrity);
    }

    /// <summary>A Quick Mode proxy ID as a selector: its range, protocol (0 any) and port (0 any).</summary>
    private static TrafficSelector Selector(uint first, uint last, int protocol, int port) =>
        new(first, last, (byte)protocol, (ushort)port, port == 0 ? ushort.MaxValue : (ushort)port);
}
