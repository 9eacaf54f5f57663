using System.Diagnostics;
using System.Net;
using IkeActors.Negotiation;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// What is known of one IKE SA, and the span attributes that say it: peer, cookies, role, tunnel
/// group, NAT, the chosen proposals. Names and numbers from the generated enums, never key material.
/// </summary>
internal sealed class SaIdentity
{
    private IPEndPoint? _peer;
    private ulong _initiatorCookie, _responderCookie;
    private IkeRole? _role;
    private string? _tunnelGroup;
    private bool? _nat;
    private Phase1Transform? _phase1;

    public bool IsResponder => _role == IkeRole.Responder;

    public string RoleName => _role switch { IkeRole.Initiator => "initiator", IkeRole.Responder => "responder", _ => "unknown" };

    /// <summary>From the datagram that reached the SA's grain, before the engine made an SA of it.</summary>
    public void Arrived(IPEndPoint from, ulong initiatorCookie)
    {
        _peer ??= from;
        if (_initiatorCookie == 0) _initiatorCookie = initiatorCookie;
    }

    /// <summary>RFC 2409 §5: the initiator sends MM1 and the responder receives it.</summary>
    public void RoleFromMessage1(IkeRole role) => _role ??= role;

    /// <summary>A new SA in the same grain (a new MM1 after the old SA was deleted): same peer and cookie, the rest is new.</summary>
    public void Reset()
    {
        _role = null; _responderCookie = 0; _tunnelGroup = null; _nat = null; _phase1 = null;
    }

    public void Learn(IkeSa? sa)
    {
        if (sa is null) return;
        _peer = sa.Peer;
        _role = sa.Role;
        _initiatorCookie = sa.InitiatorCookie;
        if (sa.ResponderCookie != 0) _responderCookie = sa.ResponderCookie;
        _tunnelGroup = sa.TunnelGroup ?? _tunnelGroup;
        // RFC 3947 §3: NAT is known once the NAT-D payloads of MM3/MM4 are compared.
        if (sa.State is not (MainModeState.MM_NO_STATE or MainModeState.MM_WAIT_MSG2 or MainModeState.MM_WAIT_MSG3) || sa.NatDetected) _nat = sa.NatDetected;
        _phase1 = sa.Transform ?? _phase1;
    }

    public void Learn(IkeSaSummary sa)
    {
        _responderCookie = sa.ResponderCookie;
        _tunnelGroup = sa.TunnelGroup ?? _tunnelGroup;
        _nat = sa.NatDetected;
        _phase1 = sa.Transform ?? _phase1;
    }

    /// <summary>The SA's identity and phase 1 proposal, as far as known.</summary>
    public void Describe(Activity span)
    {
        if (_peer is { } peer)
        {
            span.SetTag(A.Peer, peer.Address.ToString());
            span.SetTag(A.PeerPort, peer.Port);
        }
        if (_tunnelGroup is { } g) span.SetTag(A.TunnelGroup, g);
        if (_role is not null) span.SetTag(A.Role, RoleName);
        if (_initiatorCookie != 0) span.SetTag(A.InitiatorCookie, _initiatorCookie.ToString("x16"));
        if (_responderCookie != 0) span.SetTag(A.ResponderCookie, _responderCookie.ToString("x16"));
        if (_nat is { } nat) span.SetTag(A.NatDetected, nat);
        if (_phase1 is { } p)
        {
            span.SetTag(A.P1Encryption, p.Encryption.ToString());
            if (p.KeyLengthBits > 0) span.SetTag(A.P1KeyLength, p.KeyLengthBits);
            span.SetTag(A.P1Hash, p.Hash.ToString());
            span.SetTag(A.P1Group, p.Group.ToString());
            span.SetTag(A.P1Authentication, p.Authentication.ToString());
            span.SetTag(A.P1Lifetime, p.LifetimeSeconds);
        }
    }

    /// <summary>A Quick Mode in progress: what it has chosen so far.</summary>
    public static void Describe(Activity span, QuickModeExchange qm)
    {
        if (qm.Transform is { } t) Describe(span, t, qm.LifetimeSeconds, qm.LifetimeKilobytes);
        if (qm.InboundSpi != 0) span.SetTag(A.InboundSpi, Hex(qm.InboundSpi));
        if (qm.OutboundSpi != 0) span.SetTag(A.OutboundSpi, Hex(qm.OutboundSpi));
        if (qm.Local != default) span.SetTag(A.LocalProxy, qm.Local.ToString());
        if (qm.Remote != default) span.SetTag(A.RemoteProxy, qm.Remote.ToString());
        if (qm.Match is { } m)
        {
            span.SetTag(A.CryptoMap, m.Tag);
            span.SetTag(A.CryptoMapSequence, m.Entry.Sequence);
        }
    }

    /// <summary>An installed pair: SPIs (hex), proxies, crypto map entry and the chosen transform.</summary>
    public static void Describe(Activity span, IpsecSaPair pair)
    {
        Describe(span, pair.Transform, pair.LifetimeSeconds, pair.LifetimeKilobytes);
        span.SetTag(A.InboundSpi, Hex(pair.Inbound.Spi));
        span.SetTag(A.OutboundSpi, Hex(pair.Outbound.Spi));
        span.SetTag(A.LocalProxy, pair.Local.ToString());
        span.SetTag(A.RemoteProxy, pair.Remote.ToString());
        span.SetTag(A.CryptoMap, pair.CryptoMap);
        span.SetTag(A.CryptoMapSequence, pair.Sequence);
    }

    private static void Describe(Activity span, IpsecTransform t, int lifetimeSeconds, long? lifetimeKilobytes)
    {
        span.SetTag(A.P2Encryption, t.Cipher.ToString());
        if (t.KeyLengthBits > 0) span.SetTag(A.P2KeyLength, t.KeyLengthBits);
        span.SetTag(A.P2Integrity, t.Integrity.ToString());
        span.SetTag(A.P2Mode, t.Mode.ToString());
        if (t.PfsGroup is { } g) span.SetTag(A.P2PfsGroup, g.ToString());
        span.SetTag(A.P2Lifetime, lifetimeSeconds);
        if (lifetimeKilobytes is { } kb) span.SetTag(A.P2LifetimeKilobytes, kb);
    }

    public static string Hex(uint value) => value.ToString("x8");
}
