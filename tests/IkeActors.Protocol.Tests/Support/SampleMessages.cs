using System.Buffers.Binary;
using IkeActors.Protocol;

namespace IkeActors.Protocol.Tests.Support;

/// <summary>
/// Messages shaped like the seed's exchange (ASA MM1/MM3, a Quick Mode first message,
/// an Informational DELETE), built with the generated writers. Shared with the benchmarks.
/// Values are RFC constants, not copied from our own output.
/// </summary>
public static class SampleMessages
{
    public const ulong InitiatorCookie = 0x85f3281bbdbee122;
    public const ulong ResponderCookie = 0xb4fe688673c9452c;

    public static IsakmpHeader Header(ExchangeType exchange, ulong responderCookie, uint messageId) => new()
    {
        InitiatorCookie = InitiatorCookie, ResponderCookie = responderCookie, Version = 0x10, // RFC 2408 §3.1: version 1.0
        ExchangeType = exchange, Flags = 0, MessageId = messageId,
    };

    public static byte[] Bytes(int length, byte seed)
    {
        var b = new byte[length];
        for (var i = 0; i < b.Length; i++) b[i] = (byte)(seed + i * 7);
        return b;
    }

    /// <summary>Phase 1 proposal: AES-128, SHA, group 2, PSK, 86400 s (the seed's policy with AES).</summary>
    public static SaPayload Phase1Sa() => new()
    {
        Doi = Doi.Ipsec,
        Situation = Situation.IdentityOnly,
        Proposals =
        [
            new ProposalPayload
            {
                ProposalNumber = 1,
                ProtocolId = ProtocolId.Isakmp,
                Transforms =
                [
                    new TransformPayload
                    {
                        TransformNumber = 1,
                        TransformId = (byte)IsakmpTransformId.KeyIke,
                        Attributes =
                        [
                            DataAttribute.Basic((ushort)OakleyAttribute.EncryptionAlgorithm, (ushort)OakleyEncryption.AesCbc),
                            DataAttribute.Basic((ushort)OakleyAttribute.KeyLength, 128),
                            DataAttribute.Basic((ushort)OakleyAttribute.HashAlgorithm, (ushort)OakleyHash.Sha),
                            DataAttribute.Basic((ushort)OakleyAttribute.GroupDescription, (ushort)OakleyGroup.Modp1024),
                            DataAttribute.Basic((ushort)OakleyAttribute.AuthenticationMethod, (ushort)OakleyAuthMethod.PreSharedKey),
                            DataAttribute.Basic((ushort)OakleyAttribute.LifeType, (ushort)LifeType.Seconds),
                            DataAttribute.Integer((ushort)OakleyAttribute.LifeDuration, 86400),
                        ],
                    },
                ],
            },
        ],
    };

    public static VendorIdPayload Vid(ReadOnlySpan<byte> id) => new() { VendorId = id.ToArray() };

    /// <summary>The ASA's MM1: HDR + SA + VENDOR x4 (NAT-T 02, 03, RFC, fragmentation).</summary>
    public static byte[] MainMode1()
    {
        var buffer = new byte[1024];
        var m = new MessageBuilder(buffer, Header(ExchangeType.IdentityProtection, 0, 0));
        m.Add(Phase1Sa());
        m.Add(Vid(VendorIds.NatTDraft02));
        m.Add(Vid(VendorIds.NatTDraft03));
        m.Add(Vid(VendorIds.NatTRfc3947));
        m.Add(Vid([.. VendorIds.Fragmentation, 0xc0, 0x00, 0x00, 0x00]));
        return m.Finish().ToArray();
    }

