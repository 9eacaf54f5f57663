namespace IkeActors.Grains;

/// <summary>One IPsec SA pair, keyed by "peer/inbound SPI" (hex): pushes its keys to the data plane and withdraws them.</summary>
public interface IIpsecSaGrain : IGrainWithStringKey
{
    /// <summary>
    /// The pair, and the IKE SA grain that owns it (see <see cref="SetOwner"/>); it completes an inbound SA installed
    /// alone. The record is the grain's from then on (within a silo not copied: one copy of the keys less, and no
    /// copier made for every call): the caller builds it for this call and keeps no reference.
    /// </summary>
    Task Install([Immutable] IpsecSaRecord record, string ownerIkeSaKey);

    /// <summary>
    /// The inbound SA alone (a Quick Mode responder's, at QM2: the record has no outbound keys): the data plane receives
    /// on it until <see cref="Install"/> completes the pair at QM3, or <see cref="Withdraw"/> takes it out. A second
    /// call while the grain holds this SPI changes nothing (the engine announces it again after a restore).
    /// </summary>
    Task InstallInbound([Immutable] IpsecSaRecord record, string ownerIkeSaKey);

    Task Withdraw(string reason);

    /// <summary>The IKE SA grain that owns the pair now (set on install, changed by a Phase 1 rekey's hand-over).</summary>
    Task SetOwner(string ikeSaKey);

    /// <summary>
    /// The data plane (which knows SPIs, not IKE SAs) reports the kilobytes this pair has carried, a running
    /// total; forwarded to the owning IKE SA grain without waiting (see <see cref="IIkeSaGrain.AccountTraffic"/>).
    /// </summary>
    Task AccountTraffic(long kilobytes);

    /// <summary>The data plane decapsulated packets of this pair since its last report: the peer is alive, so its
    /// IKE SA's DPD idle clock restarts (RFC 3706 §5.3: R-U-THERE only after an idle period). Forwarded without waiting.</summary>
    Task PeerTraffic();

    /// <summary>SPIs, transform, lifetimes and proxies (keys zeroed in the copy) of the installed pair; null while none (or only its inbound SA) is.</summary>
    Task<IpsecSaRecord?> Describe();

    public static string KeyFor(string peer, uint inboundSpi) => $"{peer}/{inboundSpi:x8}";

    /// <summary>The peer and inbound SPI a key of <see cref="KeyFor"/> names; null for anything else.</summary>
    public static (string Peer, uint InboundSpi)? ParseKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return slash > 0 && uint.TryParse(key.AsSpan(slash + 1), System.Globalization.NumberStyles.HexNumber, null, out var spi) ? (key[..slash], spi) : null;
    }
}
