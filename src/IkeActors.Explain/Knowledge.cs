using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>Where a catalog line can occur: side, message (MM1…, AM1…, QM1…), stage. '*' is any.</summary>
internal readonly record struct Hint(Side Side, string? Message, Stage Stage)
{
    public const string? AnyMessage = null;
    public bool AnySide => Side == Side.Unknown;
}

/// <summary>
/// What each catalog line means in the negotiation: where it occurs (which side, which
/// message, building or reading) and a plain-words description in the spirit of the
/// "Initiator/Responder Message Description" columns of the Cisco document the product
/// comes from. Lines not listed get a description derived from their wording. A line that
/// Main Mode and Aggressive Mode both print has a hint for each (RFC 2409 §5.4: what Main
/// Mode spreads over MM1-MM6, Aggressive Mode packs into AM1 (SA, KE, nonce, ID), AM2 (the
/// same and HASH_R) and AM3 (HASH_I)); a negotiation's lines are placed in the mode it runs.
/// </summary>
internal static class Knowledge
{
    private sealed record Info(string Hints, string Description);

    private static readonly Dictionary<string, Info> Table = new(StringComparer.Ordinal)
    {
        // ---- trace of every datagram
        ["IkeDecodeSending"] = new("", "The message is sent to the peer; the list names its payloads."),
        ["IkeDecodeReceived"] = new("", "A message arrived from the peer (shown after decryption); the list names its payloads."),
        ["IkeDecodeResending"] = new("", "Retransmission: no answer to the last message yet, so it is sent again."),
        ["IkeReceiverPacketReceived"] = new("", "The IKE socket received a datagram; no SA has been looked up yet."),

        // ---- MM1 (initiator)
        ["PitcherKeyAcquire"] = new("I:MM1:b I:AM1:b", "Interesting traffic matched the crypto ACL and there is no IPsec SA: the key engine asks IKE to build a tunnel. Main Mode begins; the peers are still in MM_NO_STATE."),
        ["InitiatorNewPhase1"] = new("I:MM1:b I:AM1:b", "The ASA is the initiator: no IKE SA with this peer yet, so phase 1 (Main Mode) starts for the proxies of the crypto map entry that matched the traffic."),
        ["InitiatorNewPhase2"] = new("I:QM1:b", "An IKE SA with the peer is already up: a new phase 2 (Quick Mode) starts for these proxies."),
        ["InitiatorRekeyingPhase2"] = new("I:QM1:b", "The phase 2 rekey timer fired: a new Quick Mode replaces the IPsec SA before it expires."),
        ["InitiatorRekeyingPhase1"] = new("I:MM1:b I:AM1:b", "The phase 1 rekey timer fired: a new Main Mode replaces the IKE SA before it expires."),
        ["ConstructingIsakmpSaPayload"] = new("I:MM1:b R:MM2:b I:AM1:b R:AM2:b", "Builds the SA payload: the initiator offers every ISAKMP policy as a transform; the responder returns the one it chose."),
        ["ConstructingNatTraversalVid02Payload"] = new("*:*:b", "Advertises NAT-Traversal (draft 02) so the peers can detect NAT later."),
        ["ConstructingNatTraversalVid03Payload"] = new("*:*:b", "Advertises NAT-Traversal (draft 03)."),
        ["ConstructingNatTraversalVidRfcPayload"] = new("*:*:b", "Advertises NAT-Traversal as in RFC 3947."),
        ["ConstructingFragmentationVidPayload"] = new("*:*:b", "Advertises Cisco IKE fragmentation support."),

        // ---- MM1 received (responder) / MM2 received (initiator)
        ["ProcessingSaPayload"] = new("R:MM1:p I:MM2:p R:AM1:p I:AM2:p R:QM1:p I:QM2:p", "Reads the SA payload of the received message."),
        ["OakleyProposalAcceptable"] = new("R:MM1:p I:MM2:p R:AM1:p I:AM2:p", "The SA payload is well formed (IPsec DOI, identity-only situation); the comparison of ISAKMP/IKE policies begins."),
        ["ProcessingVidPayload"] = new("*:*:p", "Reads a vendor ID payload: the peer advertises a capability."),
        ["ReceivedNatTraversalRfcVid"] = new("*:*:p", "The peer supports NAT-Traversal (RFC 3947)."),
        ["ReceivedNatTraversalVer03Vid"] = new("*:*:p", "The peer supports NAT-Traversal (draft 03)."),
        ["ReceivedNatTraversalVer02Vid"] = new("*:*:p", "The peer supports NAT-Traversal (draft 02)."),
        ["ReceivedFragmentationVid"] = new("*:*:p", "The peer supports Cisco IKE fragmentation."),
        ["ProcessingIkeSaPayload"] = new("R:MM1:p R:AM1:p", "The responder compares the initiator's proposals with its ISAKMP policies, in priority order."),
        ["IkeSaProposalAcceptable"] = new("R:MM1:p R:AM1:p", "An offered transform matches one of this ASA's ISAKMP policies: encryption, hash, DH group, authentication and lifetime are agreed."),
        ["AllSaProposalsUnacceptable"] = new("R:MM1:p R:AM1:p", "None of the offered transforms matches an ISAKMP policy: the responder answers NO-PROPOSAL-CHOSEN and phase 1 stops."),
        ["Phase1AttributeMismatch"] = new("R:MM1:p R:AM1:p", "One attribute of an offered transform differs from the configured ISAKMP policy."),

        // ---- MM3 / MM4 construction
        ["ConstructingKePayload"] = new("I:MM3:b R:MM4:b I:AM1:b R:AM2:b", "Builds the key exchange payload: this side's Diffie-Hellman public value."),
        ["ConstructingNoncePayload"] = new("I:MM3:b R:MM4:b I:AM1:b R:AM2:b", "Builds the nonce payload (random data mixed into the keys)."),
        ["ConstructingCiscoUnityVidPayload"] = new("*:*:b", "Advertises Cisco Unity (Cisco client/peer features)."),
        ["ConstructingXauthV6VidPayload"] = new("*:*:b", "Advertises XAUTH support."),
        ["SendIosVid"] = new("*:*:b", "Advertises itself as a Cisco IOS peer."),
        ["ConstructingAsaSpoofingIosVid"] = new("*:*:b", "Builds the IOS vendor ID with this ASA's capabilities."),
        ["ConstructingVidPayload"] = new("*:*:b", "Builds a vendor ID payload."),
        ["SendAltigaVid"] = new("*:*:b", "Advertises itself as a Cisco VPN 3000 / ASA gateway."),
        ["ConstructingNatDiscoveryPayload"] = new("I:MM3:b R:MM4:b R:AM2:b I:AM3:b", "Builds a NAT-D payload: a hash of the addresses and ports as this side sees them."),
        ["ComputingNatDiscoveryHash"] = new("", "Computes a NAT-Discovery hash (of cookies, address and port) to compare with the peer's."),

        // ---- MM3 received (responder) / MM4 received (initiator)
        ["ProcessingKePayload"] = new("R:MM3:p I:MM4:p R:AM1:p I:AM2:p", "Reads the peer's Diffie-Hellman public value: with it this side computes the shared secret."),
        ["ProcessingIsaKePayload"] = new("R:MM3:p I:MM4:p R:AM1:p I:AM2:p", "The key exchange payload is processed."),
        ["ProcessingNoncePayload"] = new("*:*:p", "Reads the peer's nonce."),
        ["ReceivedDpdVid"] = new("*:*:p", "The peer supports Dead Peer Detection (RFC 3706)."),
        ["ReceivedCiscoUnityClientVid"] = new("*:*:p", "The peer is a Cisco Unity device."),
        ["ReceivedXauthV6Vid"] = new("*:*:p", "The peer supports XAUTH."),
        ["ReceivedAltigaVid"] = new("*:*:p", "The peer is a Cisco VPN 3000 / ASA gateway."),
        ["ProcessingIosPixVid"] = new("*:*:p", "The peer is a Cisco IOS/PIX device; its capability flags are read."),
        ["ProcessingNatDiscoveryPayload"] = new("R:MM3:p I:MM4:p I:AM2:p R:AM3:p", "Reads a NAT-D payload: from these hashes this side can tell whether a NAT device sits between the peers."),
        ["NatDiscoveryPayloadsMissing"] = new("*:*:p", "NAT-T was advertised but the NAT-D payloads are missing: NAT-Traversal is abandoned."),
        ["NatTraversalAutoDetected"] = new("*:*:p", "A NAT device was detected: NAT-Traversal (UDP 4500) is used."),
        ["ConnectionLandedOnTunnelGroup"] = new("", "The peer is associated with the tunnel-group named after its address (LAN-to-LAN, pre-shared key): its key and attributes are used."),
        ["NoGroupForPreSharedKey"] = new("", "No tunnel-group matches the peer, so there is no pre-shared key for it."),
        ["GroupNotFoundNoDefaultKey"] = new("", "No tunnel-group for the peer and DefaultL2LGroup has no key: the tunnel is refused."),
        ["GroupNotFoundUsingDefaultKey"] = new("", "No tunnel-group for the peer: the DefaultL2LGroup key is used."),
        ["GeneratingKeysForInitiator"] = new("I:MM4:p I:AM2:p", "The initiator computes the keys (SKEYID, encryption and hash keys) from the Diffie-Hellman secret, the nonces and the pre-shared key."),
        ["GeneratingKeysForResponder"] = new("R:MM4:b R:AM2:b", "The responder computes the keys (SKEYID, encryption and hash keys) from the Diffie-Hellman secret, the nonces and the pre-shared key."),

        // ---- MM5 / MM6 construction
        ["ConstructingIdPayload"] = new("I:MM5:b R:MM6:b I:AM1:b R:AM2:b", "Builds the identity payload: by default (`crypto isakmp identity auto`) the address of the interface."),
        ["ConstructingHashPayload"] = new("I:MM5:b R:MM6:b R:AM2:b I:AM3:b", "Builds the hash payload that proves this side knows the pre-shared key."),
        ["ComputingHashForIsakmp"] = new("", "Computes HASH_I / HASH_R over the exchanged values with the keys just derived: authentication with the pre-shared key."),
        ["ConstructingIosKeepAlivePayload"] = new("I:MM5:b R:MM6:b I:AM1:b R:AM2:b", "Builds the Cisco keepalive payload."),
        ["ConstructingDpdVidPayload"] = new("I:MM5:b R:MM6:b I:AM1:b R:AM2:b", "Advertises Dead Peer Detection."),
        ["NatDetectionNoNat"] = new("", "NAT-D hashes matched: neither end is behind NAT, so NAT-T (UDP 4500) is not required."),
        ["NatDetectionRemoteBehindNat"] = new("", "The peer is behind a NAT device: IKE and ESP move to UDP 4500 (NAT-T)."),
        ["NatDetectionLocalBehindNat"] = new("", "This ASA is behind a NAT device: IKE and ESP move to UDP 4500 (NAT-T)."),
        ["NatDetectionBothBehindNat"] = new("", "Both ends are behind NAT devices: NAT-T (UDP 4500) is used."),

        // ---- MM5 received (responder) / MM6 received (initiator)
        ["ProcessingIdPayload"] = new("R:MM5:p I:MM6:p R:AM1:p I:AM2:p R:QM1:p I:QM2:p", "Reads an identity payload: in Main Mode the peer's identity, in Quick Mode a proxy ID."),
        ["IdIpv4AddrReceived"] = new("R:MM5:p I:MM6:p R:AM1:p I:AM2:p", "The peer identifies itself by its IP address."),
        ["IdIpv4AddrSubnetReceived"] = new("R:QM1:p I:QM2:p", "A proxy ID (subnet) of the tunnel as the peer proposes it."),
        ["IdIpv4AddrRangeReceived"] = new("R:QM1:p I:QM2:p", "A proxy ID (address range) as the peer proposes it."),
        ["ProcessingHashPayload"] = new("*:*:p", "Reads the hash payload and checks it: this authenticates the peer (the pre-shared keys must be equal)."),
        ["ProcessingNotifyPayload"] = new("*:*:p", "Reads a notify payload (initial contact, responder lifetime, or an error)."),
        ["OakleyBeginQuickMode"] = new("I:MM6:p I:AM3:a", "Phase 1 is done on the initiator: Quick Mode begins."),
        ["InitiatorStartingQm"] = new("I:MM6:p I:AM3:a", "The initiator starts Quick Mode with this message ID."),
        ["Phase1Completed"] = new("I:MM6:a R:MM6:a I:AM3:a R:AM3:a", "Phase 1 is complete: the IKE SA is MM_ACTIVE (AM_ACTIVE after Aggressive Mode)."),
        ["KeepAliveTypeDpd"] = new("I:MM6:a R:MM6:a I:AM3:a R:AM3:a", "DPD has been negotiated: both peers sent the DPD vendor ID."),
        ["KeepAliveTypeNone"] = new("I:MM6:a R:MM6:a I:AM3:a R:AM3:a", "No keepalive mechanism was negotiated."),
        ["StartingP1RekeyTimer"] = new("I:MM6:a R:MM6:a I:AM3:a R:AM3:a", "Starts the ISAKMP rekey timer: the initiator rekeys at 95 % of the phase 1 lifetime, the responder at 75 %."),
        ["ReceivedEncryptedMainModeInvalidPayloads"] = new("R:MM5:p I:MM6:p R:AM3:p", "The encrypted Main Mode message decrypts to garbage: the peers computed different keys, almost always because the pre-shared keys differ."),
        ["DecryptProblemMismatchedPsk"] = new("R:MM5:p I:MM6:p R:AM3:p", "The message could not be decrypted: the pre-shared keys probably differ."),
        ["DuplicatePhase1Packet"] = new("", "The peer sent the same phase 1 message again (it did not get our answer): our last message is retransmitted."),
        ["SessionEstablishmentTimedOut"] = new("", "Retransmissions are exhausted: no answer from the peer, the negotiation is abandoned in the state shown."),
        ["TunnelGroupNotFound"] = new("", "No tunnel-group applies to this peer: the negotiation is aborted."),

        // ---- Aggressive Mode (a remote-access client names its group in AM1)
        ["IdKeyIdReceived"] = new("R:AM1:p I:AM2:p", "The peer identifies itself by a key ID: a remote-access client's group name, which selects the tunnel-group and its group key."),
        ["AggressiveModeDisabled"] = new("R:AM1:p", "`crypto ikev1 am-disable`: the Aggressive Mode message is dropped without an answer."),
        ["HashVerificationFailed"] = new("I:AM2:p R:AM3:p R:MM5:p I:MM6:p", "The peer's HASH does not verify: the two ends used different pre-shared (group) keys."),

        // ---- Transaction exchanges after phase 1: XAUTH, then Mode Config
        ["UserAuthenticated"] = new("", "XAUTH: the user name and password the client sent in its REPLY are accepted; the head-end tells the client with an XAUTH SET (status OK)."),
        ["UserAuthenticationRejected"] = new("", "XAUTH: the user name or password the client sent in its REPLY is refused; the head-end asks again or, after its retries, ends the IKE SA."),
        ["ProcessingCfgRequestAttributes"] = new("", "Mode Config: the client's REQUEST lists the attributes it wants (address, mask, DNS, split tunnel, banner …)."),
        ["ModeCfgReceivedRequest"] = new("", "Mode Config: one attribute the client asks for."),
        ["AssignedPrivateAddress"] = new("", "Mode Config: the address the client gets (from the user's vpn-framed-ip-address or the tunnel-group's address pool); it goes back in the REPLY."),
        ["CannotObtainAddress"] = new("", "Mode Config: no address for the client (the pool is exhausted or the user's sessions are at their limit): the IKE SA is deleted."),
        ["DelayQuickMode"] = new("R:QM1:p", "The client's Quick Mode arrived while XAUTH or Mode Config is still running: the head-end holds it back (the client sends it again)."),
        ["SecurityNegotiationCompleteUserResponder"] = new("R:QM3:p", "The IPsec SAs of a remote-access user are negotiated; this ASA was the responder (the head-end). The inbound and outbound SPIs are shown."),

        // ---- QM1 (initiator)
        ["IkeGotSpiFromKeyEngine"] = new("I:QM1:b R:QM2:b", "The key engine allocated this side's inbound SPI for the new IPsec SA."),
        ["OakleyConstructingQuickMode"] = new("I:QM1:b R:QM2:b", "Starts building the Quick Mode message."),
        ["ConstructingBlankHashPayload"] = new("I:QM1:b R:QM2:b", "Reserves the HASH payload; it is computed when the message is complete."),
        ["ConstructingIpsecSaPayloadInitiator"] = new("I:QM1:b", "Builds the IPsec SA payload: the transform set(s) of the crypto map entry are offered."),
        ["ConstructingIpsecSaPayloadResponder"] = new("R:QM2:b", "Builds the IPsec SA payload with the transform the responder accepted."),
        ["ConstructingIpsecNoncePayloadInitiator"] = new("I:QM1:b", "Builds the Quick Mode nonce."),
        ["ConstructingIpsecNoncePayloadResponder"] = new("R:QM2:b", "Builds the Quick Mode nonce."),
        ["ConstructingPfsKePayload"] = new("I:QM1:b R:QM2:b", "Builds a key exchange payload for PFS (`set pfs`)."),
        ["ConstructingProxyId"] = new("I:QM1:b R:QM2:b", "Builds the proxy IDs (the local and remote networks of the tunnel) from the crypto ACL."),
        ["TransmittingProxyId"] = new("I:QM1:b R:QM2:b", "The local and expected remote subnets (from the crypto ACL line that matched) are sent as proxy IDs."),
        ["InitiatorSendingInitialContact"] = new("I:QM1:b", "INITIAL-CONTACT tells the peer to delete any old SAs it still has with us."),
        ["ConstructingQmHashPayload"] = new("I:QM1:b R:QM2:b", "Computes the Quick Mode HASH over the message."),
        ["InitiatorSending1stQmPacket"] = new("I:QM1:b", "QM1 is complete and about to be sent."),

        // ---- QM1 received (responder)
        ["ResponderStartingQm"] = new("R:QM1:p", "The responder starts Quick Mode for the peer's first message."),
        ["ReceivedRemoteIpProxySubnet"] = new("R:QM1:p", "The remote subnet the peer proposes (its side of the tunnel)."),
        ["ReceivedLocalIpProxySubnet"] = new("R:QM1:p", "The local subnet the peer proposes (our side of the tunnel)."),
        ["ReceivedRemoteProxyHost"] = new("R:QM1:p", "The remote host the peer proposes."),
        ["ReceivedLocalProxyHost"] = new("R:QM1:p", "The local host the peer proposes."),
        ["ReceivedRemoteProxyRange"] = new("R:QM1:p", "The remote address range the peer proposes."),
        ["ReceivedLocalProxyRange"] = new("R:QM1:p", "The local address range the peer proposes."),
        ["QmIsRekeyedOldSaNotFound"] = new("R:QM1:p", "No IPsec SA exists for these proxies yet: this is a new phase 2, not a rekey."),
        ["QmIsRekeyedDuplicateSa"] = new("R:QM1:p", "A rekey: an SA for the same proxies exists and will be replaced."),
        ["StaticCryptoMapChecking"] = new("R:QM1:p", "Looks for a crypto map entry whose ACL mirrors the received proxy IDs."),
        ["StaticCryptoMapMatch"] = new("R:QM1:p", "A matching crypto map entry was found for the received proxy IDs."),
        ["StaticCryptoMapAclMismatch"] = new("R:QM1:p", "This crypto map entry's ACL does not match the received proxy IDs; the next entry is tried."),
        ["StaticCryptoMapNoAcl"] = new("R:QM1:p", "This crypto map entry has no ACL."),
        ["StaticCryptoMapBypassed"] = new("R:QM1:p", "A crypto map entry has no peer or ACL of its own and is skipped by the static check: an incomplete entry, or the entry that refers to a dynamic map (whose entries are tried next)."),
        ["SkippingDynamicMapPeerFound"] = new("R:QM1:p", "The peer is listed in an earlier static crypto map entry (whose ACL did not match), so the dynamic map is not used for it: fix that entry's ACL or remove the peer from it."),
        ["RemotePeerConfiguredForCryptoMap"] = new("R:QM1:p", "The proposal is accepted by this crypto map: a static entry that lists the peer, or a dynamic map entry (any peer)."),
        ["ProcessingIpsecSaPayload"] = new("R:QM1:p", "Compares the offered IPsec transforms with the transform set(s) of the matched crypto map entry."),
        ["IpsecSaProposalAcceptable"] = new("R:QM1:p", "An offered transform matches the transform set of the crypto map entry with this sequence number."),
        ["RequestingSpi"] = new("R:QM1:p", "Asks the key engine for an inbound SPI."),
        ["ResponderSending2ndQmPacket"] = new("R:QM2:b", "QM2 is complete and about to be sent."),
        ["RejectingIpsecTunnelNoCryptoMap"] = new("R:QM1:p", "No crypto map entry mirrors the proxy IDs the peer sent: the crypto ACLs of the two ends do not match (proxy-ID mismatch). The tunnel is rejected."),
        ["TunnelRejectedCryptoMapPolicyNotFound"] = new("R:QM1:p", "No crypto map policy for these proxies: the crypto ACLs do not mirror each other."),
        ["AllIpsecSaProposalsUnacceptable"] = new("R:QM1:p", "None of the offered IPsec transforms matches the transform set of the crypto map entry: NO-PROPOSAL-CHOSEN."),
        ["Phase2AttributeMismatch"] = new("R:QM1:p", "One attribute of an offered IPsec transform differs from the configuration."),
        ["OverridingInitiatorRekeyDurationSeconds"] = new("R:QM1:p", "The responder's configured lifetime is shorter: it will tell the initiator with RESPONDER-LIFETIME."),

        // ---- QM2 received (initiator), QM3
        ["ResponderLifetimeDecode"] = new("I:QM2:p", "The responder sent a RESPONDER-LIFETIME notify: its lifetime for this SA is shorter."),
        ["ResponderForcingRekeyDurationSeconds"] = new("I:QM2:p", "The responder's lifetime is shorter, so the initiator uses it: the shorter proposed phase 2 lifetime is picked."),
        ["ResponderForcingRekeyDurationKbs"] = new("I:QM2:p", "The responder's kilobyte lifetime is shorter and is used."),
        ["LoadingAllIpsecSas"] = new("I:QM2:p R:QM3:p", "Both IPsec SAs (inbound and outbound) are about to be loaded into the key engine."),
        ["GeneratingQuickModeKey"] = new("I:QM2:p R:QM3:p", "Computes the IPsec keys (KEYMAT) of one direction."),
        ["NpEncryptRuleLookup"] = new("I:QM2:p R:QM3:p", "The data plane finds the crypto map entry and ACL that encrypt this traffic."),
        ["SecurityNegotiationCompleteL2LInitiator"] = new("I:QM2:p", "The IPsec SAs are negotiated; this ASA was the initiator. The inbound and outbound SPIs are shown."),
        ["SecurityNegotiationCompleteL2LResponder"] = new("R:QM3:p", "The IPsec SAs are negotiated; this ASA was the responder. The inbound and outbound SPIs are shown."),
        ["InitiatorSending3rdQmPacket"] = new("I:QM3:b", "QM3 (the confirmation) is about to be sent."),
        ["IkeGotKeyAddMsg"] = new("I:QM3:a R:QM3:p", "The key engine installed the outbound IPsec SA."),
        ["PitcherKeyUpdate"] = new("I:QM3:a R:QM3:p", "The key engine completed the inbound IPsec SA: traffic can flow."),
        ["StartingP2RekeyTimer"] = new("I:QM3:a R:QM3:p", "Starts the IPsec rekey timer at 85 % of the negotiated phase 2 lifetime."),
        ["Phase2Completed"] = new("I:QM3:a R:QM3:p", "Phase 2 is complete: both ends can encrypt and decrypt with these SPIs."),
        ["QmFsmError"] = new("", "Quick Mode failed (a mismatch or no answer); the phase 2 negotiation is removed."),

        // ---- Informational, DPD, teardown
        ["SendingDpdRuThere"] = new("", "DPD: the peer has been silent, so an R-U-THERE is sent."),
        ["ReceivedDpdRuThereAck"] = new("", "DPD: the peer answered R-U-THERE; it is alive."),
        ["ReceivedDpdRuThere"] = new("", "DPD: the peer asks whether we are alive."),
        ["SendingDpdRuThereAck"] = new("", "DPD: answering the peer's R-U-THERE."),
        ["LostContactWithPeer"] = new("", "DPD got no answer after its retries: the peer is considered dead and every SA with it is deleted."),
        ["ReceivedNonRoutineNotify"] = new("", "The peer reports an error with a notify message."),
        ["ReceivedUnencryptedNotify"] = new("", "The peer sent an unencrypted notify (it has no SA with us, or a different key)."),
        ["InformationExchangeProcessingFailed"] = new("", "An Informational message could not be processed (it did not decrypt or verify): usually keys that differ or an SA the peer no longer has."),
        ["ReceivedInvalidSpiNotify"] = new("", "The peer has no SA for an SPI we used: it lost its SAs (reboot, clear)."),
        ["ReceivedEncryptedPacketNoMatchingSa"] = new("", "An encrypted packet arrived for an SA this ASA does not have."),
        ["ProcessingDelete"] = new("", "The peer deletes an SA."),
        ["ConstructingIpsecDeletePayload"] = new("", "Builds a Delete for an IPsec SA."),
        ["ConstructingIkeDeletePayload"] = new("", "Builds a Delete for the IKE SA."),
        ["SendingIkeDeleteWithReason"] = new("", "Deletes the IKE SA and tells the peer why."),
        ["SendingIpsecDeleteWithReason"] = new("", "Deletes an IPsec SA and tells the peer why."),
        ["Phase1RekeyCollision"] = new("", "Both ends started a phase 1 rekey at the same time."),
        ["OldP1SaDeadNewSa"] = new("", "Rekey: the old IKE SA is deleted but the new one is dead; the peers' rekey timing differs."),
        ["ConnectionTerminated"] = new("", "The tunnel is torn down; the reason is given."),
        ["SessionTornDown"] = new("", "The session is torn down; the reason is given."),
        ["FsmErrorHistory"] = new("", "The state machine's last states and events before the failure (newest first)."),
        ["InitiatorUnableToFindPolicy"] = new("", "Traffic needs a tunnel but no crypto map entry applies on this interface."),
        ["PeerAddressNotConfigured"] = new("", "No `set peer` for the destination of this crypto map entry."),
    };

