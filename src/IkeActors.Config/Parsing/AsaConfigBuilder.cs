using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// The configuration while it is read: lists in file order whose records are replaced as
/// later commands refine them, turned into the immutable <see cref="AsaConfig"/> at the end.
/// </summary>
internal sealed class AsaConfigBuilder
{
    private readonly List<string> _accessListOrder = [];
    private readonly Dictionary<string, List<AccessListEntry>> _accessLists = new(StringComparer.Ordinal);
    private readonly List<string> _cryptoMapOrder = [];
    private readonly Dictionary<string, List<CryptoMapEntry>> _cryptoMapEntries = new(StringComparer.Ordinal);
    private readonly List<string> _dynamicMapOrder = [];
    private readonly Dictionary<string, List<CryptoMapEntry>> _dynamicMapEntries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _cryptoMapInterfaces = new(StringComparer.Ordinal);
    private readonly HashSet<string> _modeConfigInitiate = new(StringComparer.Ordinal);
    private readonly Dictionary<string, uint> _nameTable = new(StringComparer.Ordinal);

    /// <summary>From `ASA Version 9.12(4)`.</summary>
    public string? Version { get; set; }
    public string? Hostname { get; set; }
    public List<NameEntry> Names { get; } = [];

    /// <summary>`name A.B.C.D NAME` entries: a NAME can stand where an address is written.</summary>
    public IReadOnlyDictionary<string, uint> NameTable => _nameTable;

    public List<AsaInterface> Interfaces { get; } = [];
    public List<NetworkObject> NetworkObjects { get; } = [];
    public List<ServiceObject> ServiceObjects { get; } = [];
    public List<ObjectGroup> ObjectGroups { get; } = [];
    public List<NatRule> NatRules { get; } = [];
    public List<TransformSet> TransformSets { get; } = [];

    /// <summary>`crypto ipsec security-association lifetime seconds|kilobytes`.</summary>
    public IpsecSaLifetime GlobalSaLifetime { get; set; } = IpsecSaLifetime.Default;

    /// <summary>`crypto ikev1 enable IF`, in file order.</summary>
    public List<string> IsakmpEnabledInterfaces { get; } = [];

    /// <summary>`crypto ikev1 policy N`, by priority (the ASA offers them lowest first).</summary>
    public SortedDictionary<int, IsakmpPolicy> IsakmpPolicies { get; } = [];

    public IsakmpIdentitySetting Identity { get; set; } = IsakmpIdentitySetting.Default;
    public NatTraversal NatTraversal { get; set; } = NatTraversal.Default;
    public bool AggressiveModeDisabled { get; set; }
    public List<TunnelGroup> TunnelGroups { get; } = [];
    public List<InterfaceMtu> Mtus { get; } = [];
    public List<InterfaceDfBit> DfBitPolicies { get; } = [];
    public List<InterfaceFragmentation> FragmentationPolicies { get; } = [];
    public List<IpLocalPool> IpLocalPools { get; } = [];
    public List<GroupPolicy> GroupPolicies { get; } = [];
    /// <summary>`group-policy NAME external …`: kept as not interpreted, known by name.</summary>
    public HashSet<string> ExternalGroupPolicies { get; } = new(StringComparer.Ordinal);
    public List<LocalUser> Users { get; } = [];

    /// <summary>The entries of access-list NAME so far (empty when it has none).</summary>
    public IReadOnlyList<AccessListEntry> AccessListEntries(string name) =>
        _accessLists.TryGetValue(name, out var list) ? list : [];

    /// <summary>`name A.B.C.D NAME [description TEXT]`: a later line for the same NAME replaces the earlier one.</summary>
    public void AddName(uint address, string name, string? description)
    {
        _nameTable[name] = address;
        Names.RemoveAll(n => n.Name == name);
        Names.Add(new NameEntry(address, name, description));
    }

