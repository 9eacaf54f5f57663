using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>Which Quick Mode message a payload list is: QM1 (the responder reads it) or QM2 (the initiator reads it).</summary>
internal enum QuickModeMessage { Qm1, Qm2 }

/// <summary>
/// What QM1 or QM2 carries (RFC 2409 §5.5): HASH, SA, nonce, and KE with PFS; IDs (RFC 2407 §4.6.2);
/// notifies. With the ID payload encoding and the SPI and attribute bytes the exchange sends.
/// </summary>
internal ref struct QuickModePayloads
{
    public byte[]? Hash;
    public int AfterHash;
    public byte[]? Nonce;
    public SaPayloadView Sa;
    public bool HaveSa;
    /// <summary>The last KE payload's public value (PFS, RFC 2409 §5.5), null without one.</summary>
    public byte[]? KeyExchange;
    /// <summary>QM1: the proxies the IDs name, IDci then IDcr (null for an ID type Quick Mode cannot use).</summary>
    public List<ProxyId?> Ids;
    public bool InitialContact;
    /// <summary>QM2: RESPONDER-LIFETIME (RFC 2407 §4.6.3.1) attribute pairs.</summary>
    public List<(LifeType Type, ulong Value)> ResponderLifetime;

    public static QuickModePayloads Read(byte[] plain, QuickModeMessage message, DebugContext context, NegotiationOutput output)
    {
        IsakmpMessage.TryParseDecrypted(plain, out var parsed, out _);
        var q = new QuickModePayloads { Ids = [], ResponderLifetime = [] };
        foreach (var p in parsed.Payloads)
        {
            if (q.ReadShared(p, context, output)) continue;
            switch ((PayloadType)p.Type)
            {
                case PayloadType.Identification:
                    AsaDebug.ProcessingIdPayload(output, context);
                    if (IdPayloadView.TryParse(p.Raw, out var id, out _)) q.ReadId(id, message, context, output);
                    break;
                case PayloadType.Notification:
                    AsaDebug.ProcessingNotifyPayload(output, context);
                    if (NotificationPayloadView.TryParse(p.Raw, out var n, out _)) q.ReadNotify(n, message);
                    break;
            }
        }
        return q;
    }

    /// <summary>QM3: the first HASH payload's data (RFC 2409 §5.5), null without one.</summary>
    public static byte[]? ReadHash3(byte[] plain, DebugContext context, NegotiationOutput output)
    {
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        byte[]? hash = null;
        foreach (var p in message.Payloads)
            if (p.Type == (byte)PayloadType.Hash) { hash ??= p.Body.ToArray(); AsaDebug.ProcessingHashPayload(output, context); }
        return hash;
    }

    /// <summary>RFC 2407 §4.6.3.3: INITIAL-CONTACT tells the peer to forget SAs of our previous incarnation.</summary>
    public static NotificationPayload InitialContactNotify(ulong initiatorCookie, ulong responderCookie) => new()
    {
        Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = NotifyMessageType.InitialContact,
        Spi = IsakmpMessages.CookieBytes(initiatorCookie, responderCookie),
    };

    /// <summary>Reads a shared payload (the first of each kind) and says so; false for the others.</summary>
    private bool ReadShared(PayloadEntry p, DebugContext context, NegotiationOutput output)
    {
        switch ((PayloadType)p.Type)
        {
            case PayloadType.Hash when Hash is null:
                Hash = p.Body.ToArray();
                AfterHash = p.Offset + p.Raw.Length;
                AsaDebug.ProcessingHashPayload(output, context);
                return true;
            case PayloadType.SecurityAssociation when !HaveSa:
                HaveSa = SaPayloadView.TryParse(p.Raw, out Sa, out _);
                AsaDebug.ProcessingSaPayload(output, context);
                return true;
            case PayloadType.Nonce when Nonce is null:
                Nonce = p.Body.ToArray();
                AsaDebug.ProcessingNoncePayload(output, context);
                return true;
            case PayloadType.KeyExchange:
                KeyExchange = p.Body.ToArray();
                AsaDebug.ProcessingKePayload(output, context);
                return true;
            default:
                return false;
        }
    }

    private void ReadId(IdPayloadView id, QuickModeMessage message, DebugContext context, NegotiationOutput output)
    {
        LogId(id, context, output);
        var proxy = ProxyOf(id);
        if (message == QuickModeMessage.Qm1 && proxy is { } px && px.Prefix is { } prefix)
        {
            if (Ids.Count == 0) AsaDebug.ReceivedRemoteIpProxySubnet(output, context, prefix.Address, prefix.MaskAddress, px.Protocol, px.Port);
            else AsaDebug.ReceivedLocalIpProxySubnet(output, context, prefix.Address, prefix.MaskAddress, px.Protocol, px.Port);
        }
        Ids.Add(proxy);
    }

    private void ReadNotify(NotificationPayloadView n, QuickModeMessage message)
    {
        if (message == QuickModeMessage.Qm1)
        {
            if (n.NotifyType == NotifyMessageType.InitialContact) InitialContact = true;
            return;
        }
        if (n.NotifyType != NotifyMessageType.ResponderLifetime) return;
        // RFC 2407 §4.6.3.1: the data is SA Life Type / SA Life Duration attribute pairs.
        var type = LifeType.Seconds;
        foreach (var a in new DataAttributeReader(n.NotificationData))
        {
            if (!a.TryGetInteger(out var v)) continue;
            if ((IpsecAttribute)a.Type == IpsecAttribute.SaLifeType) type = (LifeType)v;
            else if ((IpsecAttribute)a.Type == IpsecAttribute.SaLifeDuration) ResponderLifetime.Add((type, v));
        }
    }

    public static IdPayload IdOf(ProxyId proxy)
    {
        var data = new byte[8];
        IdType type;
        if (proxy.Range.First == proxy.Range.Last)
        {
            type = IdType.Ipv4Address;
            data = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(data, proxy.Range.First);
        }
        else if (proxy.Prefix is { } p)
        {
            type = IdType.Ipv4AddressSubnet;
            BinaryPrimitives.WriteUInt32BigEndian(data, p.Network);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), p.Mask);
        }
        else
        {
            type = IdType.Ipv4AddressRange;
            BinaryPrimitives.WriteUInt32BigEndian(data, proxy.Range.First);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), proxy.Range.Last);
        }
        return new IdPayload { IdType = type, ProtocolId = (byte)proxy.Protocol, Port = (ushort)proxy.Port, IdentificationData = data };
    }

    /// <summary>RFC 2407 §4.6.2: the proxy an ID payload names, or null for a type Quick Mode cannot use.</summary>
    public static ProxyId? ProxyOf(IdPayloadView id)
    {
        var d = id.IdentificationData;
        return id.IdType switch
        {
            IdType.Ipv4Address when d.Length == 4 => new ProxyId(new Ipv4Range(BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d)), id.ProtocolId, id.Port),
            IdType.Ipv4AddressSubnet when d.Length == 8 && Ipv4.IsContiguousMask(BinaryPrimitives.ReadUInt32BigEndian(d[4..])) =>
                new ProxyId(new Ipv4Prefix(BinaryPrimitives.ReadUInt32BigEndian(d) & BinaryPrimitives.ReadUInt32BigEndian(d[4..]),
                    Ipv4.MaskLength(BinaryPrimitives.ReadUInt32BigEndian(d[4..]))).ToRange(), id.ProtocolId, id.Port),
            IdType.Ipv4AddressRange when d.Length == 8 && BinaryPrimitives.ReadUInt32BigEndian(d) <= BinaryPrimitives.ReadUInt32BigEndian(d[4..]) =>
                new ProxyId(new Ipv4Range(BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d[4..])), id.ProtocolId, id.Port),
            _ => null,
        };
    }

    private static void LogId(IdPayloadView id, DebugContext context, NegotiationOutput output)
    {
        var d = id.IdentificationData;
        switch (id.IdType)
        {
            case IdType.Ipv4Address when d.Length == 4: AsaDebug.IdIpv4AddrReceived(output, context, new IPAddress(d)); break;
            case IdType.Ipv4AddressSubnet when d.Length == 8: AsaDebug.IdIpv4AddrSubnetReceived(output, context, new IPAddress(d[..4]), new IPAddress(d[4..])); break;
            case IdType.Ipv4AddressRange when d.Length == 8: AsaDebug.IdIpv4AddrRangeReceived(output, context, new IPAddress(d[..4]), new IPAddress(d[4..])); break;
            default: AsaDebug.UnknownIdType(output, context, 2, (long)id.IdType); break;
        }
    }

    public static byte[] SpiBytes(uint spi)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, spi);
        return b;
    }

    public static byte[] AttributeBytes(List<DataAttribute> attributes)
    {
        var bytes = new byte[attributes.Sum(a => a.EncodedSize)];
        var offset = 0;
        foreach (var a in attributes) offset += a.Write(bytes.AsSpan(offset));
        return bytes;
    }
}
