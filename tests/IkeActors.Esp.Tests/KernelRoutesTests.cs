using System.Buffers.Binary;

namespace IkeActors.Esp.Tests;

/// <summary>
/// The rtnetlink request a reverse route is written with, field by field against linux/rtnetlink.h and
/// linux/netlink.h (RTM_NEWROUTE 24, RTM_DELROUTE 25; NLM_F_REQUEST 1, ACK 4, REPLACE 0x100, CREATE 0x400;
/// RT_TABLE_MAIN 254, RT_SCOPE_LINK 253, RTN_UNICAST 1; RTA_DST 1, RTA_OIF 4, RTA_PRIORITY 6, RTA_PREFSRC 7).
/// The kernel's acceptance of it is ReverseRouteTests' (Interop): `ip route show proto 197` reads it back.
/// </summary>
public class KernelRoutesTests
{
    [Fact]
    public void A_replace_request_names_the_network_the_device_the_metric_and_our_protocol()
    {
        var m = new byte[64];
        var length = KernelRoutes.Build(m, 24, 0x1 | 0x4 | 0x100 | 0x400, 7, 0xC0A80200, 24, 5, 100, null);

        Assert.Equal(16 + 12 + 3 * 8, length);
        Assert.Equal((uint)length, BinaryPrimitives.ReadUInt32LittleEndian(m)); // nlmsg_len
        Assert.Equal(24, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(4))); // RTM_NEWROUTE
        Assert.Equal(0x505, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(6)));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(8))); // nlmsg_seq
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(12))); // nlmsg_pid: the kernel
        // rtmsg: AF_INET, /24, no source, tos 0, main table, protocol 197, link scope, unicast, no flags
        Assert.Equal(new byte[] { 2, 24, 0, 0, 254, 197, 253, 1, 0, 0, 0, 0 }, m[16..28]);
        Assert.Equal(new byte[] { 8, 0, 1, 0, 192, 168, 2, 0 }, m[28..36]); // RTA_DST, network byte order
        Assert.Equal(new byte[] { 8, 0, 4, 0, 5, 0, 0, 0 }, m[36..44]); // RTA_OIF
        Assert.Equal(new byte[] { 8, 0, 6, 0, 100, 0, 0, 0 }, m[44..52]); // RTA_PRIORITY
    }

    [Fact]
    public void A_preferred_source_is_one_more_attribute()
    {
        var m = new byte[64];
        var length = KernelRoutes.Build(m, 25, 0x1 | 0x4, 1, 0x0A000000, 8, 3, 0, 0xC0A80101);
        Assert.Equal(16 + 12 + 4 * 8, length);
        Assert.Equal(25, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(4))); // RTM_DELROUTE
        Assert.Equal(new byte[] { 8, 0, 7, 0, 192, 168, 1, 1 }, m[52..60]); // RTA_PREFSRC
    }

    /// <summary>A handed-over route: the same route under another protocol, which BIRD's `krt_source = 197` does not learn.</summary>
    [Fact]
    public void A_handed_over_route_carries_the_other_protocol()
    {
        var m = new byte[64];
        KernelRoutes.Build(m, 24, 0x1 | 0x4 | 0x100 | 0x400, 2, 0xC0A80200, 24, 5, 100, null, KernelRoutes.HandedOverProtocol);
        Assert.Equal(new byte[] { 2, 24, 0, 0, 254, 198, 253, 1 }, m[16..24]);
    }

    [Fact]
    public void A_prefix_longer_than_32_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelRoutes.Build(new byte[64], 24, 1, 1, 0, 33, 1, 0, null));
    }
}
