using System.Buffers.Binary;
using System.Net;
using System.Text;
using IkeActors.Config.Lookup;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>The credentials and group of our own remote-access client (the EzVPN client role): never logged.</summary>
public sealed record RemoteAccessCredentials(string Group, IkeActors.Config.Model.PreSharedKey GroupKey, string User, string Password)
{
    /// <summary>The DH group of Aggressive Mode's KE (the offer's transforms all use it).</summary>
    public int DhGroup { get; init; } = 2;

    public override string ToString() => $"RemoteAccessCredentials({Group}, {User})";
}

/// <summary>
/// The remote-access part of one IKE SA after phase 1, over Transaction exchanges (exchange type 6): XAUTH
/// (draft-beaulieu-ike-xauth-02: the head-end's REQUEST, the client's REPLY, the head-end's SET with XAUTH-STATUS, the
/// client's ACK) and then Mode Config pulled by the client (draft-dukes-ike-mode-cfg-02: REQUEST, REPLY). The head-end
/// holds Quick Mode back until both are done; the client starts its Quick Mode from the address it was given.
/// </summary>
internal sealed class RemoteAccessSession(IkeSa sa)
{
    /// <summary>XAUTH attempts a client gets before the head-end gives up (the ASA's default, `isakmp ikev1-user-authentication` retries).</summary>
    public const int MaxXauthAttempts = 3;

    private uint _pendingMessageId;
    private byte[]? _pendingMessage;
    private int _attempts;
    private ushort _identifier;

    // Head-end address lease: asked of the host and not answered yet; the request that waits for it; the ranges asked
    // of, and the one the address came from (what a release gives back to).
    private bool _leaseRequested;
    private ModeConfigRequest? _waiting;
    private string[]? _planned;
    private string? _leasePool;
    private bool _released;
    /// <summary>Our pushed SET waits for the client's ACK.</summary>
    private bool _pushing;

    /// <summary>Our client's credentials; null on a head-end.</summary>
    public RemoteAccessCredentials? Credentials { get; set; }

    /// <summary>The user XAUTH authenticated (head-end) or that we are (client); null before.</summary>
    public string? User
    {
        get => _user;
        private set
        {
            _user = value;
            PrintableUser = value is null ? null : Printable(value);
        }
    }

    private string? _user;

    /// <summary><see cref="User"/> as the debug lines print it (computed once).</summary>
    public string? PrintableUser { get; private set; }

    /// <summary>The address Mode Config gave (both roles); null before.</summary>
    public ModeConfigLease? Lease { get; private set; }

    /// <summary>Head-end: phase 1 is up but XAUTH or Mode Config has not finished; Quick Mode waits.</summary>
    public bool Pending { get; private set; }

    /// <summary>The lease key of this session (the IKE SA's initiator cookie).</summary>
    private string Session => sa.InitiatorCookie.ToString("x16");

    // ------------------------------------------------------------------ head-end

    /// <summary>Quick Mode messages a client may send while its user is known but it asked for no address, before the session ends.</summary>
    public const int MaxQuickModesWithoutModeConfig = 4;

    private int _heldWithoutModeConfig;

    /// <summary>
    /// Head-end: a client's Quick Mode waits while XAUTH or Mode Config is under way ("Delay Quick Mode processing").
    /// Bounded: a client whose user is known (or needs none) and that asks for no address at all would wait for ever; after
    /// <see cref="MaxQuickModesWithoutModeConfig"/> held Quick Mode messages its session ends (it cannot be given a proxy
    /// ID without an address: the remote proxy of a remote-access client is its Mode Config address).
    /// </summary>
    public bool HoldsQuickMode(NegotiationOutput output)
    {
        if (!Pending) return false;
        AsaDebug.DelayQuickMode(output, sa.Context);
        var waitingForXauth = RequiresXauth && User is null;
        if (waitingForXauth || _planned is not null || Lease is not null || _pendingMessage is not null) return true;
        if (++_heldWithoutModeConfig < MaxQuickModesWithoutModeConfig) return true;
        AsaDebug.CannotObtainAddress(output, sa.Context);
        output.Add(new NegotiationFailed(IkeExchange.Transaction, FailureReason.NoAddress, "the client started Quick Mode without asking Mode Config for an address"));
        sa.Delete(output);
        return true;
    }

