using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// The messages of the Transaction exchange (ISAKMP exchange type 6, draft-dukes-ike-mode-cfg-02 §3.1) that carry XAUTH
/// and Mode Config: <c>HDR*, HASH, ATTR</c> under phase 1's keys, each exchange under its own message ID and IV (RFC 2409
/// appendix B), HASH = prf(SKEYID_a, M-ID | ATTR) in both directions (no nonce, unlike Quick Mode).
/// </summary>
internal static class TransactionMessages
{
    /// <summary>An attribute list read from the peer: the ATTR payload's type and identifier, its attributes as values.</summary>
    public sealed record Received(ConfigMessageType Type, ushort Identifier, IReadOnlyList<DataAttribute> Attributes)
    {
        public DataAttribute? Find(ModeConfigAttribute type)
        {
            foreach (var a in Attributes) if (a.Type == (ushort)type) return a;
            return null;
        }

        public bool Has(ModeConfigAttribute type) => Find(type) is not null;
    }

    /// <summary>HDR*, HASH, ATTR with <paramref name="messageId"/>: built, hashed, encrypted and sent.</summary>
    public static byte[] Send(IkeSa sa, uint messageId, ConfigMessageType type, ushort identifier, List<DataAttribute> attributes, NegotiationOutput output) =>
        sa.SendHashProtected(ExchangeType.Transaction, messageId, new AttributePayload { CfgType = type, Identifier = identifier, Attributes = attributes }, output);

    /// <summary>
    /// Decrypts and authenticates a Transaction message; null (nothing changed but a debug line) when it does not decrypt,
    /// has no HASH first or no ATTR, or the HASH does not verify in constant time.
    /// </summary>
    public static Received? Open(IkeSa sa, ReadOnlySpan<byte> datagram, uint messageId, NegotiationOutput output)
    {
        if (sa.Cipher is null || sa.Keys is null || !IsakmpMessages.TryDecrypt(datagram, sa.Cipher, messageId, out var plain))
        {
            output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.DecryptionFailed, "Transaction message did not decrypt"));
            return null;
        }
        sa.LogReceived(plain, output);
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        byte[]? hash = null;
        var afterHash = 0;
        var first = true;
        Received? received = null;
        foreach (var p in message.Payloads)
        {
            if (first && p.Type == (byte)PayloadType.Hash) { hash = p.Body.ToArray(); afterHash = p.Offset + p.Raw.Length; }
            else if (p.Type == (byte)PayloadType.Attribute && received is null && AttributePayloadView.TryParse(p.Raw, out var view, out _))
            {
                var list = new List<DataAttribute>();
                foreach (var a in view.Attributes) list.Add(DataAttribute.FromView(a));
                received = new Received(view.CfgType, view.Identifier, list);
            }
            first = false;
        }
        if (hash is null || received is null)
        {
            output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.Malformed, hash is null ? "no HASH first" : "no ATTR payload"));
            return null;
        }
        if (!sa.HashProtectedVerifies(messageId, plain, afterHash, hash))
        {
            output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.HashMismatch, "Transaction HASH does not verify"));
            return null;
        }
        sa.Cipher.AcceptReceived(messageId, datagram[IsakmpMessages.HeaderSize..]);
        AsaDebug.ProcessingHashPayload(output, sa.Context);
        return received;
    }
}
