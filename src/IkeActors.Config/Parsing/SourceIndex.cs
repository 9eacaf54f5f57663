using System.Net;
using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>A name used by a command, checked once the whole file is read.</summary>
internal sealed record Reference(ReferenceKind Kind, string Name, SourceLocation Location, string SourceLine, string Context);

/// <summary>What kind of definition a <see cref="Reference"/> needs.</summary>
internal enum ReferenceKind
{
    AccessList,
    TransformSet,
    /// <summary>Twice NAT: `object` or `object-group`, the command does not say which.</summary>
    NetworkObjectOrGroup,
    NetworkObject,
    NetworkGroup,
    /// <summary>A nameif, as in `nat (inside,outside)`.</summary>
    Interface,
    ServiceObject,
    /// <summary>A service or protocol object-group (an ACE's protocol).</summary>
    ServiceGroup,
    /// <summary>A service object-group used as an ACE's port condition.</summary>
    PortGroup,
    ProtocolGroup,
    IcmpGroup,
    /// <summary>`crypto map NAME SEQ ipsec-isakmp dynamic DYN`.</summary>
    DynamicMap,
    /// <summary>An `ip local pool` (tunnel-group `address-pool`, group-policy `address-pools`).</summary>
    Pool,
    /// <summary>A group policy (`default-group-policy`, `vpn-group-policy`).</summary>
    GroupPolicy,
    /// <summary>`split-tunnel-network-list value ACL`: a standard or extended access-list.</summary>
    SplitTunnelAccessList,
}

/// <summary>A `crypto map NAME SEQ set peer A.B.C.D` peer, checked against the tunnel-groups.</summary>
internal sealed record PeerReference(string Map, int Sequence, IPAddress Peer, SourceLocation Location, string SourceLine);

/// <summary>Where a command is: its location and its line as written.</summary>
internal sealed record Located(SourceLocation Location, string SourceLine);

/// <summary>
/// Where named things were defined and referenced (file, line, column and the line itself),
/// kept while parsing so that the checks made after the whole file is read can point at
/// the command to fix.
/// </summary>
internal sealed class SourceIndex(string file)
{
    private readonly List<Reference> _references = [];
    private readonly List<PeerReference> _peers = [];

    public string File => file;

    /// <summary>Every name a command used, in file order.</summary>
    public IReadOnlyList<Reference> References => _references;

    /// <summary>Every `set peer` address, in file order.</summary>
    public IReadOnlyList<PeerReference> Peers => _peers;

    /// <summary>`crypto map NAME interface IF`, by map name (the last one wins).</summary>
    public Dictionary<string, Located> MapInterfaceLines { get; } = new(StringComparer.Ordinal);

    /// <summary>`crypto ikev1 enable IF`, by interface name.</summary>
    public Dictionary<string, Located> IsakmpEnableLines { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// `crypto ikev1 policy N` sub-commands by priority and sub-command word
    /// ("authentication", "hash", …); the empty word is the `policy N` line itself.
    /// </summary>
    public Dictionary<(int Priority, string Field), Located> PolicyLines { get; } = [];

    /// <summary>The first line of each crypto map entry (`crypto map NAME SEQ …`).</summary>
    public Dictionary<(string Map, int Sequence), Located> MapEntryLines { get; } = [];

    /// <summary>The first line of each dynamic map entry (`crypto dynamic-map NAME SEQ …`).</summary>
    public Dictionary<(string Map, int Sequence), Located> DynamicMapEntryLines { get; } = [];

    /// <summary>`crypto dynamic-map NAME SEQ set peer …` lines (the ASA takes them; a dynamic entry answers any peer here).</summary>
    public Dictionary<(string Map, int Sequence), Located> DynamicMapPeerLines { get; } = [];

    /// <summary>Each transform set's defining line, at its encryption transform.</summary>
    public Dictionary<string, Located> TransformSetLines { get; } = new(StringComparer.Ordinal);

    /// <summary>`ip local pool NAME …`, at the pool's name.</summary>
    public Dictionary<string, Located> PoolLines { get; } = new(StringComparer.Ordinal);

    /// <summary>The `[ikev1] pre-shared-key` line of each tunnel group, at the key.</summary>
    public Dictionary<string, Located> PreSharedKeyLines { get; } = new(StringComparer.Ordinal);

    /// <summary>`authentication-server-group` lines by tunnel group and interface ("" for all), at the server group.</summary>
    public Dictionary<(string Group, string Interface), Located> AuthenticationServerLines { get; } = [];

    /// <summary>Group-policy attribute lines by policy and attribute word, at the value.</summary>
    public Dictionary<(string Policy, string Attribute), Located> GroupPolicyLines { get; } = [];

    /// <summary>Username lines by user and field ("" for the `username NAME password` line itself), at the value.</summary>
    public Dictionary<(string User, string Field), Located> UserLines { get; } = [];

    public SourceLocation Location(CommandCursor c, int column) => new(file, c.LineNumber, column);

    public Located At(CommandCursor c, int column) => new(Location(c, column), c.Line);

    public void AddReference(ReferenceKind kind, string name, CommandCursor c, int column, string context) =>
        _references.Add(new Reference(kind, name, Location(c, column), c.Line, context));

    public void AddPeer(string map, int sequence, IPAddress peer, CommandCursor c, int column) =>
        _peers.Add(new PeerReference(map, sequence, peer, Location(c, column), c.Line));

    /// <summary>A mark to return to when a command fails: its names are then not checked twice.</summary>
    public (int References, int Peers) Mark() => (_references.Count, _peers.Count);

    public void ForgetSince((int References, int Peers) mark)
    {
        _references.RemoveRange(mark.References, _references.Count - mark.References);
        _peers.RemoveRange(mark.Peers, _peers.Count - mark.Peers);
    }
}