    /// <summary>The ASA's MM3: HDR + KE + NONCE + VENDOR x4 + NAT-D x2.</summary>
    public static byte[] MainMode3()
    {
        var buffer = new byte[1024];
        var m = new MessageBuilder(buffer, Header(ExchangeType.IdentityProtection, ResponderCookie, 0));
        m.Add(new KePayload { KeyExchangeData = Bytes(128, 1) });       // group 2: 1024-bit g^x
        m.Add(new NoncePayload { NonceData = Bytes(20, 2) });
        m.Add(Vid(VendorIds.CiscoUnity));
        m.Add(Vid(VendorIds.Xauth));
        m.Add(Vid(VendorIds.Dpd));
        m.Add(Vid([.. VendorIds.CiscoVpn3000, 0x01, 0x00]));
        m.Add(new NatDPayload { HashOfAddressAndPort = Bytes(20, 3) }); // SHA1 length
        m.Add(new NatDPayload { HashOfAddressAndPort = Bytes(20, 4) });
        return m.Finish().ToArray();
    }

    public static IdPayload Subnet(byte a, byte b, byte c, byte d, int prefix) => new()
    {
        IdType = IdType.Ipv4AddressSubnet, ProtocolId = 0, Port = 0,
        IdentificationData = (byte[])[a, b, c, d, .. Mask(prefix)],
    };

    private static byte[] Mask(int prefix)
    {
        var m = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(m, prefix == 0 ? 0 : uint.MaxValue << (32 - prefix));
        return m;
    }

    /// <summary>A Quick Mode first message as it is before encryption: HASH + SA + NONCE + ID + ID + NOTIFY(INITIAL-CONTACT).</summary>
    public static byte[] QuickMode1()
    {
        var buffer = new byte[1024];
        var m = new MessageBuilder(buffer, Header(ExchangeType.QuickMode, ResponderCookie, 0x7b80c2b0));
        m.Add(new HashPayload { HashData = Bytes(20, 5) });
        m.Add(new SaPayload
        {
            Doi = Doi.Ipsec,
            Situation = Situation.IdentityOnly,
            Proposals =
            [
                new ProposalPayload
                {
                    ProposalNumber = 1,
                    ProtocolId = ProtocolId.IpsecEsp,
                    Spi = new byte[] { 0xfd, 0x2d, 0x85, 0x1f },
                    Transforms =
                    [
                        new TransformPayload
                        {
                            TransformNumber = 1,
                            TransformId = (byte)EspTransformId.Aes,
                            Attributes =
                            [
                                DataAttribute.Basic((ushort)IpsecAttribute.EncapsulationMode, (ushort)EncapsulationMode.Tunnel),
                                DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Seconds),
                                DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, 28800),
                                DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Kilobytes),
                                DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, 4608000),
                                DataAttribute.Basic((ushort)IpsecAttribute.AuthenticationAlgorithm, (ushort)IpsecAuthAlgorithm.HmacSha),
                                DataAttribute.Basic((ushort)IpsecAttribute.KeyLength, 128),
                            ],
                        },
                    ],
                },
            ],
        });
        m.Add(new NoncePayload { NonceData = Bytes(20, 6) });
        m.Add(Subnet(192, 168, 1, 0, 24));
        m.Add(Subnet(192, 168, 2, 0, 24));
        var cookies = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(cookies, InitiatorCookie);
        BinaryPrimitives.WriteUInt64BigEndian(cookies.AsSpan(8), ResponderCookie);
        m.Add(new NotificationPayload
        {
            Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = NotifyMessageType.InitialContact, Spi = cookies,
        });
        return m.Finish().ToArray();
    }

    /// <summary>An Informational exchange deleting one ESP SA: HASH + DELETE (RFC 2408 §3.15).</summary>
    public static byte[] InformationalDelete()
    {
        var buffer = new byte[256];
        var m = new MessageBuilder(buffer, Header(ExchangeType.Informational, ResponderCookie, 0x1234abcd));
        m.Add(new HashPayload { HashData = Bytes(20, 7) });
        m.Add(new DeletePayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.IpsecEsp, SpiSize = 4, Spis = new byte[] { 0xdd, 0xe5, 0x09, 0x31 } });
        return m.Finish().ToArray();
    }
}
