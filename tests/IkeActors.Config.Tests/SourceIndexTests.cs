using IkeActors.Config.Parsing;

namespace IkeActors.Config.Tests;

/// <summary>What the parser records about where names are defined and used, for the checks after the whole file is read.</summary>
public class SourceIndexTests
{
    private static SourceIndex Index(string text)
    {
        var parser = new AsaConfigParser("idx.cfg");
        parser.Parse(text);
        return parser.Sources;
    }

    [Fact]
    public void A_reference_keeps_its_kind_line_column_and_command()
    {
        var sources = Index("crypto map vpn 10 match address VPN-ACL\n");
        var r = Assert.Single(sources.References);
        Assert.Equal((ReferenceKind.AccessList, "VPN-ACL"), (r.Kind, r.Name));
        Assert.Equal(("idx.cfg", 1, 33), (r.Location.File, r.Location.Line, r.Location.Column));
        Assert.Equal("crypto map vpn 10 match address VPN-ACL", r.SourceLine);
        Assert.Equal("crypto map vpn 10 match address", r.Context);
    }

    [Fact]
    public void A_command_with_an_error_leaves_no_references_behind()
    {
        // The second peer is malformed: neither peer of the line is kept for the tunnel-group check.
        var sources = Index("crypto map vpn 10 set peer 192.0.2.1 192.0.2.999\naccess-list A extended permit ip object-group G any bogus\n");
        Assert.Empty(sources.Peers);
        Assert.Empty(sources.References);
    }

    [Fact]
    public void A_command_kept_as_not_interpreted_leaves_no_references_behind()
    {
        // `pat-pool` is valid ASA outside the VPN model: the object named before it is not checked.
        var sources = Index("nat (inside,outside) source dynamic LAN pat-pool POOL\n");
        Assert.Empty(sources.References);
    }

    [Fact]
    public void A_crypto_map_entry_is_located_at_the_sequence_number_of_its_first_line()
    {
        var sources = Index("crypto map vpn 20 set peer 192.0.2.1\ncrypto map vpn 20 match address A\ncrypto map vpn interface outside\n");
        var entry = sources.MapEntryLines[("vpn", 20)];
        Assert.Equal((1, 16), (entry.Location.Line, entry.Location.Column));
        var applied = sources.MapInterfaceLines["vpn"];
        Assert.Equal((3, 26), (applied.Location.Line, applied.Location.Column));
        var peer = Assert.Single(sources.Peers);
        Assert.Equal(("vpn", 20, "192.0.2.1", 28), (peer.Map, peer.Sequence, peer.Peer.ToString(), peer.Location.Column));
    }

    [Fact]
    public void An_isakmp_policy_keeps_the_line_of_each_sub_command_value()
    {
        var sources = Index("crypto ikev1 policy 10\n authentication pre-share\n hash sha256\n");
        Assert.Equal((1, 21), (sources.PolicyLines[(10, "")].Location.Line, sources.PolicyLines[(10, "")].Location.Column));
        Assert.Equal((3, 7), (sources.PolicyLines[(10, "hash")].Location.Line, sources.PolicyLines[(10, "hash")].Location.Column));
        Assert.False(sources.PolicyLines.ContainsKey((10, "group")));
    }
}
