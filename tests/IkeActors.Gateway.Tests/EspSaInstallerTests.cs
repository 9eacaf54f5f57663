using System.Net;
using IkeActors.Config;
using IkeActors.Esp;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The node's installer as the IPsec SA grains drive it for a Quick Mode responder: the inbound SA alone at QM2 (it
/// receives, sends nothing), the pair at QM3 completing it (the same inbound SA goes on), or its removal when QM3 never came.
/// </summary>
public class EspSaInstallerTests
{
    private const uint InboundSpi = 0xC0FFEE01, OutboundSpi = 0xC0FFEE02;

    private static IpsecSaRecord Record(bool withOutboundKeys)
    {
        var esp = new EspParameters((int)IkeActors.Protocol.EspTransformId.Aes, 128, (int)IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha,
            "10.0.0.2", "10.0.0.1", null, 0,
            0xC0A80200, 0xC0A802FF, 0, 0, 0xC0A80100, 0xC0A801FF, 0, 0);
        byte[] Key(int n, byte seed) => Enumerable.Range(0, n).Select(i => (byte)(seed + i)).ToArray();
        return new IpsecSaRecord(InboundSpi, OutboundSpi, Key(16, 1), Key(20, 2),
            withOutboundKeys ? Key(16, 3) : [], withOutboundKeys ? Key(20, 4) : [],
            "esp-aes esp-sha-hmac", 3600, null, "192.168.2.0/255.255.255.0/0/0", "192.168.1.0/255.255.255.0/0/0", "10.0.0.1", "MAP", 10)
        { Esp = esp };
    }

    private static EspSaInstaller Installer(EspSaDatabase database)
    {
        var gateway = new GatewayContext(AsaConfigLoader.LoadFile(RepoPaths.SiteToSite("asa2-responder.cfg")).Config, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500));
        return new EspSaInstaller(database, new FrontEndOptions(), new ReverseRoutes(gateway, NullLogger<ReverseRoutes>.Instance));
    }

    [Fact]
    public void The_inbound_SA_alone_receives_then_its_pair_completes_it()
    {
        using var database = new EspSaDatabase();
        IIpsecSaInstaller installer = Installer(database);

        installer.AddInbound(Record(withOutboundKeys: false));
        Assert.True(database.TryGetInbound(InboundSpi, out var alone));
        Assert.True(alone.IsInboundOnly);
        Assert.Empty(database.Pairs); // not a pair: no outbound lookup, no accounting, no `show` counters
        installer.AddInbound(Record(withOutboundKeys: false)); // announced again after a restore: no clash
        Assert.True(database.TryGetInbound(InboundSpi, out var still) && ReferenceEquals(alone, still));

        installer.Add(Record(withOutboundKeys: true));
        Assert.True(database.TryGetInbound(InboundSpi, out var pair));
        Assert.False(pair.IsInboundOnly);
        Assert.Same(alone.Inbound, pair.Inbound);
        Assert.Equal(OutboundSpi, pair.Outbound.Spi);
        Assert.Same(pair, Assert.Single(database.Pairs));

        installer.Remove(InboundSpi, OutboundSpi);
        Assert.False(database.TryGetInbound(InboundSpi, out _));
        Assert.True(alone.Inbound.IsDisposed);
    }

    [Fact]
    public void An_inbound_SA_alone_whose_Quick_Mode_failed_is_removed()
    {
        using var database = new EspSaDatabase();
        IIpsecSaInstaller installer = Installer(database);
        installer.AddInbound(Record(withOutboundKeys: false));
        Assert.True(database.TryGetInbound(InboundSpi, out var alone));

        installer.Remove(InboundSpi, OutboundSpi);
        Assert.False(database.TryGetInbound(InboundSpi, out _));
        Assert.True(alone.Inbound.IsDisposed);
        Assert.Empty(database.Pairs);
    }
}
