using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Config.Parsing;
using IkeActors.Negotiation;

namespace IkeActors.LoadGenerator;

/// <summary>
/// The options of `ikeactors bench` as typed. <see cref="Validate"/> checks all of them at once and turns them into
/// <see cref="BenchSettings"/>; every problem is one line naming the option (and never the PSK).
/// </summary>
public sealed record BenchArguments
{
    public string Sources { get; init; } = "127.1.0.1";
    public int SourcePort { get; init; }
    public string Target { get; init; } = "127.0.0.1:500";
    public int TargetNatTPort { get; init; } = 4500;
    public int Peers { get; init; } = 1;
    public double Rate { get; init; }
    public int Concurrency { get; init; } = 100;
    public double Hold { get; init; }
    public double Timeout { get; init; } = 30;
    public bool NoDelete { get; init; }
    public int Debug { get; init; }
    public string? ConfigFile { get; init; }
    public string? Psk { get; init; }
    public string Ike { get; init; } = "aes256-sha1-modp1024";
    public string Esp { get; init; } = "aes128-sha1";
    public string? Pfs { get; init; }
    public string LocalTs { get; init; } = "10.0.0.0/8";
    public string RemoteTs { get; init; } = "192.168.2.0/24";
    public int IkeLifetime { get; init; } = 86400;
    public int EspLifetime { get; init; } = 28800;
    public int Dpd { get; init; }
    /// <summary>Remote-access profile: the group named in Aggressive Mode; with <see cref="User"/> and <see cref="Password"/> for XAUTH.</summary>
    public string? Group { get; init; }
    public string? User { get; init; }
    public string? Password { get; init; }

    public override string ToString() => $"BenchArguments({Peers} peers to {Target}{(Group is null ? "" : ", group " + Group)})";

