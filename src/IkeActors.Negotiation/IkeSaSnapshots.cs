using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// An IKE SA as plain data (<see cref="IkeSaSnapshot"/>) and back: what <see cref="IkeSa.Snapshot"/> and
/// <see cref="IkeSa.Restore"/> do. Checks every field on the way back in: a snapshot is input, as a datagram is.
/// </summary>
internal static class IkeSaSnapshots
{
    /// <summary>MM_ACTIVE, or waiting for the peer without a DH private key (see <see cref="IkeSa.CanSnapshot"/>).</summary>
    public static bool IsSnapshotState(IkeRole role, MainModeState state) => state switch
    {
        MainModeState.MM_ACTIVE => true,
        MainModeState.MM_WAIT_MSG2 or MainModeState.MM_WAIT_MSG6 => role == IkeRole.Initiator,
        MainModeState.MM_WAIT_MSG3 or MainModeState.MM_WAIT_MSG5 => role == IkeRole.Responder,
        // Aggressive Mode: the responder waits for AM3 with its keys derived (no DH private value left); the initiator
        // waits for AM2 holding its DH private value, which is never persisted.
        MainModeState.AM_WAIT_MSG3 => role == IkeRole.Responder,
        _ => false,
    };

    /// <summary>Whether the phase-1 keys exist in this state.</summary>
    private static bool HasKeys(MainModeState state) => state is MainModeState.MM_ACTIVE or MainModeState.MM_WAIT_MSG5 or MainModeState.MM_WAIT_MSG6 or MainModeState.AM_WAIT_MSG3;

    public static IkeSaSnapshot Snapshot(IkeSa sa)
    {
        if (!sa.CanSnapshot) throw new InvalidOperationException($"an IKE SA in {sa.State} ({sa.Role}) cannot be snapshotted (see IkeSa.CanSnapshot)");
        var (quickModes, omitted) = sa.Table.Snapshot();
        Phase1KeySnapshot? keys = null;
        if (HasKeys(sa.State))
        {
            var ivs = sa.Cipher!.ExportIvs();
            keys = new Phase1KeySnapshot
            {
                Skeyid = sa.Keys!.Skeyid.ToArray(),
                SkeyidD = sa.Keys.SkeyidD.ToArray(),
                SkeyidA = sa.Keys.SkeyidA.ToArray(),
                SkeyidE = sa.Keys.SkeyidE.ToArray(),
                EncryptionKey = sa.Keys.EncryptionKey.ToArray(),
                Phase1Iv = ivs.Phase1Iv,
                Phase2Ivs = ivs.Phase2Ivs.Where(kv => !omitted.Contains(kv.Key)).Select(kv => new MessageIvSnapshot { MessageId = kv.Key, Iv = kv.Value }).ToList(),
            };
        }
        return new IkeSaSnapshot
        {
            Role = sa.Role,
            State = sa.State,
            Aggressive = sa.Aggressive,
            PeerAddress = sa.Peer.Address.ToString(),
            PeerPort = sa.Peer.Port,
            LocalAddress = sa.Gateway.Local.Address.ToString(),
            LocalPort = sa.Gateway.Local.Port,
            InitiatorCookie = sa.InitiatorCookie,
            ResponderCookie = sa.ResponderCookie,
            Transform = sa.Transform is null ? null : Phase1TransformSnapshot.From(sa.Transform),
            SaiBody = sa.Transcript.SaiBody.ToArray(),
            Gxi = sa.Transcript.Gxi.ToArray(),
            Gxr = sa.Transcript.Gxr.ToArray(),
            Ni = sa.Transcript.Ni.ToArray(),
            Nr = sa.Transcript.Nr.ToArray(),
            IdiiBody = sa.Transcript.IdiiBody.ToArray(),
            IdirBody = sa.Transcript.IdirBody.ToArray(),
            TunnelGroup = sa.TunnelGroup,
            NatDetected = sa.NatDetected,
            NatTraversal = sa.NatTraversal,
            NatTPeerAddress = sa.NatTPeer?.Address.ToString(),
            NatTPeerPort = sa.NatTPeer?.Port ?? 0,
            PendingPeerNatMatches = sa.Nat.Pending?.PeerNatMatches,
            PendingLocalNatMatches = sa.Nat.Pending?.LocalNatMatches,
            Keys = keys,
            LastSent = sa.LastSent?.ToArray(),
            LastReceived = sa.LastReceived?.ToArray(),
            Retransmits = sa.Retransmits,
            InitialContactSent = sa.InitialContactSent,
            InitialAcquire = sa.InitialAcquire is null ? null : AcquireSnapshot.From(sa.InitialAcquire),
            PendingAcquires = sa.PendingAcquires.Select(AcquireSnapshot.From).ToList(),
            QuickModes = quickModes,
            PeerSupportsDpd = sa.Dpd.PeerSupportsDpd,
            DpdSequence = sa.Dpd.Sequence,
            DpdRoundStart = sa.Dpd.RoundStart,
            DpdUnanswered = sa.Dpd.Unanswered,
            RekeyOf = sa.RekeyOf,
            RekeyedBy = sa.RekeyedBy,
            Successor = sa.Successor,
            RemoteAccess = sa.RemoteAccess.Snapshot(),
        };
    }