    public static IReadOnlyList<Hint> HintsOf(DebugMessageInfo m)
    {
        if (!Table.TryGetValue(m.Name, out var info) || info.Hints.Length == 0) return Derived(m);
        var list = new List<Hint>();
        foreach (var h in info.Hints.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = h.Split(':');
            var side = parts[0] switch { "I" => Side.Initiator, "R" => Side.Responder, _ => Side.Unknown };
            var msg = parts[1] == "*" ? Hint.AnyMessage : parts[1];
            var stage = parts[2] switch { "b" => Stage.Construct, "p" => Stage.Process, _ => Stage.After };
            list.Add(new Hint(side, msg, stage));
        }
        return list;
    }

    private static IReadOnlyList<Hint> Derived(DebugMessageInfo m)
    {
        if (m.Template.StartsWith("constructing ", StringComparison.OrdinalIgnoreCase)) return [new Hint(Side.Unknown, Hint.AnyMessage, Stage.Construct)];
        if (m.Template.StartsWith("processing ", StringComparison.OrdinalIgnoreCase)) return [new Hint(Side.Unknown, Hint.AnyMessage, Stage.Process)];
        return [];
    }

    /// <summary>
    /// Lines that belong to the Transaction exchange in progress (XAUTH or Mode Config) and tell which one it is: the
    /// verdict on the user (XAUTH) or the attributes and the address (Mode Config).
    /// </summary>
    public static readonly IReadOnlySet<string> XauthLines = new HashSet<string>(StringComparer.Ordinal) { "UserAuthenticated", "UserAuthenticationRejected" };

