using System.Buffers.Binary;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Peers;

/// <summary>
/// INITIAL-CONTACT inside the initiator's MM5 (strongSwan and Libreswan put it there; an ASA sends it in its first
/// Quick Mode, which <see cref="QuickModeExchange"/> reports itself). The hosts call <see cref="Read"/> after the step
/// that took a responder SA to MM_ACTIVE: the MM5 that did it has been authenticated by then (RFC 2409 §5 HASH_I),
/// so the notify speaks for the peer; it is read again with the SA's phase 1 keys and IV (RFC 2409 appendix B).
/// </summary>
public static class MainModeInitialContact
{
    /// <summary>
    /// Adds <see cref="InitialContactReceived"/> to <paramref name="output"/> when <paramref name="datagram"/> is the MM5
    /// that just authenticated <paramref name="sa"/> (responder, <paramref name="before"/> not yet MM_ACTIVE, now
    /// MM_ACTIVE) and it carries INITIAL-CONTACT (RFC 2407 §4.6.3.3). True when it did.
    /// </summary>
    public static bool Read(IkeSa sa, MainModeState before, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (sa.Role != IkeRole.Responder || before == MainModeState.MM_ACTIVE || sa.State != MainModeState.MM_ACTIVE) return false;
        if (datagram.Length <= Messages.HeaderSize || BinaryPrimitives.ReadUInt64BigEndian(datagram) != sa.InitiatorCookie) return false;
        if (sa.Keys is not { } keys || !IsakmpCipher.TryCreate(keys, out var cipher)) return false;
        using (cipher)
        {
            if (!Messages.TryDecrypt(datagram, cipher, 0, out var plaintext)) return false;
            try
            {
                if (!IsakmpMessage.TryParseDecrypted(plaintext, out var message, out _)) return false;
                foreach (var p in message.Payloads)
                {
                    if (p.Type == (byte)PayloadType.Notification && NotificationPayloadView.TryParse(p.Raw, out var n, out _)
                        && n.NotifyType == NotifyMessageType.InitialContact)
                    {
                        output.Add(new InitialContactReceived(sa.InitiatorCookie, sa.Peer.Address));
                        return true;
                    }
                }
                return false;
            }
            finally
            {
                Array.Clear(plaintext);
            }
        }
    }
}