    public static IkeSa Restore(GatewayContext gateway, IkeSaSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(snapshot);
        var s = snapshot;
        if (s.Version != IkeSaSnapshot.CurrentVersion) throw Bad($"version {s.Version} is not {IkeSaSnapshot.CurrentVersion}");
        if (!Enum.IsDefined(s.Role)) throw Bad($"unknown role {(int)s.Role}");
        if (!Enum.IsDefined(s.State)) throw Bad($"unknown Main Mode state {(int)s.State}");
        if (!IsSnapshotState(s.Role, s.State)) throw Bad($"{s.State} is not a state a {s.Role} SA is snapshotted in");
        if (!IPAddress.TryParse(s.PeerAddress ?? "", out var peerAddress)) throw Bad($"peer address '{s.PeerAddress}' does not parse");
        if (s.PeerPort is < 1 or > 65535) throw Bad($"peer port {s.PeerPort} out of range");
        if (!IPAddress.TryParse(s.LocalAddress ?? "", out var localAddress)) throw Bad($"local address '{s.LocalAddress}' does not parse");
        if (!localAddress.Equals(gateway.Local.Address))
            throw Bad($"the SA belongs to gateway address {localAddress}, this gateway is {gateway.Local.Address}");
        if (s.InitiatorCookie == 0) throw Bad("initiator cookie is zero");
        var waitingForMm2 = s.State == MainModeState.MM_WAIT_MSG2;
        if (s.ResponderCookie == 0 && !waitingForMm2) throw Bad($"responder cookie is zero in {s.State}");
        if (Missing(s.SaiBody)) throw Bad("SAi_b is missing");
        if (s.Retransmits < 0 || s.Retransmits > gateway.Settings.RetransmitLimit) throw Bad($"retransmit count {s.Retransmits} out of range");
        if (s.PendingAcquires is null || s.QuickModes is null) throw Bad("acquire or Quick Mode list is missing");
        CheckDatagram(s.LastSent, s.InitiatorCookie, "last sent datagram");
        CheckDatagram(s.LastReceived, s.InitiatorCookie, "last received datagram");

        Phase1Transform? transform = null;
        if (s.Transform is { } t)
        {
            transform = t.ToTransform();
            if (!transform.IsImplemented) throw Bad($"phase-1 transform {t} is not one this gateway implements");
        }
        else if (!waitingForMm2) throw Bad($"phase-1 transform is missing in {s.State}");

        var sa = new IkeSa(gateway, s.Role, new IPEndPoint(peerAddress, s.PeerPort), s.InitiatorCookie);
        try
        {
            sa.ResponderCookie = s.ResponderCookie;
            if (s.State == MainModeState.AM_WAIT_MSG3 && !s.Aggressive) throw Bad("AM_WAIT_MSG3 in a Main Mode SA");
            sa.Aggressive = s.Aggressive;
            sa.ResumeAt(s.State);
            sa.Transform = transform;
            sa.Transcript.SaiBody = s.SaiBody.ToArray();
            sa.Transcript.Gxi = s.Gxi?.ToArray() ?? throw Bad("g^xi is missing");
            sa.Transcript.Gxr = s.Gxr?.ToArray() ?? throw Bad("g^xr is missing");
            sa.Transcript.Ni = s.Ni?.ToArray() ?? throw Bad("Ni is missing");
            sa.Transcript.Nr = s.Nr?.ToArray() ?? throw Bad("Nr is missing");
            sa.Transcript.IdiiBody = s.IdiiBody?.ToArray() ?? throw Bad("IDii body is missing");
            sa.Transcript.IdirBody = s.IdirBody?.ToArray() ?? throw Bad("IDir body is missing");
            sa.TunnelGroup = s.TunnelGroup;
            sa.Nat.Detected = s.NatDetected;
            if (!Enum.IsDefined(s.NatTraversal)) throw Bad($"NAT-T version {(int)s.NatTraversal} unknown");
            sa.Nat.Version = s.NatTraversal;
            if (s.NatTPeerAddress is { } natAddress)
            {
                // The float never changes the peer's address (RFC 3947 §4: the port only).
                if (!IPAddress.TryParse(natAddress, out var a) || !a.Equals(sa.Peer.Address) || s.NatTPeerPort is <= 0 or > 65535)
                    throw Bad($"NAT-T endpoint {natAddress}:{s.NatTPeerPort} is not the peer's");
                sa.Nat.NatTPeer = new IPEndPoint(a, s.NatTPeerPort);
            }
            if (s.PendingPeerNatMatches is { } pn && s.PendingLocalNatMatches is { } ln) sa.Nat.Pending = (pn, ln);
            sa.LastSent = s.LastSent?.ToArray();
            sa.LastReceived = s.LastReceived?.ToArray();
            sa.Retransmits = s.Retransmits;
            sa.InitialContactSent = s.InitialContactSent;
            if (s.DpdUnanswered < 0 || s.DpdUnanswered > IkeSa.DpdRetransmissions + 1) throw Bad($"DPD unanswered count {s.DpdUnanswered} out of range");
            sa.Dpd.PeerSupportsDpd = s.PeerSupportsDpd;
            sa.Dpd.Sequence = s.DpdSequence;
            sa.Dpd.RoundStart = s.DpdRoundStart;
            sa.Dpd.Unanswered = s.DpdUnanswered;
            if (s.RekeyOf == s.InitiatorCookie || s.RekeyedBy == s.InitiatorCookie) throw Bad("the SA rekeys itself");
            sa.RekeyOf = s.RekeyOf;
            sa.RekeyedBy = s.RekeyedBy;
            if (s.Successor == s.InitiatorCookie) throw Bad("the SA succeeds itself");
            sa.Successor = s.Successor;
            if (s.InitialAcquire is { } initial) sa.InitialAcquire = ResolveAcquire(gateway, initial, peerAddress);
            foreach (var pending in s.PendingAcquires) sa.PendingAcquires.Add(ResolveAcquire(gateway, pending ?? throw Bad("a pending acquire is null"), peerAddress));

            if (s.RemoteAccess is { } ra)
            {
                if (s.State != MainModeState.MM_ACTIVE) throw Bad($"remote-access state in {s.State}, before phase 1 completed");
                sa.RemoteAccess.Restore(ra);
            }
            if (HasKeys(s.State)) RestoreKeys(sa, s);
            else if (s.Keys is not null) throw Bad($"keys present in {s.State}, before they are derived");
            if (s.State == MainModeState.MM_ACTIVE)
            {
                if (string.IsNullOrEmpty(s.TunnelGroup)) throw Bad("tunnel group is missing");
                if (sa.Transcript.IdiiBody.Length == 0 || sa.Transcript.IdirBody.Length == 0) throw Bad("ID bodies are missing in MM_ACTIVE");
            }
            else if (s.QuickModes.Count > 0) throw Bad($"Quick Modes present in {s.State}, before phase 1 completed");

            foreach (var q in s.QuickModes) sa.Table.Restore(q ?? throw Bad("a Quick Mode is null"));
            return sa;
        }
        catch
        {
            sa.Dispose();
            throw;
        }
    }

