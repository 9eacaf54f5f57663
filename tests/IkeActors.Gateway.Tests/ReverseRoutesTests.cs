using IkeActors.Gateway.Hosting;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// A proxy ID's address range as the fewest CIDR prefixes (RFC 4632 §3.1 aggregation, by hand): a subnet is one
/// route, a host a /32, an unaligned range its aligned blocks; "any" is never routed (it would be a default route
/// into the tunnel), nor a range that needs more than 32 prefixes, nor an inverted one.
/// </summary>
public class ReverseRoutesTests
{
    private static uint A(string dotted) => (uint)System.Net.IPAddress.Parse(dotted).GetAddressBytes().Aggregate(0L, (a, b) => (a << 8) | b);

    [Theory]
    [InlineData("192.168.2.0", "192.168.2.255", "192.168.2.0/24")]
    [InlineData("10.1.2.3", "10.1.2.3", "10.1.2.3/32")]
    [InlineData("10.0.0.1", "10.0.0.6", "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32")]
    [InlineData("172.16.0.0", "172.31.255.255", "172.16.0.0/12")]
    [InlineData("0.0.0.0", "127.255.255.255", "0.0.0.0/1")]
    [InlineData("128.0.0.0", "255.255.255.255", "128.0.0.0/1")]
    public void A_range_becomes_its_prefixes(string first, string last, string expected)
    {
        var prefixes = ReverseRoutes.Prefixes(A(first), A(last));
        var text = string.Join(" ", prefixes.Select(p => $"{new System.Net.IPAddress(new[] { (byte)(p.Network >> 24), (byte)(p.Network >> 16), (byte)(p.Network >> 8), (byte)p.Network })}/{p.Length}"));
        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData("0.0.0.0", "255.255.255.255")] // any
    [InlineData("10.0.0.9", "10.0.0.1")] // inverted
    [InlineData("0.0.0.1", "255.255.255.254")] // 62 prefixes
    public void Nothing_is_routed_for(string first, string last) => Assert.Empty(ReverseRoutes.Prefixes(A(first), A(last)));
}