    /// <summary>Appends an ACE (or remark) to access-list NAME, creating the list on its first line.</summary>
    public void AddAccessListEntry(string name, AccessListEntry entry)
    {
        if (!_accessLists.TryGetValue(name, out var list))
        {
            _accessLists[name] = list = [];
            _accessListOrder.Add(name);
        }
        list.Add(entry);
    }

    /// <summary>The entries of crypto map NAME, sorted by sequence number; the map exists from its first line.</summary>
    public List<CryptoMapEntry> CryptoMapEntries(string map)
    {
        if (!_cryptoMapEntries.TryGetValue(map, out var entries))
        {
            _cryptoMapEntries[map] = entries = [];
            _cryptoMapOrder.Add(map);
        }
        return entries;
    }

    /// <summary>The entries of dynamic map NAME, sorted by sequence number; the map exists from its first line.</summary>
    public List<CryptoMapEntry> DynamicMapEntries(string map)
    {
        if (!_dynamicMapEntries.TryGetValue(map, out var entries))
        {
            _dynamicMapEntries[map] = entries = [];
            _dynamicMapOrder.Add(map);
        }
        return entries;
    }

    /// <summary>`crypto map NAME interface IF`: an interface carries one crypto map, so applying another replaces it.</summary>
    public void ApplyCryptoMap(string map, string iface)
    {
        CryptoMapEntries(map);
        foreach (var other in _cryptoMapInterfaces.Where(kv => kv.Value == iface && kv.Key != map).Select(kv => kv.Key).ToList())
            _cryptoMapInterfaces.Remove(other);
        _cryptoMapInterfaces[map] = iface;
    }

    public void SetModeConfigInitiate(string map, bool initiate)
    {
        CryptoMapEntries(map);
        if (initiate) _modeConfigInitiate.Add(map);
        else _modeConfigInitiate.Remove(map);
    }

    public AsaConfig Build() => new()
    {
        Hostname = Hostname,
        Names = Names.ToValueList(),
        Interfaces = Interfaces.ToValueList(),
        NetworkObjects = NetworkObjects.ToValueList(),
        ServiceObjects = ServiceObjects.ToValueList(),
        ObjectGroups = ObjectGroups.ToValueList(),
        AccessLists = _accessListOrder.Select(n => new AccessList(n) { Entries = _accessLists[n].ToValueList() }).ToValueList(),
        NatRules = NatRules.ToValueList(),
        TransformSets = TransformSets.ToValueList(),
        GlobalSaLifetime = GlobalSaLifetime,
        CryptoMaps = _cryptoMapOrder.Select(n => new CryptoMap(n)
        {
            Entries = _cryptoMapEntries[n].ToValueList(),
            Interface = _cryptoMapInterfaces.GetValueOrDefault(n),
            ModeConfigInitiate = _modeConfigInitiate.Contains(n),
        }).ToValueList(),
        DynamicMaps = _dynamicMapOrder.Select(n => new DynamicMap(n) { Entries = _dynamicMapEntries[n].ToValueList() }).ToValueList(),
        IsakmpEnabledInterfaces = IsakmpEnabledInterfaces.ToValueList(),
        IsakmpPolicies = IsakmpPolicies.Values.ToValueList(),
        Identity = Identity,
        NatTraversal = NatTraversal,
        AggressiveModeDisabled = AggressiveModeDisabled,
        TunnelGroups = TunnelGroups.ToValueList(),
        Mtus = Mtus.ToValueList(),
        DfBitPolicies = DfBitPolicies.ToValueList(),
        FragmentationPolicies = FragmentationPolicies.ToValueList(),
        IpLocalPools = IpLocalPools.ToValueList(),
        // DfltGrpPolicy exists without being written: it is listed only when it sets something.
        GroupPolicies = GroupPolicies.Where(g => g.Name != AsaDefaults.DfltGrpPolicy || g.HasAttributes).ToValueList(),
        Users = Users.ToValueList(),
    };
}