    private static void RestoreKeys(IkeSa sa, IkeSaSnapshot s)
    {
        var k = s.Keys ?? throw Bad($"phase-1 keys are missing in {s.State}");
        var group = IkeSa.DhGroupOf(sa.Transform!);
        if (sa.Transcript.Gxi.Length != group.PublicValueLength || sa.Transcript.Gxr.Length != group.PublicValueLength)
            throw Bad($"g^xi/g^xr are {sa.Transcript.Gxi.Length}/{sa.Transcript.Gxr.Length} bytes, group {(int)sa.Transform!.Group} has {group.PublicValueLength}");
        if (sa.Transcript.Ni.Length is < 8 or > 256 || sa.Transcript.Nr.Length is < 8 or > 256) throw Bad($"nonce lengths {sa.Transcript.Ni.Length}/{sa.Transcript.Nr.Length} out of range (RFC 2409 §5)");
        if (string.IsNullOrEmpty(s.TunnelGroup)) throw Bad($"tunnel group is missing in {s.State}");
        if (Missing(k.Skeyid) || Missing(k.SkeyidD) || Missing(k.SkeyidA) || Missing(k.SkeyidE) || Missing(k.EncryptionKey) || k.Phase1Iv is null || k.Phase2Ivs is null)
            throw Bad("phase-1 key material is incomplete");
        var status = Phase1Keys.TryFromMaterial(sa.Transform!.CryptoHash, sa.Transform.CryptoCipher, sa.Transform.KeyLengthBits,
            k.Skeyid, k.SkeyidD, k.SkeyidA, k.SkeyidE, k.EncryptionKey, sa.Transcript.Gxi, sa.Transcript.Gxr, out var keys);
        if (status != Phase1KeyStatus.Ok || keys is null) throw Bad($"phase-1 keys do not fit the transform {s.Transform} ({status})");
        if (!IsakmpCipher.TryCreate(keys, out var cipher))
        {
            keys.Dispose();
            throw Bad("the ISAKMP cipher cannot be created from the keys");
        }
        sa.KeysDerived(keys, cipher);
        if (k.Phase2Ivs.Any(iv => iv is null || iv.Iv is null)) throw Bad("a phase-2 IV is missing");
        var ivs = new IsakmpIvState(k.Phase1Iv, k.Phase2Ivs.Select(iv => new KeyValuePair<uint, byte[]>(iv.MessageId, iv.Iv)).ToList());
        if (!cipher.TryImportIvs(ivs))
            throw Bad($"IV state does not fit the cipher ({cipher.BlockSize}-byte blocks, message IDs non-zero and unique)");
    }

