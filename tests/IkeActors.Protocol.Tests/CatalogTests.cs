using System.Security.Cryptography;
using System.Text;

namespace IkeActors.Protocol.Tests;

/// <summary>Enum display names and vendor IDs against their definitions.</summary>
public class CatalogTests
{
    [Theory]
    [InlineData(PayloadType.SecurityAssociation, "SA (1)")]
    [InlineData(PayloadType.KeyExchange, "KE (4)")]
    [InlineData(PayloadType.Nonce, "NONCE (10)")]
    [InlineData(PayloadType.VendorId, "VENDOR (13)")]
    [InlineData(PayloadType.Hash, "HASH (8)")]
    [InlineData(PayloadType.NatDiscovery, "NAT-D (20)")]
    [InlineData(PayloadType.IosKeepalive, "IOS KEEPALIVE (128)")]
    [InlineData(PayloadType.None, "NONE (0)")]
    public void Payload_types_print_as_the_asa_prints_them(PayloadType type, string expected) =>
        Assert.Equal(expected, type.ToAsaString());

    [Fact]
    public void Unknown_values_have_no_name() =>
        Assert.Null(((PayloadType)99).GetDisplayName());

    // Vendor IDs that are MD5 hashes of a known string (RFC 3947 §3.1 and the NAT-T drafts;
    // the Cisco IDs by their well-known strings), recomputed here rather than copied.
    [Theory]
    [InlineData("RFC 3947", 16, KnownVendorId.NatTRfc3947)]
    [InlineData("draft-ietf-ipsec-nat-t-ike-02", 16, KnownVendorId.NatTDraft02)]
    [InlineData("draft-ietf-ipsec-nat-t-ike-02\n", 16, KnownVendorId.NatTDraft02N)]
    [InlineData("draft-ietf-ipsec-nat-t-ike-03", 16, KnownVendorId.NatTDraft03)]
    [InlineData("FRAGMENTATION", 16, KnownVendorId.Fragmentation)]
    public void Hash_based_vendor_ids_are_the_md5_of_their_string(string text, int length, KnownVendorId expected)
    {
        var id = MD5.HashData(Encoding.ASCII.GetBytes(text))[..length];
        Assert.Equal(expected, VendorIds.Identify(id));
        Assert.Equal(id, VendorIds.GetBytes(expected).ToArray()[..length]);
    }

    [Fact]
    public void Cisco_unity_is_the_md5_of_its_name_with_a_version()
    {
        var id = MD5.HashData("CISCO-UNITY"u8)[..14].Concat(new byte[] { 1, 0 }).ToArray();
        Assert.Equal(KnownVendorId.CiscoUnity, VendorIds.Identify(id));
    }

    [Fact]
    public void Prefix_ids_match_with_capabilities_appended_and_exact_ids_do_not()
    {
        byte[] fragmentation = [.. VendorIds.Fragmentation, 0xc0, 0, 0, 0];
        Assert.Equal(KnownVendorId.Fragmentation, VendorIds.Identify(fragmentation));
        byte[] altiga = [.. VendorIds.CiscoVpn3000, 0x01, 0x00];
        Assert.Equal(KnownVendorId.CiscoVpn3000, VendorIds.Identify(altiga));
        byte[] rfcPlus = [.. VendorIds.NatTRfc3947, 0x00];
        Assert.Equal(KnownVendorId.Unknown, VendorIds.Identify(rfcPlus));
        Assert.Equal(KnownVendorId.Unknown, VendorIds.Identify([]));
    }
}
