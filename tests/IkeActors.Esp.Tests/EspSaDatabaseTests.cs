using System.Net;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

public class EspSaDatabaseTests
{
    internal static readonly TrafficSelector Left = TrafficSelector.Subnet(IPAddress.Parse("192.168.1.0"), 24);
    internal static readonly TrafficSelector Right = TrafficSelector.Subnet(IPAddress.Parse("192.168.2.0"), 24);

    internal static EspSaPair Pair(uint inSpi, uint outSpi, TrafficSelector? local = null, TrafficSelector? remote = null, bool udp = false) =>
        new(Make.Sa(inSpi, EspDirection.Inbound), Make.Sa(outSpi, EspDirection.Outbound), local ?? Left, remote ?? Right,
            new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), udp);

    private static FlowKey Flow(string src, string dst, byte proto = 1, ushort sp = 0, ushort dp = 0) =>
        new(TrafficSelector.ToUInt32(IPAddress.Parse(src)), TrafficSelector.ToUInt32(IPAddress.Parse(dst)), proto, sp, dp);

    [Fact]
    public void Rekey_overlap_is_make_before_break()
    {
        using var sad = new EspSaDatabase();
        var old = Pair(0x100, 0x200);
        sad.Add(old);
        var ping = Flow("192.168.1.1", "192.168.2.1");
        Assert.True(sad.TryGetOutbound(ping, out var p) && ReferenceEquals(p, old));

        var fresh = Pair(0x101, 0x201);
        sad.Add(fresh);
        Assert.True(sad.TryGetOutbound(ping, out p) && ReferenceEquals(p, fresh)); // the newest pair sends
        Assert.True(sad.TryGetInbound(0x100, out p) && ReferenceEquals(p, old));   // the old SPI still receives
        Assert.True(sad.TryGetInbound(0x101, out p) && ReferenceEquals(p, fresh));

        Assert.True(sad.Remove(0x100));
        Assert.False(sad.TryGetInbound(0x100, out _));
        Assert.True(old.Inbound.IsDisposed && old.Outbound.IsDisposed); // keys gone with the SA
        Assert.True(sad.TryGetOutbound(ping, out p) && ReferenceEquals(p, fresh));
        Assert.False(sad.Remove(0x100));
        Assert.Equal(1, sad.Count);
    }

    [Fact]
    public void A_pair_not_yet_preferred_leaves_outbound_traffic_on_the_pair_it_replaces_and_alone_it_sends_at_once()
    {
        using var sad = new EspSaDatabase();
        var ping = Flow("192.168.1.1", "192.168.2.1");
        var old = Pair(0x100, 0x200);
        sad.Add(old);
        var fresh = Pair(0x101, 0x201);
        fresh.OutboundPreferredFromTick = Environment.TickCount64 + 60_000; // far in the future: deterministic
        sad.Add(fresh);
        Assert.True(sad.TryGetOutbound(ping, out var p) && ReferenceEquals(p, old));
        Assert.True(sad.TryGetInbound(0x101, out p) && ReferenceEquals(p, fresh)); // it receives at once

        // The old pair gone (its DELETE), the new one sends even before its time: nothing else can.
        Assert.True(sad.Remove(0x100));
        Assert.True(sad.TryGetOutbound(ping, out p) && ReferenceEquals(p, fresh));

        // Its time passed: preferred over an older pair again.
        var third = Pair(0x102, 0x202);
        third.OutboundPreferredFromTick = Environment.TickCount64 - 1;
        sad.Add(third);
        Assert.True(sad.TryGetOutbound(ping, out p) && ReferenceEquals(p, third));
    }

    [Fact]
    public void An_inbound_spi_names_one_sa()
    {
        using var sad = new EspSaDatabase();
        sad.Add(Pair(0x100, 0x200));
        using var clash = Pair(0x100, 0x300);
        Assert.Throws<InvalidOperationException>(() => sad.Add(clash));
    }

    internal static EspSaPair InboundAlone(uint inSpi, TrafficSelector? local = null, TrafficSelector? remote = null) =>
        EspSaPair.InboundOnly(Make.Sa(inSpi, EspDirection.Inbound), local ?? Left, remote ?? Right, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), false);

    [Fact]
    public void An_inbound_SA_alone_receives_sends_nothing_and_its_pair_completes_it_with_the_same_inbound_SA()
    {
        using var sad = new EspSaDatabase();
        var ping = Flow("192.168.1.1", "192.168.2.1");
        var old = Pair(0x100, 0x200);
        sad.Add(old);
        var added = new List<EspSaPair>();
        sad.PairAdded += added.Add;

        // A Quick Mode responder's new inbound SA, at QM2: found by its SPI, not a pair, never chosen to send.
        var alone = InboundAlone(0x101);
        Assert.True(sad.AddInbound(alone));
        Assert.True(alone.IsInboundOnly);
        Assert.Throws<InvalidOperationException>(() => alone.Outbound);
        Assert.True(sad.TryGetInbound(0x101, out var p) && ReferenceEquals(p, alone));
        Assert.True(sad.TryGetOutbound(ping, out p) && ReferenceEquals(p, old)); // the old pair still sends
        Assert.Equal(1, sad.Count);
        Assert.Empty(added);

        // Announced again (a restore): nothing changes, the caller keeps (and disposes) the copy.
        using (var again = InboundAlone(0x101)) Assert.False(sad.AddInbound(again));
        Assert.True(sad.TryGetInbound(0x101, out p) && ReferenceEquals(p, alone));

        // QM3: the pair completes it. The inbound SA is the same object (its replay window goes on, RFC 4303 §3.4.3);
        // the pair's own inbound copy is disposed, its outbound SA now sends.
        var pair = Pair(0x101, 0x201);
        var installed = sad.Add(pair);
        Assert.False(installed.IsInboundOnly);
        Assert.Same(alone.Inbound, installed.Inbound);
        Assert.Same(pair.Outbound, installed.Outbound);
        Assert.True(pair.Inbound.IsDisposed);
        Assert.False(installed.Inbound.IsDisposed);
        Assert.True(sad.TryGetInbound(0x101, out p) && ReferenceEquals(p, installed));
        Assert.True(sad.TryGetOutbound(ping, out p) && ReferenceEquals(p, installed)); // make-before-break: the newest sends
        Assert.Equal(2, sad.Count);
        Assert.Same(installed, Assert.Single(added));

        // A whole pair with that SPI again is a clash, as before.
        using var clash = Pair(0x101, 0x301);
        Assert.Throws<InvalidOperationException>(() => sad.Add(clash));
        using var late = InboundAlone(0x101);
        Assert.False(sad.AddInbound(late));
    }

    [Fact]
    public void An_inbound_SA_alone_whose_pair_never_comes_is_removed_with_its_keys()
    {
        using var sad = new EspSaDatabase();
        var alone = InboundAlone(0x101);
        Assert.True(sad.AddInbound(alone));
        Assert.True(sad.Remove(0x101));
        Assert.False(sad.TryGetInbound(0x101, out _));
        Assert.True(alone.Inbound.IsDisposed);
        Assert.Equal(0, sad.Count);
        // Its SPI can be used again (by a new Quick Mode's pair).
        sad.Add(Pair(0x101, 0x201));
        Assert.True(sad.TryGetInbound(0x101, out _));
    }

    [Fact]
    public void A_disposed_database_zeroes_inbound_SAs_alone_too()
    {
        var sad = new EspSaDatabase();
        var alone = InboundAlone(0x101);
        sad.AddInbound(alone);
        sad.Dispose();
        Assert.True(alone.Inbound.IsDisposed);
    }

    [Fact]
    public void Whole_pairs_and_inbound_SAs_alone_go_in_through_their_own_calls()
    {
        using var sad = new EspSaDatabase();
        using var alone = InboundAlone(0x101);
        using var pair = Pair(0x102, 0x202);
        Assert.Throws<ArgumentException>(() => sad.Add(alone));
        Assert.Throws<ArgumentException>(() => sad.AddInbound(pair));
    }

    [Fact]
    public void Outbound_lookup_follows_the_selectors()
    {
        using var sad = new EspSaDatabase();
        var icmpOnly = Pair(0x1, 0x2, local: Left with { Protocol = 1 }, remote: Right with { Protocol = 1 });
        var web = Pair(0x3, 0x4, local: Left with { Protocol = 6 }, remote: TrafficSelector.Host(IPAddress.Parse("192.168.2.80"), 6, 443));
        sad.Add(icmpOnly);
        sad.Add(web);
        Assert.True(sad.TryGetOutbound(Flow("192.168.1.9", "192.168.2.1"), out var p) && ReferenceEquals(p, icmpOnly));
        Assert.True(sad.TryGetOutbound(Flow("192.168.1.9", "192.168.2.80", 6, 50000, 443), out p) && ReferenceEquals(p, web));
        Assert.False(sad.TryGetOutbound(Flow("192.168.1.9", "192.168.2.80", 6, 50000, 80), out _));  // other port
        Assert.False(sad.TryGetOutbound(Flow("192.168.1.9", "192.168.2.1", 17, 5000, 53), out _));  // UDP: no SA
        Assert.False(sad.TryGetOutbound(Flow("192.168.3.1", "192.168.2.1"), out _));                // source outside
        Assert.False(sad.TryGetOutbound(Flow("192.168.2.1", "192.168.1.9"), out _));                // reverse direction
    }

    [Fact]
    public void Inbound_selector_check_is_the_mirror()
    {
        var pair = Pair(0x1, 0x2);
        Assert.True(pair.MatchesInbound(Flow("192.168.2.1", "192.168.1.1")));
        Assert.False(pair.MatchesInbound(Flow("192.168.1.1", "192.168.2.1")));
        Assert.False(pair.MatchesInbound(Flow("192.168.2.1", "192.168.9.1")));
        pair.Dispose();
    }

    [Fact]
    public void Selectors_from_acl_shapes()
    {
        var s = TrafficSelector.Subnet(IPAddress.Parse("192.168.1.77"), 24);
        Assert.Equal("192.168.1.0-192.168.1.255/0/0", s.ToString());
        Assert.True(s.ContainsAddress(TrafficSelector.ToUInt32(IPAddress.Parse("192.168.1.255"))));
        Assert.False(s.ContainsAddress(TrafficSelector.ToUInt32(IPAddress.Parse("192.168.2.0"))));
        Assert.Equal("10.1.1.5-10.1.1.5/17/53", TrafficSelector.Host(IPAddress.Parse("10.1.1.5"), 17, 53).ToString());
        Assert.Equal("0.0.0.0-255.255.255.255/0/0", TrafficSelector.Subnet(IPAddress.Any, 0).ToString());
        Assert.Equal("10.0.0.5-10.0.0.9/0/0", TrafficSelector.Range(IPAddress.Parse("10.0.0.5"), IPAddress.Parse("10.0.0.9")).ToString());
    }
}