    /// <summary>Phase 1 is up on a head-end: a remote-access group starts XAUTH, or without XAUTH waits for the Mode Config request.</summary>
    public void Begin(NegotiationOutput output)
    {
        if (sa.Gateway.RemoteAccess is not { } service || sa.TunnelGroup is null || Credentials is not null) return;
        var group = sa.Gateway.Config.FindTunnelGroup(sa.TunnelGroup);
        if (group?.IsRemoteAccess != true) return;
        Pending = true;
        if (service.RequiresXauth(sa.TunnelGroup)) SendXauthRequest(output);
        else if (Push) AskLease(output);
    }

    /// <summary>
    /// The head-end pushes Mode Config (`crypto map MAP client configuration address initiate`): a SET with the address
    /// once the user is known, answered by the client's ACK (draft-dukes-ike-mode-cfg-02 §3.2); otherwise it answers the
    /// client's REQUEST.
    /// </summary>
    private bool Push => sa.Gateway.Config.CryptoMaps.Any(m => m.ModeConfigInitiate && (m.Interface is null || m.Interface == sa.Gateway.OutsideInterface));

    private void SendXauthRequest(NegotiationOutput output)
    {
        _attempts++;
        AsaDebug.ConstructingBlankHashPayload(output, sa.Context);
        AsaDebug.ConstructingQmHashPayload(output, sa.Context);
        // xauth-02 §6.1: the type, and the name and password asked for with empty values.
        Send(ConfigMessageType.Request, [
            DataAttribute.Basic((ushort)ModeConfigAttribute.XauthType, (ushort)XauthType.Generic),
            DataAttribute.Variable((ushort)ModeConfigAttribute.XauthUserName, ReadOnlyMemory<byte>.Empty),
            DataAttribute.Variable((ushort)ModeConfigAttribute.XauthUserPassword, ReadOnlyMemory<byte>.Empty),
        ], output, expectAnswer: true);
    }