    public (BenchSettings? Settings, IReadOnlyList<string> Errors) Validate()
    {
        var errors = new List<string>();
        var first = ParseIpv4(Sources, "--sources", errors);
        if (SourcePort is < 0 or > 65535) errors.Add($"--source-port {SourcePort}: expected 0-65535");
        var target = ParseTarget(errors);
        if (TargetNatTPort is < 1 or > 65535) errors.Add($"--target-natt-port {TargetNatTPort}: expected 1-65535");
        if (Peers < 1) errors.Add($"--peers {Peers}: at least one peer");
        if (first is not null && Peers >= 1 && (ulong)Ipv4.ToUInt32(first) + (ulong)Peers - 1 > uint.MaxValue)
            errors.Add($"--sources {Sources}: {Peers} peers run past 255.255.255.255");
        if (double.IsNaN(Rate) || Rate < 0) errors.Add($"--rate {Rate.ToString(CultureInfo.InvariantCulture)}: expected 0 (as fast as allowed) or more peers per second");
        if (Concurrency < 1) errors.Add($"--concurrency {Concurrency}: at least one negotiation in flight");
        if (double.IsNaN(Hold) || Hold < 0) errors.Add($"--hold {Hold.ToString(CultureInfo.InvariantCulture)}: expected 0 or more seconds");
        if (double.IsNaN(Timeout) || Timeout <= 0) errors.Add($"--timeout {Timeout.ToString(CultureInfo.InvariantCulture)}: expected more than 0 seconds");
        if (Debug is < 0 or > 255) errors.Add($"--debug {Debug}: expected 0-255");

        AsaConfig? config = null;
        Ipv4Prefix? localTs = null;
        Packet? acquire = null;
        if (ConfigFile is not null)
        {
            config = LoadConfigFile(errors);
            if (config is not null) acquire = FirstProtectedPacket(config, errors);
        }
        else
        {
            var psk = Psk;
            if (string.IsNullOrEmpty(psk)) errors.Add("--psk: required without --config (the pre-shared key of the target's tunnel-group)");
            else if (psk.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || psk.Length > 128)
                errors.Add("--psk: 1-128 printable characters without spaces (the ASA's limit)");
            var ike = ProposalNames.ParseIke(Ike);
            if (ike is null) errors.Add($"--ike {Ike}: unknown proposal (ENCRYPTION-HASH-GROUP: 3des|aes128|aes192|aes256 - md5|sha1|sha256|sha384|sha512 - modp768|modp1024|modp1536|modp2048|ecp256|ecp384)");
            var esp = ProposalNames.ParseEsp(Esp);
            if (esp is null) errors.Add($"--esp {Esp}: unknown proposal (ENCRYPTION-INTEGRITY: 3des|aes128|aes192|aes256 - md5|sha1|sha256|sha384|sha512)");
            int? pfs = null;
            if (Pfs is not null && (pfs = ProposalNames.ParseGroup(Pfs)) is null) errors.Add($"--pfs {Pfs}: unknown DH group (1, 2, 5, 14, 19, 20 or modpN/ecpN)");
            localTs = ParsePrefix(LocalTs, "--local-ts", errors);
            var remoteTs = ParsePrefix(RemoteTs, "--remote-ts", errors);
            if (localTs is { } l && Peers >= 1 && BenchSettings.PeerPrefixLengthFor(l, Peers) > 32)
                errors.Add($"--local-ts {LocalTs}: holds {1L << (32 - l.Length)} addresses, fewer than --peers {Peers} (each peer proposes its own subnet of it)");
            if (IkeLifetime is < 120 or > 2147483647) errors.Add($"--ike-lifetime {IkeLifetime}: expected 120 seconds or more (the ASA's range)");
            if (EspLifetime is < 120 or > 2147483647) errors.Add($"--esp-lifetime {EspLifetime}: expected 120 seconds or more (the ASA's range)");
            if (Dpd is < 0 or > 3600) errors.Add($"--dpd {Dpd}: expected 0 (off) or 10-3600 seconds");
            else if (Dpd is > 0 and < 10) errors.Add($"--dpd {Dpd}: expected 0 (off) or 10-3600 seconds");
            if (errors.Count == 0)
            {
                var text = new InitiatorConfigText
                {
                    Target = target!.Address, PreSharedKey = psk!, Ike = ike!, Esp = esp!, PfsGroup = pfs, LocalTs = localTs!.Value,
                    RemoteTs = remoteTs!.Value, IkeLifetimeSeconds = IkeLifetime, EspLifetimeSeconds = EspLifetime, DpdSeconds = Dpd,
                }.Render();
                var loaded = AsaConfigLoader.Load(text, "<bench options>");
                // The generated text holds the PSK: name the problem, never the line.
                foreach (var d in loaded.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
                    errors.Add($"the options make an initiator configuration the parser refuses: line {d.Location.Line}: {d.Message}");
                config = loaded.Config;
                acquire = new Packet(Ipv4.ToAddress(localTs.Value.First + 1), Ipv4.ToAddress(remoteTs.Value.First + 1), 1);
            }
        }
        RemoteAccessCredentials? remoteAccess = null;
        if (Group is not null)
        {
            if (ConfigFile is not null) errors.Add("--group: not with --config (the remote-access profile takes its proposals from the options)");
            if (Group.Length is 0 or > 64 || Group.Any(c => c is < '!' or > '~')) errors.Add("--group: 1-64 printable characters (a tunnel-group name)");
            if (string.IsNullOrEmpty(User) || string.IsNullOrEmpty(Password)) errors.Add("--group: needs --user and --password for XAUTH");
            if (ProposalNames.ParseIke(Ike) is { } p1 && errors.Count == 0)
                remoteAccess = new RemoteAccessCredentials(Group, new PreSharedKey(Psk ?? ""), User!, Password!) { DhGroup = (int)p1.Group };
        }
        else if (User is not null || Password is not null) errors.Add("--user/--password: only with --group (the remote-access profile)");
        if (errors.Count > 0) return (null, errors);
        return (new BenchSettings
        {
            FirstSource = first!, SourcePort = SourcePort, Target = target!, TargetNatTPort = TargetNatTPort, Peers = Peers, Rate = Rate,
            Concurrency = Concurrency, Hold = TimeSpan.FromSeconds(Hold), Timeout = TimeSpan.FromSeconds(Timeout), DeleteAtEnd = !NoDelete,
            Debug = Debug, Config = config!, LocalTs = localTs, Acquire = acquire!.Value, RemoteAccess = remoteAccess,
        }, errors);
    }

    private IPEndPoint? ParseTarget(List<string> errors)
    {
        var text = Target;
        var port = 500;
        var colon = text.LastIndexOf(':');
        if (colon >= 0)
        {
            if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                errors.Add($"--target {Target}: expected ADDRESS[:PORT] with a port of 1-65535");
                return null;
            }
            text = text[..colon];
        }
        var address = ParseIpv4(text, "--target", errors);
        return address is null ? null : new IPEndPoint(address, port);
    }

