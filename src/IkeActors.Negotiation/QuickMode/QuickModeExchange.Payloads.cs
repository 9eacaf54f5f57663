using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>Reading and writing the Quick Mode payloads: HASH, SA, nonce, KE, IDs (RFC 2407 §4.6.2) and notifies.</summary>
public sealed partial class QuickModeExchange
{
    private enum PayloadRole { Qm1, Qm2 }

    /// <summary>What QM1 or QM2 carries (RFC 2409 §5.5): HASH, SA, nonce, and KE with PFS; IDs; notifies.</summary>
    private ref struct QuickModePayloads
    {
        public byte[]? Hash;
        public int AfterHash;
        public byte[]? Nonce;
        public SaPayloadView Sa;
        public bool HaveSa;
        /// <summary>QM1: the proxies the IDs name, IDci then IDcr (null for an ID type Quick Mode cannot use).</summary>
        public List<ProxyId?> Ids;
        public bool InitialContact;
        /// <summary>QM2: RESPONDER-LIFETIME (RFC 2407 §4.6.3.1) attribute pairs.</summary>
        public List<(LifeType Type, ulong Value)> ResponderLifetime;
    }

    private QuickModePayloads ReadPayloads(byte[] plain, PayloadRole role, NegotiationOutput output)
    {
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        var q = new QuickModePayloads { Ids = [], ResponderLifetime = [] };
        foreach (var p in message.Payloads)
        {
            if (ReadShared(p, ref q, output)) continue;
            switch ((PayloadType)p.Type)
            {
                case PayloadType.Identification:
                    AsaDebug.ProcessingIdPayload(output, Context);
                    if (IdPayloadView.TryParse(p.Raw, out var id, out _)) ReadId(id, role, ref q, output);
                    break;
                case PayloadType.Notification:
                    AsaDebug.ProcessingNotifyPayload(output, Context);
                    if (NotificationPayloadView.TryParse(p.Raw, out var n, out _)) ReadNotify(n, role, ref q);
                    break;
            }
        }
        return q;
    }

    /// <summary>Reads a shared payload (the first of each kind) and says so; false for the others.</summary>
    private bool ReadShared(PayloadEntry p, ref QuickModePayloads q, NegotiationOutput output)
    {
        switch ((PayloadType)p.Type)
        {
            case PayloadType.Hash when q.Hash is null:
                q.Hash = p.Body.ToArray();
                q.AfterHash = p.Offset + p.Raw.Length;
                AsaDebug.ProcessingHashPayload(output, Context);
                return true;
            case PayloadType.SecurityAssociation when !q.HaveSa:
                q.HaveSa = SaPayloadView.TryParse(p.Raw, out q.Sa, out _);
                AsaDebug.ProcessingSaPayload(output, Context);
                return true;
            case PayloadType.Nonce when q.Nonce is null:
                q.Nonce = p.Body.ToArray();
                AsaDebug.ProcessingNoncePayload(output, Context);
                return true;
            case PayloadType.KeyExchange:
                _peerPfsPublic = p.Body.ToArray();
                AsaDebug.ProcessingKePayload(output, Context);
                return true;
            default:
                return false;
        }
    }

    private void ReadId(IdPayloadView id, PayloadRole role, ref QuickModePayloads q, NegotiationOutput output)
    {
        LogId(id, output);
        if (role == PayloadRole.Qm2)
        {
            q.Ids.Add(ProxyOf(id));
            return;
        }
        var proxy = ProxyOf(id);
        if (proxy is { } px && px.Prefix is { } prefix)
        {
            if (q.Ids.Count == 0) AsaDebug.ReceivedRemoteIpProxySubnet(output, Context, prefix.Address, prefix.MaskAddress, px.Protocol, px.Port);
            else AsaDebug.ReceivedLocalIpProxySubnet(output, Context, prefix.Address, prefix.MaskAddress, px.Protocol, px.Port);
        }
        q.Ids.Add(proxy);
    }

    private static void ReadNotify(NotificationPayloadView n, PayloadRole role, ref QuickModePayloads q)
    {
        if (role == PayloadRole.Qm1)
        {
            if (n.NotifyType == NotifyMessageType.InitialContact) q.InitialContact = true;
            return;
        }
        if (n.NotifyType != NotifyMessageType.ResponderLifetime) return;
        // RFC 2407 §4.6.3.1: the data is SA Life Type / SA Life Duration attribute pairs.
        var type = LifeType.Seconds;
        foreach (var a in new DataAttributeReader(n.NotificationData))
        {
            if (!a.TryGetInteger(out var v)) continue;
            if ((IpsecAttribute)a.Type == IpsecAttribute.SaLifeType) type = (LifeType)v;
            else if ((IpsecAttribute)a.Type == IpsecAttribute.SaLifeDuration) q.ResponderLifetime.Add((type, v));
        }
    }

    private static IdPayload IdOf(ProxyId proxy)
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
    private static ProxyId? ProxyOf(IdPayloadView id)
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

    private void LogId(IdPayloadView id, NegotiationOutput output)
    {
        var d = id.IdentificationData;
        switch (id.IdType)
        {
            case IdType.Ipv4Address when d.Length == 4: AsaDebug.IdIpv4AddrReceived(output, Context, new IPAddress(d)); break;
            case IdType.Ipv4AddressSubnet when d.Length == 8: AsaDebug.IdIpv4AddrSubnetReceived(output, Context, new IPAddress(d[..4]), new IPAddress(d[4..])); break;
            case IdType.Ipv4AddressRange when d.Length == 8: AsaDebug.IdIpv4AddrRangeReceived(output, Context, new IPAddress(d[..4]), new IPAddress(d[4..])); break;
            default: AsaDebug.UnknownIdType(output, Context, 2, (long)id.IdType); break;
        }
    }

    private static byte[] SpiBytes(uint spi)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, spi);
        return b;
    }

    private static byte[] AttributeBytes(List<DataAttribute> attributes)
    {
        var bytes = new byte[attributes.Sum(a => a.EncodedSize)];
        var offset = 0;
        foreach (var a in attributes) offset += a.Write(bytes.AsSpan(offset));
        return bytes;
    }
}