    /// <summary>A Transaction message for this SA (cookies matched), either role.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, uint messageId, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.Transaction(messageId)));
        if (sa.State != MainModeState.MM_ACTIVE || messageId == 0)
        {
            output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.BeforePhase1, $"Transaction exchange in {sa.State}"));
            return;
        }
        if (_waiting is { } waiting && messageId == waiting.MessageId && datagram.SequenceEqual(waiting.Datagram))
        {
            // The client's retransmission of the request that waits for its address (its IV is the one already used:
            // RFC 2409 appendix B): the answer goes out when the lease is decided.
            output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.UnexpectedMessage, "a retransmitted Mode Config request: its address is being leased"));
            return;
        }
        if (TransactionMessages.Open(sa, datagram, messageId, output) is not { } m) return;
        sa.PeerAlive(output);
        if (Credentials is not null) { ReceiveAsClient(messageId, m, output); return; }
        switch (m.Type)
        {
            case ConfigMessageType.Reply when messageId == _pendingMessageId && m.Has(ModeConfigAttribute.XauthUserName):
                Finish(output);
                ReceiveXauthReply(m, output);
                break;
            case ConfigMessageType.Ack when messageId == _pendingMessageId && _pushing:
                // The client took the pushed configuration (draft-dukes-ike-mode-cfg-02 §3.2).
                Finish(output);
                sa.Cipher!.ForgetMessageId(messageId);
                _pushing = false;
                Configured(output);
                break;
            case ConfigMessageType.Ack when messageId == _pendingMessageId:
                Finish(output);
                sa.Cipher!.ForgetMessageId(messageId);
                if (User is null) { sa.Fail(FailureReason.AuthenticationFailed, "XAUTH failed", output); return; }
                if (Push && Lease is null) AskLease(output);
                break;
            case ConfigMessageType.Request when User is not null || !RequiresXauth:
                ReceiveModeConfigRequest(messageId, m, datagram, output);
                break;
            default:
                output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.UnexpectedMessage, $"{m.Type} not expected now"));
                break;
        }
    }

    private bool RequiresXauth => sa.TunnelGroup is { } g && sa.Gateway.RemoteAccess?.RequiresXauth(g) == true;

    private void ReceiveXauthReply(TransactionMessages.Received m, NegotiationOutput output)
    {
        var name = m.Find(ModeConfigAttribute.XauthUserName)?.Value.ToArray() ?? [];
        var password = m.Find(ModeConfigAttribute.XauthUserPassword)?.Value ?? ReadOnlyMemory<byte>.Empty;
        var user = Encoding.UTF8.GetString(name);
        var verdict = sa.Gateway.RemoteAccess!.Authenticate(sa.TunnelGroup!, user, password.Span, sa.Peer.Address);
        var printable = Printable(user);
        if (verdict == XauthVerdict.Accepted)
        {
            User = user; // the ASA's lines name the user from here on (Group = g, Username = u, IP = p)
            AsaDebug.UserAuthenticated(output, sa.Context, printable);
            output.Add(new XauthCompleted(printable, true));
            Send(ConfigMessageType.Set, [DataAttribute.Basic((ushort)ModeConfigAttribute.XauthStatus, 1)], output, expectAnswer: true);
            return;
        }
        AsaDebug.UserAuthenticationRejected(output, sa.Context, printable, verdict == XauthVerdict.Throttled ? "throttled" : "rejected");
        output.Add(new XauthCompleted(printable, false));
        if (verdict == XauthVerdict.Rejected && _attempts < MaxXauthAttempts)
        {
            SendXauthRequest(output); // another try, as the ASA prompts again
            return;
        }
        // xauth-02 §4.2: XAUTH-STATUS FAIL, then the IKE SA goes once the client acknowledges (or the retries run out).
        Send(ConfigMessageType.Set, [DataAttribute.Basic((ushort)ModeConfigAttribute.XauthStatus, 0)], output, expectAnswer: true);
    }

    private void ReceiveModeConfigRequest(uint messageId, TransactionMessages.Received m, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        AsaDebug.ProcessingCfgRequestAttributes(output, sa.Context);
        foreach (var a in m.Attributes) AsaDebug.ModeCfgReceivedRequest(output, sa.Context, ModeCfgRequestName(a.Type));
        var request = new ModeConfigRequest(messageId, m.Identifier, m.Attributes.Select(a => a.Type).ToArray(), datagram.ToArray());
        if (Lease is not null)
        {
            Reply(request, output); // a retransmitted request: the same address again
            return;
        }
        _waiting = request;
        if (!_leaseRequested) AskLease(output); // else the host has not answered yet: the latest request is answered when it does
    }

    /// <summary>Asks the host for the client's address (<see cref="AddressLeaseRequested"/>), or ends the session when the group has none.</summary>
    private void AskLease(NegotiationOutput output)
    {
        if (sa.Gateway.RemoteAccess!.PlanAddress(sa.TunnelGroup!, User, Session, out var refusal) is not { } plan)
        {
            NoAddress(refusal ?? "no address pool", output);
            return;
        }
        _leaseRequested = true;
        _planned = plan.Ranges.Select(r => r.Pool).ToArray();
        output.Add(new AddressLeaseRequested(sa.InitiatorCookie, plan));
    }

    /// <summary>The host's answer to <see cref="AddressLeaseRequested"/>: the waiting Mode Config request is answered, or the session ends.</summary>
    public void AddressLeaseDecided(AddressLeaseResult result, NegotiationOutput output)
    {
        if (!_leaseRequested) return; // not asked (or answered already): nothing changes
        _leaseRequested = false;
        if (result.Retry)
        {
            // The client's retransmission asks again: it is read as the first was (the message ID's IV from the start).
            if (_waiting is { } waiting) sa.Cipher!.ForgetMessageId(waiting.MessageId);
            _waiting = null;
            return;
        }
        if (sa.State != MainModeState.MM_ACTIVE)
        {
            // The SA went while the host leased: what it got goes straight back.
            if (result.Address is not null) output.Add(new AddressLeaseReleased(sa.InitiatorCookie, new AddressRelease(Session, User, [result.Pool!])));
            return;
        }
        if (result.Address is not { } address)
        {
            NoAddress(result.Refusal ?? "no address", output);
            return;
        }
        Lease = sa.Gateway.RemoteAccess!.Describe(sa.TunnelGroup!, User, address);
        _leasePool = result.Pool;
        AsaDebug.AssignedPrivateAddress(output, sa.Context, Lease.Address);
        if (_waiting is { } request) Reply(request, output);
        else if (Push && _pendingMessage is null)
        {
            // Pushed: everything the group policy gives, unasked; retransmitted until the client's ACK.
            _pushing = true;
            Send(ConfigMessageType.Set, Attributes(Lease, PushedAttributes), output, expectAnswer: true);
        }
    }

    /// <summary>What a pushed SET carries (a pulled REPLY carries what the client asked of these).</summary>
    private static readonly ushort[] PushedAttributes = [.. new[]
    {
        ModeConfigAttribute.InternalIp4Address, ModeConfigAttribute.InternalIp4Netmask, ModeConfigAttribute.InternalIp4Dns,
        ModeConfigAttribute.UnityDefaultDomain, ModeConfigAttribute.UnitySplitDnsName, ModeConfigAttribute.UnityBanner,
        ModeConfigAttribute.UnitySavePassword, ModeConfigAttribute.UnitySplitInclude, ModeConfigAttribute.UnityLocalLan,
    }.Select(a => (ushort)a)];

    private void NoAddress(string refusal, NegotiationOutput output)
    {
        _waiting = null;
        _planned = null; // a refused lease holds nothing (the lease rule gave back what it took)
        AsaDebug.CannotObtainAddress(output, sa.Context);
        output.Add(new NegotiationFailed(IkeExchange.Transaction, FailureReason.NoAddress, $"no address for the client: {refusal}"));
        sa.Delete(output);
    }

    /// <summary>A client's Mode Config request (draft-dukes-ike-mode-cfg-02 §3.2): its message ID, identifier and what it asked for.</summary>
    private sealed record ModeConfigRequest(uint MessageId, ushort Identifier, ushort[] Asked, byte[] Datagram);

    private void Reply(ModeConfigRequest request, NegotiationOutput output)
    {
        _waiting = null;
        _identifier = request.Identifier;
        TransactionMessages.Send(sa, request.MessageId, ConfigMessageType.Reply, request.Identifier, Attributes(Lease!, request.Asked), output);
        output.Add(new MessageSent(ExchangeMessage.Transaction(request.MessageId)));
        sa.Cipher!.ForgetMessageId(request.MessageId);
        Configured(output);
    }

    /// <summary>The client has its configuration: Quick Mode may go on.</summary>
    private void Configured(NegotiationOutput output)
    {
        Pending = false;
        output.Add(new ModeConfigCompleted(Lease!.Address, User));
    }

    /// <summary>The attributes of <paramref name="asked"/> that <paramref name="lease"/> has values for, in that order.</summary>
    private static List<DataAttribute> Attributes(ModeConfigLease lease, IEnumerable<ushort> asked)
    {
        var reply = new List<DataAttribute>();
        foreach (var type in asked)
        {
            switch ((ModeConfigAttribute)type)
            {
                case ModeConfigAttribute.InternalIp4Address: reply.Add(DataAttribute.Variable(type, lease.Address.GetAddressBytes())); break;
                case ModeConfigAttribute.InternalIp4Netmask: reply.Add(DataAttribute.Variable(type, lease.Netmask.GetAddressBytes())); break;
                case ModeConfigAttribute.InternalIp4Dns:
                    foreach (var dns in lease.DnsServers) reply.Add(DataAttribute.Variable(type, dns.GetAddressBytes()));
                    break;
                case ModeConfigAttribute.UnityDefaultDomain when lease.DefaultDomain is { } domain:
                    reply.Add(DataAttribute.Variable(type, Encoding.ASCII.GetBytes(domain)));
                    break;
                case ModeConfigAttribute.UnitySplitDnsName when lease.SplitDns.Count > 0:
                    reply.Add(DataAttribute.Variable(type, Encoding.ASCII.GetBytes(string.Join(',', lease.SplitDns))));
                    break;
                case ModeConfigAttribute.UnityBanner when lease.Banner is { } banner:
                    reply.Add(DataAttribute.Variable(type, Encoding.UTF8.GetBytes(banner)));
                    break;
                case ModeConfigAttribute.UnitySavePassword:
                    reply.Add(DataAttribute.Basic(type, (ushort)(lease.SavePassword ? 1 : 0)));
                    break;
                case ModeConfigAttribute.UnitySplitInclude when lease.SplitInclude.Count > 0:
                    reply.Add(DataAttribute.Variable(type, SplitNetworks(lease.SplitInclude)));
                    break;
                case ModeConfigAttribute.UnityLocalLan when lease.SplitExclude.Count > 0:
                    reply.Add(DataAttribute.Variable(type, SplitNetworks(lease.SplitExclude)));
                    break;
                case ModeConfigAttribute.UnityPfs:
                    reply.Add(DataAttribute.Basic(type, 0));
                    break;
            }
        }
        return reply;
    }

    /// <summary>Cisco Unity split networks: 14 bytes each, address, mask, protocol (0), source and destination ports (0).</summary>
    private static byte[] SplitNetworks(IReadOnlyList<(IPAddress Address, IPAddress Mask)> networks)
    {
        var bytes = new byte[networks.Count * 14];
        for (var i = 0; i < networks.Count; i++)
        {
            networks[i].Address.GetAddressBytes().CopyTo(bytes, i * 14);
            networks[i].Mask.GetAddressBytes().CopyTo(bytes, i * 14 + 4);
        }
        return bytes;
    }

    private static string ModeCfgRequestName(ushort type) => (ModeConfigAttribute)type switch
    {
        ModeConfigAttribute.InternalIp4Address => "IPV4 address",
        ModeConfigAttribute.InternalIp4Netmask => "IPV4 net mask",
        ModeConfigAttribute.InternalIp4Dns => "DNS server address",
        ModeConfigAttribute.InternalIp4Nbns => "WINS server address",
        ModeConfigAttribute.UnityBanner => "Banner",
        ModeConfigAttribute.UnitySavePassword => "Save PW setting",
        ModeConfigAttribute.UnityDefaultDomain => "Default Domain Name",
        ModeConfigAttribute.UnitySplitInclude => "Split Tunnel List",
        ModeConfigAttribute.UnitySplitDnsName => "Split DNS",
        ModeConfigAttribute.UnityPfs => "PFS setting",
        ModeConfigAttribute.ApplicationVersion => "Application Version",
        ModeConfigAttribute.UnityFirewallType => "FWTYPE",
        ModeConfigAttribute.UnityBackupServers => "backup ip-sec peer list",
        ModeConfigAttribute.UnityNattPort => "UDP Port",
        _ => $"attribute {type}",
    };

    // ------------------------------------------------------------------ client

    private void ReceiveAsClient(uint messageId, TransactionMessages.Received m, NegotiationOutput output)
    {
        var c = Credentials!;
        switch (m.Type)
        {
            case ConfigMessageType.Request when m.Has(ModeConfigAttribute.XauthType) || m.Has(ModeConfigAttribute.XauthUserName):
                // xauth-02 §6.1: answer with the name and password (never logged).
                TransactionMessages.Send(sa, messageId, ConfigMessageType.Reply, m.Identifier, [
                    DataAttribute.Basic((ushort)ModeConfigAttribute.XauthType, (ushort)XauthType.Generic),
                    DataAttribute.Variable((ushort)ModeConfigAttribute.XauthUserName, Encoding.UTF8.GetBytes(c.User)),
                    DataAttribute.Variable((ushort)ModeConfigAttribute.XauthUserPassword, Encoding.UTF8.GetBytes(c.Password)),
                ], output);
                output.Add(new MessageSent(ExchangeMessage.Transaction(messageId)));
                sa.Cipher!.ForgetMessageId(messageId);
                break;
            case ConfigMessageType.Set when m.Find(ModeConfigAttribute.XauthStatus) is { } status:
                TransactionMessages.Send(sa, messageId, ConfigMessageType.Ack, m.Identifier, [DataAttribute.Basic((ushort)ModeConfigAttribute.XauthStatus, status.BasicValue)], output);
                output.Add(new MessageSent(ExchangeMessage.Transaction(messageId)));
                sa.Cipher!.ForgetMessageId(messageId);
                output.Add(new XauthCompleted(Printable(c.User), status.BasicValue == 1));
                if (status.BasicValue != 1) { sa.Fail(FailureReason.AuthenticationFailed, "the head-end refused our XAUTH credentials", output); return; }
                User = c.User;
                RequestModeConfig(output);
                break;
            case ConfigMessageType.Reply when messageId == _pendingMessageId:
                Finish(output);
                sa.Cipher!.ForgetMessageId(messageId);
                if (Lease is null) ReceiveModeConfigReply(m, output); // else the head-end pushed it first
                break;
            case ConfigMessageType.Set when m.Has(ModeConfigAttribute.InternalIp4Address):
                // Pushed (draft-dukes-ike-mode-cfg-02 §3.2): acknowledged with the attributes taken, values empty.
                TransactionMessages.Send(sa, messageId, ConfigMessageType.Ack, m.Identifier,
                    [.. m.Attributes.Select(a => a.Type).Distinct().Select(t => DataAttribute.Variable(t, ReadOnlyMemory<byte>.Empty))], output);
                output.Add(new MessageSent(ExchangeMessage.Transaction(messageId)));
                sa.Cipher!.ForgetMessageId(messageId);
                if (Lease is null) ReceiveModeConfigReply(m, output);
                break;
            default:
                output.Add(new MessageDropped(IkeExchange.Transaction, messageId, DropReason.UnexpectedMessage, $"{m.Type} not expected now"));
                break;
        }
    }

    /// <summary>Client: Mode Config pulled (draft-dukes-ike-mode-cfg-02 §3.2): address, mask, DNS and the Unity attributes.</summary>
    public void RequestModeConfig(NegotiationOutput output)
    {
        ReadOnlyMemory<byte> none = ReadOnlyMemory<byte>.Empty;
        Send(ConfigMessageType.Request, [
            DataAttribute.Variable((ushort)ModeConfigAttribute.InternalIp4Address, none),
            DataAttribute.Variable((ushort)ModeConfigAttribute.InternalIp4Netmask, none),
            DataAttribute.Variable((ushort)ModeConfigAttribute.InternalIp4Dns, none),
            DataAttribute.Variable((ushort)ModeConfigAttribute.UnityBanner, none),
            DataAttribute.Variable((ushort)ModeConfigAttribute.UnityDefaultDomain, none),
            DataAttribute.Variable((ushort)ModeConfigAttribute.UnitySplitInclude, none),
            DataAttribute.Variable((ushort)ModeConfigAttribute.UnitySplitDnsName, none),
            DataAttribute.Basic((ushort)ModeConfigAttribute.UnitySavePassword, 0),
        ], output, expectAnswer: true);
    }

    private void ReceiveModeConfigReply(TransactionMessages.Received m, NegotiationOutput output)
    {
        IPAddress? address = null, mask = null;
        var dns = new List<IPAddress>();
        var include = new List<(IPAddress, IPAddress)>();
        string? domain = null, banner = null;
        foreach (var a in m.Attributes)
        {
            var v = a.Value.Span;
            switch ((ModeConfigAttribute)a.Type)
            {
                case ModeConfigAttribute.InternalIp4Address when v.Length == 4: address = new IPAddress(v); break;
                case ModeConfigAttribute.InternalIp4Netmask when v.Length == 4: mask = new IPAddress(v); break;
                case ModeConfigAttribute.InternalIp4Dns when v.Length == 4: dns.Add(new IPAddress(v)); break;
                case ModeConfigAttribute.UnityDefaultDomain: domain = Encoding.ASCII.GetString(v); break;
                case ModeConfigAttribute.UnityBanner: banner = Encoding.UTF8.GetString(v); break;
                case ModeConfigAttribute.UnitySplitInclude:
                    for (var i = 0; i + 14 <= v.Length; i += 14) include.Add((new IPAddress(v.Slice(i, 4)), new IPAddress(v.Slice(i + 4, 4))));
                    break;
            }
        }
        if (address is null)
        {
            sa.Fail(FailureReason.NoAddress, "Mode Config gave no INTERNAL_IP4_ADDRESS", output);
            return;
        }
        Lease = new ModeConfigLease(address, mask ?? IPAddress.Broadcast) { DnsServers = dns, DefaultDomain = domain, Banner = banner, SplitInclude = include };
        output.Add(new ModeConfigCompleted(address, User));
        StartClientQuickModes(output);
    }

    /// <summary>
    /// Client: one Quick Mode from the given address to each split-include network, or to everything (0.0.0.0/0), with the
    /// transform sets of our crypto map entry for the head-end (as an EzVPN client proposes its configured sets).
    /// </summary>
    private void StartClientQuickModes(NegotiationOutput output)
    {
        var config = sa.Gateway.Config;
        var entry = config.CryptoMaps.SelectMany(m => m.Entries.Select(e => (Map: m, Entry: e)))
            .FirstOrDefault(x => x.Entry.Peers.Contains(sa.Peer.Address));
        if (entry.Map is null)
        {
            // No entry names the head-end: every transform set, in configuration order (an EzVPN client's default proposals).
            if (config.TransformSets.Count == 0)
            {
                sa.Fail(FailureReason.TransformSetMismatch, "no transform set to propose in Quick Mode", output);
                return;
            }
            var sets = config.TransformSets.Select(t => t.Name).ToValueList();
            entry = (new IkeActors.Config.Model.CryptoMap("ezvpn"), new IkeActors.Config.Model.CryptoMapEntry(1) { Peers = new[] { sa.Peer.Address }.ToValueList(), TransformSets = sets });
        }
        var local = ProxyId.Host(Lease!.Address);
        var remotes = Lease.SplitInclude.Count > 0
            ? Lease.SplitInclude.Select(n => ProxyId.Subnet(n.Address, n.Mask)).ToList()
            : [ProxyId.Subnet(IPAddress.Any, IPAddress.Any)];
        foreach (var remote in remotes)
            sa.StartQuickMode(new CryptoMapMatch(entry.Map, entry.Entry, null, null, local, remote), output);
    }

    // ------------------------------------------------------------------ both

    /// <summary>A new Transaction exchange of ours (new message ID), retransmitted until answered when <paramref name="expectAnswer"/>.</summary>
    private void Send(ConfigMessageType type, List<DataAttribute> attributes, NegotiationOutput output, bool expectAnswer)
    {
        var messageId = sa.NewMessageId();
        _identifier++;
        var bytes = TransactionMessages.Send(sa, messageId, type, _identifier, attributes, output);
        output.Add(new MessageSent(ExchangeMessage.Transaction(messageId)));
        if (!expectAnswer) { sa.Cipher!.ForgetMessageId(messageId); return; }
        _pendingMessageId = messageId;
        _pendingMessage = bytes;
        sa.ArmRetransmit(messageId, 0, output);
    }

    private void Finish(NegotiationOutput output)
    {
        sa.CancelRetransmit(_pendingMessageId, output);
        _pendingMessageId = 0;
        _pendingMessage = null;
        _retransmits = 0;
    }

    private int _retransmits;

    /// <summary>Our Transaction message was not answered: sent again, until the retransmission limit ends the SA.</summary>
    public bool TimerFired(uint messageId, NegotiationOutput output)
    {
        if (messageId != _pendingMessageId || _pendingMessage is null) return false;
        if (_retransmits >= sa.Settings.RetransmitLimit)
        {
            sa.Fail(FailureReason.RetransmissionsExhausted, "no answer to our Transaction exchange", output);
            return true;
        }
        _retransmits++;
        output.Add(sa.Datagram(_pendingMessage, retransmission: true));
        sa.ArmRetransmit(messageId, _retransmits, output);
        return true;
    }

    /// <summary>The state to persist; null when this SA has none (a LAN-to-LAN SA).</summary>
    public RemoteAccessSnapshot? Snapshot() => User is null && Lease is null && !Pending && _pendingMessage is null ? null : new RemoteAccessSnapshot
    {
        User = User,
        Pending = Pending,
        XauthAttempts = _attempts,
        Identifier = _identifier,
        PendingMessageId = _pendingMessageId,
        PendingMessage = _pendingMessage?.ToArray(),
        Retransmits = _retransmits,
        LeaseAddress = Lease?.Address.ToString(),
        LeaseNetmask = Lease?.Netmask.ToString(),
        LeasePool = _leasePool,
        Pushing = _pushing,
    };

    /// <summary>
    /// Takes up a persisted state. A head-end's lease is looked up again from the service (it holds the attributes; the
    /// snapshot only the address), so a restored session keeps its address.
    /// </summary>
    public void Restore(RemoteAccessSnapshot s)
    {
        if (s.XauthAttempts is < 0 or > MaxXauthAttempts) throw IkeSa.Bad($"XAUTH attempts {s.XauthAttempts} out of range");
        if (s.PendingMessage is not null && s.PendingMessageId == 0) throw IkeSa.Bad("a pending Transaction message without its message ID");
        User = s.User;
        Pending = s.Pending;
        _attempts = s.XauthAttempts;
        _identifier = s.Identifier;
        _pendingMessageId = s.PendingMessageId;
        _pendingMessage = s.PendingMessage?.ToArray();
        _retransmits = s.Retransmits;
        if (s.LeaseAddress is not null)
        {
            if (!IPAddress.TryParse(s.LeaseAddress, out var address) || !IPAddress.TryParse(s.LeaseNetmask ?? "255.255.255.255", out var mask))
                throw IkeSa.Bad($"lease address {s.LeaseAddress} does not parse");
            // The attributes come from the configuration again (the snapshot holds only the address).
            Lease = Credentials is null && sa.TunnelGroup is { } group && sa.Gateway.RemoteAccess is { } service && sa.Gateway.Config.FindTunnelGroup(group) is not null
                ? service.Describe(group, User, address) with { Netmask = mask }
                : new ModeConfigLease(address, mask);
            _leasePool = s.LeasePool;
        }
        _pushing = s.Pushing && _pendingMessage is not null;
    }

    /// <summary>After a restore: our Transaction message still waiting is retransmitted on its timer again.</summary>
    public void ResumeTimers(NegotiationOutput output)
    {
        if (_pendingMessage is not null) sa.ArmRetransmit(_pendingMessageId, _retransmits, output);
    }

    /// <summary>The session ended: its address and login go back (head-end), once.</summary>
    public void End(NegotiationOutput output)
    {
        // A lease asked of the host may hold an address or a login even when no answer came (a ledger unreachable).
        if (Credentials is not null || _released || (Lease is null && _planned is null)) return;
        _released = true;
        string[] pools = _leasePool is { } pool ? [pool] : _planned ?? PoolsHolding(Lease?.Address);
        output.Add(new AddressLeaseReleased(sa.InitiatorCookie, new AddressRelease(Session, User, pools)));
    }

    /// <summary>The ranges the configuration would lease <paramref name="address"/> from (a snapshot that does not name its pool).</summary>
    private string[] PoolsHolding(IPAddress? address)
    {
        if (address is null || sa.TunnelGroup is null || sa.Gateway.RemoteAccess?.PlanAddress(sa.TunnelGroup, User, Session, out _) is not { } plan) return [];
        var a = Ipv4.ToUInt32(address);
        return plan.Ranges.Where(r => r.Contains(a)).Select(r => r.Pool).ToArray();
    }

    /// <summary>A user name as it may be printed: printable ASCII only, at most 64 characters (it comes from the wire).</summary>
    internal static string Printable(string text) => new(text.Select(c => c is >= ' ' and <= '~' ? c : '?').Take(64).ToArray());
}