    private static IPAddress? ParseIpv4(string text, string option, List<string> errors)
    {
        if (Ipv4.TryParse(text, out var value)) return Ipv4.ToAddress(value);
        errors.Add($"{option} {text}: expected an IPv4 address (e.g. 127.1.0.1)");
        return null;
    }

    private static Ipv4Prefix? ParsePrefix(string text, string option, List<string> errors)
    {
        var slash = text.Split('/');
        if (slash.Length == 2 && Ipv4.TryParse(slash[0], out var a) && int.TryParse(slash[1], NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l is >= 0 and <= 32)
        {
            var prefix = new Ipv4Prefix(a, l);
            if (prefix.Network == a) return prefix;
            errors.Add($"{option} {text}: host bits set (did you mean {prefix}?)");
            return null;
        }
        errors.Add($"{option} {text}: expected ADDRESS/LENGTH (e.g. 10.0.0.0/8)");
        return null;
    }

    private AsaConfig? LoadConfigFile(List<string> errors)
    {
        var loaded = AsaConfigLoader.LoadFile(ConfigFile!);
        var bad = loaded.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        foreach (var d in bad) errors.Add($"{d.Location.File}:{d.Location.Line}:{d.Location.Column}: {d.Message}");
        if (Psk is not null) errors.Add("--psk: not with --config (the PSK is the tunnel-group's in the file)");
        return bad.Count == 0 ? loaded.Config : null;
    }

    /// <summary>A packet the file's first crypto map entry protects: its first permit ACE's first host on each side, its protocol and ports.</summary>
    private static Packet? FirstProtectedPacket(AsaConfig config, List<string> errors)
    {
        var lookup = new CryptoMapLookup(config);
        foreach (var map in config.CryptoMaps.Where(m => m.Interface is not null))
            foreach (var entry in map.Entries.Where(e => e.IsComplete && e.Peers.Count > 0))
            {
                var acl = config.AccessLists.FirstOrDefault(a => a.Name == entry.MatchAddress);
                if (acl is null) continue;
                foreach (var ace in acl.Entries)
                {
                    if (ace.IsRemark || ace.Inactive || ace.Action != AclAction.Permit) continue;
                    var src = lookup.Resolve(ace.Source).FirstOrDefault();
                    var dst = lookup.Resolve(ace.Destination).FirstOrDefault();
                    var s = Ipv4.ToAddress(src.First == src.Last ? src.First : src.First + 1);
                    var d = Ipv4.ToAddress(dst.First == dst.Last ? dst.First : dst.First + 1);
                    var packet = new Packet(s, d, ace.Protocol > 0 ? ace.Protocol : 1, Port(ace.SourcePort), Port(ace.DestinationPort));
                    if (lookup.MatchOutbound(packet, map.Interface) is not null) return packet;
                }
            }
        errors.Add("--config: no crypto map entry applied to an interface, with a peer and a permit ACE, to start from");
        return null;
    }

    /// <summary>A port an ACE's port condition accepts (0 without one).</summary>
    private static int Port(PortSpec? spec) => spec switch
    {
        null => 0,
        { Operator: PortOperator.Eq or PortOperator.Range } => spec.Low,
        { Operator: PortOperator.Gt } => spec.Low + 1,
        { Operator: PortOperator.Lt } => Math.Max(0, spec.Low - 1),
        { Operator: PortOperator.Neq } => spec.Low == 1 ? 2 : 1,
        _ => 0,
    };
}