    /// <summary>The crypto map entry an acquire or Quick Mode named, from this gateway's configuration.</summary>
    internal static CryptoMapMatch ResolveAcquire(GatewayContext gateway, AcquireSnapshot a, IPAddress peer) =>
        ResolveMatch(gateway, a.CryptoMap, a.Sequence, a.Local ?? throw Bad("acquire without local proxy"), a.Remote ?? throw Bad("acquire without remote proxy"), peer);

    internal static CryptoMapMatch ResolveMatch(GatewayContext gateway, string? mapName, int sequence, ProxyIdSnapshot local, ProxyIdSnapshot remote, IPAddress peer)
    {
        if (gateway.Config.FindCryptoMap(mapName ?? "") is null && gateway.Config.FindDynamicMap(mapName ?? "") is { } dynamicMap)
            return ResolveDynamicMatch(gateway, dynamicMap, sequence, local, remote);
        var map = gateway.Config.CryptoMaps.FirstOrDefault(m => m.Name == mapName) ?? throw Bad($"crypto map '{mapName}' is not in the configuration");
        var entry = map.Entry(sequence) ?? throw Bad($"crypto map {mapName} has no entry {sequence}");
        if (!entry.IsComplete) throw Bad($"crypto map {mapName} {sequence} is incomplete");
        var acl = gateway.Config.AccessLists.FirstOrDefault(a => a.Name == entry.MatchAddress) ?? throw Bad($"access-list {entry.MatchAddress} is not in the configuration");
        if (local.First > local.Last || remote.First > remote.Last) throw Bad("a proxy range is inverted");
        var (l, r) = (local.ToProxyId(), remote.ToProxyId());
        // The ACE is informational (not used by the exchanges): the one the proxies hit if there is one, else the ACL's first permit.
        var check = gateway.Lookup.StaticCryptoMapCheck(peer, l, r, gateway.OutsideInterface);
        var ace = check.Match is { } m && m.Map.Name == map.Name && m.Entry.Sequence == sequence ? m.Ace
            : acl.Entries.FirstOrDefault(e => !e.IsRemark && !e.Inactive && e.Action == AclAction.Permit)
              ?? throw Bad($"access-list {acl.Name} has no permit line");
        return new CryptoMapMatch(map, entry, acl, ace, l, r);
    }