    public static readonly IReadOnlySet<string> ModeConfigLines = new HashSet<string>(StringComparer.Ordinal)
    {
        "ProcessingCfgRequestAttributes", "ModeCfgReceivedRequest", "AssignedPrivateAddress", "CannotObtainAddress",
    };

    /// <summary>Lines printed while a Transaction exchange runs; the exchange in progress is where they belong.</summary>
    public static bool IsTransaction(DebugMessageInfo m) => XauthLines.Contains(m.Name) || ModeConfigLines.Contains(m.Name) || m.Name == "DelayQuickMode";

    public static bool IsInformational(DebugMessageInfo m) => m.Name is
        "SendingDpdRuThere" or "ReceivedDpdRuThereAck" or "ReceivedDpdRuThere" or "SendingDpdRuThereAck" or "LostContactWithPeer"
        or "ReceivedNonRoutineNotify" or "ReceivedUnencryptedNotify" or "InformationExchangeProcessingFailed" or "ReceivedInvalidSpiNotify"
        or "ProcessingDelete" or "ConstructingIpsecDeletePayload" or "ConstructingIkeDeletePayload" or "SendingIkeDeleteWithReason"
        or "SendingIpsecDeleteWithReason" or "SendingDeleteWithReason" or "ReceivedKeepAliveNotNegotiated";

    public static string Describe(DebugMessageInfo m)
    {
        if (Table.TryGetValue(m.Name, out var info)) return info.Description;
        var t = m.Template;
        if (t.StartsWith("constructing ", StringComparison.OrdinalIgnoreCase)) return "Builds a payload of the outgoing message: " + Holes(t[13..]) + ".";
        if (t.StartsWith("processing ", StringComparison.OrdinalIgnoreCase)) return "Reads a payload of the received message: " + Holes(t[11..]) + ".";
        if (m.Class == DebugClass.Ipsec) return "Key engine (debug crypto ipsec): " + Holes(t) + ".";
        return m.Severity <= 4 ? "Error reported by the ASA: " + Holes(t) + "." : "ASA event: " + Holes(t) + ".";
    }

    private static string Holes(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template, @"\{(\w+):\w+\}", "<$1>").TrimEnd('.', ' ', '!');
}
