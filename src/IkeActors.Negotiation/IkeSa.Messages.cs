using System.Buffers.Binary;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>Building, sending and resending this SA's messages (RFC 2408 §3.1 header, §5 retransmission).</summary>
public sealed partial class IkeSa
{
    internal IsakmpHeader Header(ExchangeType exchange, uint messageId) => new()
    {
        InitiatorCookie = InitiatorCookie, ResponderCookie = ResponderCookie, Version = 0x10, // RFC 2408 §3.1 version 1.0
        ExchangeType = exchange, Flags = 0, MessageId = messageId,
    };

    internal SendDatagram Datagram(byte[] bytes, bool retransmission = false) => new(bytes, Destination, retransmission, NatT: Nat.NatTPeer is not null);

    /// <summary>A Main Mode message in the clear (MM1..MM4), remembered for retransmission.</summary>
    internal void SendPlain(ExchangeType exchange, uint messageId, List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        var bytes = IsakmpMessages.Build(Header(exchange, messageId), payloads);
        AsaDebug.IkeDecodeSending(output, IpContext, messageId, IsakmpMessages.PayloadTypes(payloads), bytes.Length);
        _lastSent = bytes;
        output.Add(Datagram(bytes));
    }

    /// <summary>Builds, logs and encrypts a message; returns the datagram (also sent).</summary>
    internal byte[] SendEncrypted(ExchangeType exchange, uint messageId, List<IIsakmpPayload> payloads, NegotiationOutput output, bool remember = true)
    {
        var plain = IsakmpMessages.Build(Header(exchange, messageId), payloads);
        return SendEncrypted(plain, messageId, output, remember);
    }

    internal byte[] SendEncrypted(byte[] plain, uint messageId, NegotiationOutput output, bool remember = true)
    {
        var bytes = IsakmpMessages.Encrypt(plain, _cipher!, messageId);
        // The length the ASA prints is the datagram's (header length field), padding included.
        AsaDebug.IkeDecodeSending(output, IpContext, messageId, IsakmpMessages.PayloadTypes(plain), bytes.Length);
        if (remember && messageId == 0) _lastSent = bytes;
        output.Add(Datagram(bytes));
        return bytes;
    }

    /// <summary>
    /// HDR*, HASH, PAYLOAD under phase 1's keys with HASH = prf(SKEYID_a, M-ID | PAYLOAD): an Informational's HASH(1) (RFC
    /// 2409 §5.7) and a Transaction exchange's HASH (draft-dukes-ike-mode-cfg-02 §3.1) alike. Built, hashed, encrypted, sent.
    /// </summary>
    internal byte[] SendHashProtected<T>(ExchangeType exchange, uint messageId, T payload, NegotiationOutput output) where T : struct, IIsakmpPayload
    {
        var hashLength = IkeActors.Crypto.IkeAlgorithms.HashLength(Transform!.CryptoHash);
        var plain = IsakmpMessages.Build(Header(exchange, messageId), [new HashPayload { HashData = new byte[hashLength] }, payload]);
        var afterHash = IsakmpMessages.HeaderSize + 4 + hashLength;
        IkeActors.Crypto.IkeHashes.InformationalHash(Transform.CryptoHash, _keys!.SkeyidA, messageId, plain.AsSpan(afterHash), plain.AsSpan(IsakmpMessages.HeaderSize + 4, hashLength));
        return SendEncrypted(plain, messageId, output, remember: false);
    }

    /// <summary>The received HASH of an Informational or Transaction message against prf(SKEYID_a, M-ID | the payloads after it), in constant time.</summary>
    internal bool HashProtectedVerifies(uint messageId, byte[] plain, int afterHash, ReadOnlySpan<byte> hash)
    {
        var expected = new byte[IkeActors.Crypto.IkeAlgorithms.HashLength(Transform!.CryptoHash)];
        IkeActors.Crypto.IkeHashes.InformationalHash(Transform.CryptoHash, _keys!.SkeyidA, messageId, plain.AsSpan(afterHash, IsakmpMessages.ChainEnd(plain) - afterHash), expected);
        return IkeActors.Crypto.IkePrf.FixedTimeEquals(expected, hash);
    }

    private void Resend(NegotiationOutput output)
    {
        if (_lastSent is null) return;
        if (IsakmpMessage.TryParse(_lastSent, out var m, out _))
        {
            if (!m.IsEncrypted) AsaDebug.IkeDecodeResending(output, IpContext, m.Header.MessageId, IsakmpMessages.PayloadTypes(_lastSent), _lastSent.Length);
        }
        output.Add(Datagram(_lastSent, retransmission: true));
    }

    internal void LogReceived(ReadOnlySpan<byte> plaintextMessage, NegotiationOutput output)
    {
        IsakmpMessage.TryParseDecrypted(plaintextMessage, out var m, out _);
        AsaDebug.IkeDecodeReceived(output, IpContext, m.Header.MessageId, IsakmpMessages.PayloadTypes(plaintextMessage), plaintextMessage.Length);
    }

    internal void ArmRetransmit(uint messageId, int attempt, NegotiationOutput output) =>
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Retransmit, messageId), Settings.RetransmitInterval * Math.Pow(2, attempt)));

    internal void CancelRetransmit(uint messageId, NegotiationOutput output) =>
        output.Add(new CancelTimer(InitiatorCookie, new TimerKey(TimerKind.Retransmit, messageId)));

    internal uint NewMessageId()
    {
        Span<byte> b = stackalloc byte[4];
        uint id;
        do
        {
            _gateway.Environment.Fill(b);
            id = BinaryPrimitives.ReadUInt32BigEndian(b);
        } while (id == 0 || UsesMessageId(id)); // RFC 2409 §5.5: unique, non-zero
        return id;
    }

    private static ulong NonZeroCookie(INegotiationEnvironment environment, Span<byte> buffer)
    {
        ulong value;
        do
        {
            environment.Fill(buffer);
            value = BinaryPrimitives.ReadUInt64BigEndian(buffer);
        } while (value == 0); // RFC 2408 §3.1: a zero cookie means "not yet known"
        return value;
    }

    /// <summary>A payload's body (its generic header left out): what RFC 2409 §5 hashes as SAi_b, IDii_b, IDir_b.</summary>
    internal static byte[] Body<T>(T payload) where T : struct, IIsakmpPayload
    {
        var buffer = new byte[payload.EncodedSize];
        payload.Write(buffer, 0);
        return buffer[4..];
    }

    internal static IkeActors.Crypto.DhGroup DhGroupOf(Phase1Transform t) => DhGroupOf(t.Group);

    /// <param name="exponent">How long our private exponents are (<see cref="NegotiationSettings.DhExponent"/>); only key pairs we generate differ.</param>
    internal static IkeActors.Crypto.DhGroup DhGroupOf(OakleyGroup g, IkeActors.Crypto.DhExponentPolicy exponent = IkeActors.Crypto.DhExponentPolicy.FullLength) =>
        IkeActors.Crypto.DhGroup.TryGet((int)g, out var group, exponent) ? group : throw new InvalidOperationException($"DH group {(int)g} is not implemented");
}