    /// <summary>A responder's match on a dynamic map entry: the crypto map on the outside interface that refers to the map, and the entry's ACL if it has one.</summary>
    private static CryptoMapMatch ResolveDynamicMatch(GatewayContext gateway, DynamicMap dynamicMap, int sequence, ProxyIdSnapshot local, ProxyIdSnapshot remote)
    {
        var entry = dynamicMap.Entry(sequence) ?? throw Bad($"dynamic map {dynamicMap.Name} has no entry {sequence}");
        if (!entry.IsCompleteDynamic) throw Bad($"dynamic map {dynamicMap.Name} {sequence} has no transform set");
        var map = gateway.Config.CryptoMaps.FirstOrDefault(m => m.Interface == gateway.OutsideInterface && m.Entries.Any(e => e.DynamicMap == dynamicMap.Name))
            ?? gateway.Config.CryptoMaps.FirstOrDefault(m => m.Entries.Any(e => e.DynamicMap == dynamicMap.Name))
            ?? throw Bad($"no crypto map refers to dynamic map {dynamicMap.Name}");
        if (local.First > local.Last || remote.First > remote.Last) throw Bad("a proxy range is inverted");
        var (l, r) = (local.ToProxyId(), remote.ToProxyId());
        AccessList? acl = null;
        AccessListEntry? ace = null;
        if (entry.MatchAddress is { } aclName)
        {
            acl = gateway.Config.AccessLists.FirstOrDefault(a => a.Name == aclName) ?? throw Bad($"access-list {aclName} is not in the configuration");
            ace = acl.Entries.FirstOrDefault(e => !e.IsRemark && !e.Inactive && e.Action == AclAction.Permit) ?? throw Bad($"access-list {acl.Name} has no permit line");
        }
        return new CryptoMapMatch(map, entry, acl, ace, l, r) { Dynamic = dynamicMap };
    }

    private static void CheckDatagram(byte[]? datagram, ulong initiatorCookie, string what)
    {
        if (datagram is null) return;
        if (!IsakmpMessage.TryParse(datagram, out var m, out var error)) throw Bad($"{what} is not an ISAKMP message ({error})");
        if (m.Header.InitiatorCookie != initiatorCookie) throw Bad($"{what} belongs to another IKE SA");
    }

    private static bool Missing(byte[]? bytes) => bytes is null || bytes.Length == 0;

    internal static IkeSaSnapshotException Bad(string message) => new($"IKE SA snapshot cannot be restored: {message}");
}
