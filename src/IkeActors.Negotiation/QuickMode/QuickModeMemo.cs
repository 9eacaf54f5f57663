namespace IkeActors.Negotiation;

/// <summary>
/// What is kept of a Quick Mode once it is over (QM_ACTIVE: with its <see cref="IpsecSa"/>; QM_DELETED: by the
/// IKE SA): its nonces and its last request and answer. RFC 2408 §5: a retransmitted request is answered
/// with the same answer, so an initiator whose QM3 was lost answers the responder's QM2 again.
/// </summary>
internal sealed class QuickModeMemo(uint messageId, QuickModeState outcome, CryptoMapMatch? match, byte[] ni, byte[] nr, byte[]? lastReceived, byte[]? lastSent)
{
    public uint MessageId { get; } = messageId;
    /// <summary>QM_ACTIVE (the pair was installed) or QM_DELETED (the exchange failed).</summary>
    public QuickModeState Outcome { get; } = outcome;
    public CryptoMapMatch? Match { get; } = match;
    public byte[] Ni { get; } = ni;
    public byte[] Nr { get; } = nr;
    public byte[]? LastReceived { get; } = lastReceived;
    public byte[]? LastSent { get; } = lastSent;

    /// <summary>A datagram for the finished exchange's message ID: the answer again for a repeated request, dropped otherwise.</summary>
    internal void Receive(IkeSa sa, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (LastReceived is not null && datagram.SequenceEqual(LastReceived))
        {
            if (LastSent is not null) output.Add(sa.Datagram(LastSent, retransmission: true));
            return;
        }
        if (!IsakmpMessages.TryDecrypt(datagram, sa.Cipher!, MessageId, out _))
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.DecryptionFailed, "did not decrypt to valid payloads"));
            return;
        }
        output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.UnexpectedMessage, $"unexpected message in {Outcome}"));
    }
}
