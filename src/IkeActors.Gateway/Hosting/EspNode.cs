using System.Net;
using IkeActors.Config.Model;
using IkeActors.Esp;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>What `ikeactors run --tun` sets up for the ESP data plane of this node.</summary>
public sealed record EspNodeOptions
{
    /// <summary>The TUN device for the inside (the kernel numbers a name with %d).</summary>
    public string Tun { get; init; } = "ike%d";

    /// <summary>
    /// MTU of the TUN device; null: the inside interface's (`mtu inside N`, else the ASA's 1500). Inside packets too big
    /// for a tunnel within the outside MTU are refused with ICMP or fragmented by the data plane (<see cref="PathMtu"/>),
    /// with each SA's exact limit, as the ASA does; not by a TUN MTU below every tunnel's.
    /// </summary>
    public int? Mtu { get; init; }

    /// <summary>
    /// TUN offloads (IFF_VNET_HDR, TSO and checksum): the kernel hands over TCP super-packets of up to 64 KB, cut here
    /// into segments whose ESP packets leave in one system call per peer (UDP GSO, sendmmsg).
    /// </summary>
    public bool Offloads { get; init; } = true;

    /// <summary>Open a raw IP protocol 50 socket for SAs without NAT-T.</summary>
    public bool RawEsp { get; init; } = true;

    /// <summary>
    /// `--esp-threads N`: the TUN device gets N queues (IFF_MULTI_QUEUE), each read by an inside pump of its own, and raw
    /// ESP is received by N threads, each on a socket of its own that takes a share of the SPIs
    /// (<see cref="RawEspSocket.SteerBySpi"/>). An SA's outbound packets keep their order and numbers whichever pump sends
    /// them (<see cref="EspSa.SendOrder"/>); its inbound ones all reach one thread. Fewer when the kernel refuses queues
    /// (a warning). 1: the single-queue device and one thread each way.
    /// </summary>
    public int Threads { get; init; } = DefaultThreads;

    /// <summary>The default of <see cref="Threads"/>: min(cores, 4) (tests/IkeActors.Benchmarks/README.md, "Every core").</summary>
    public static int DefaultThreads => Math.Min(Environment.ProcessorCount, 4);

    /// <summary>How often the SAs' kilobytes (kB lifetimes, RFC 2407 §4.5) and received traffic (DPD idle, RFC 3706) are reported to their grains.</summary>
    public TimeSpan AccountingInterval { get; init; } = TimeSpan.FromSeconds(2);

    public EspDataPlaneOptions DataPlane { get; init; } = new();
}

/// <summary>
/// The ESP data plane of one gateway node: a TUN device for the inside with routes to every remote
/// network of the crypto maps, a raw ESP socket and the front-end's NAT-T socket for the outside,
/// the key acquire of packets no SA carries yet (the seed's "Pitcher: received a key acquire message"),
/// and the per-SA counters for `show crypto ipsec sa` and the metrics.
/// </summary>
public sealed class EspNode(
    EspSaDatabase database, IsakmpSockets sockets, SaRouter router, FrontEndOptions frontEndOptions, GatewayContext gateway, IGrainFactory grains,
    EspNodeOptions options, ReverseRoutes reverseRoutes, ILogger<EspNode> logger, Cluster.CarrierService? carrier = null) : IHostedLifecycleService, IEspCounterSource, IDisposable
{
    private TunQueues? _tun;
    private readonly List<RawEspSocket> _raw = [];
    private EspDataPlane? _plane;
    private CancellationTokenSource? _stop;
    private IDisposable? _metrics;
    private Task? _accounting;
    /// <summary>What each pair (by inbound SPI) last reported: kilobytes carried, packets received.</summary>
    private readonly Dictionary<uint, (long Kilobytes, long Decaps)> _reported = new();

    public EspDataPlane? DataPlane => _plane;
    public string? TunName => _tun?.Name;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _tun = TunQueues.Open(options.Tun, options.Threads, options.Offloads, warning => logger.LogWarning("{Warning}", warning));
        var inside = InsideInterface();
        var tunMtu = options.Mtu ?? gateway.Config.MtuOf(inside?.Nameif ?? "inside");
        Ip("link", "set", "dev", _tun.Name, "mtu", tunMtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // The data plane answers too-big packets with ICMP from the inside interface's address (PathMtu): a local address
        // arriving on the TUN device, which the kernel drops as a martian unless the device accepts local sources.
        AcceptLocalSources(_tun.Name);
        _plane = new EspDataPlane(database, _tun, PathMtuOptions(options.DataPlane, inside));
        _plane.UdpSend = (packet, pair) => sockets.SendUdpEsp(packet, pair.PeerAddress);
        if (options.Offloads) _plane.UdpSendSegments = (datagrams, size, pair) => sockets.SendUdpEspSegments(datagrams, size, pair.Peer);
        _plane.AcquirePolicy = flow => Match(flow) is not null;
        _plane.Acquire += OnAcquire;
        if (carrier is not null)
        {
            // In a cluster a packet for an SPI not here may be a peer another node carries, or carried (docs/cluster.md).
            _plane.UnknownSpi += carrier.OnUnknownSpi;
            _plane.HandOver = carrier.OnNoOutboundSa; // a peer just handed over: its inside packets follow it
            router.IkeDatagramOfEstablishedSa = peer => { if (peer.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) carrier.OnIkeDatagram(Ipv4.ToUInt32(peer)); };
            await carrier.StartAsync();
        }
        sockets.UdpEsp = (bytes, from) => _plane.OnUdpEspInBatch(bytes, from);
        sockets.UdpEspBatchEnd = _plane.EndUdpBatch;
        if (options.RawEsp) OpenRawSockets(Math.Max(1, options.Threads));
        _plane.Start();
        _metrics = EspTelemetry.Observe(this); // per-SA packets, bytes, errors, replay drops on the OTLP meter
        _stop = new CancellationTokenSource();
        _accounting = Task.Run(() => Account(_stop.Token), CancellationToken.None);
        logger.LogInformation("ESP data plane on {Tun}: {Pumps} inside pumps, {Receivers} raw ESP receivers", _tun.Name, _plane.InsidePumps, _plane.RawReceivers);
    }

    /// <summary>
    /// Raw ESP sockets, each received on a thread of its own and steered to its share of the SPIs, so an SA's packets all
    /// reach one thread, in order; the first also sends. The share is fixed once all are open (as many as opened).
    /// </summary>
    private void OpenRawSockets(int count)
    {
        var local = gateway.Local.Address.Equals(IPAddress.Any) ? null : gateway.Local.Address;
        try
        {
            while (_raw.Count < count) _raw.Add(new RawEspSocket(local));
        }
        catch (System.Net.Sockets.SocketException e)
        {
            // Not fatal: NAT-T (ESP in UDP) still works. Binding fails where the outside address is not local (labs on loopback).
            if (_raw.Count == 0)
            {
                logger.LogWarning("raw ESP socket not opened ({Error}): only UDP-encapsulated ESP will pass", e.SocketErrorCode);
                return;
            }
            logger.LogWarning("raw ESP socket {Index} of {Count} not opened ({Error}): {Opened} receivers", _raw.Count + 1, count, e.SocketErrorCode, _raw.Count);
        }
        try
        {
            for (var i = 0; i < _raw.Count; i++) _raw[i].SteerBySpi(i, _raw.Count);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            // Unsteered sockets would each receive every packet: one receiver then.
            logger.LogWarning("raw ESP sockets not steered by SPI ({Error}): 1 receiver", e.SocketErrorCode);
            foreach (var extra in _raw.Skip(1)) extra.Dispose();
            _raw.RemoveRange(1, _raw.Count - 1);
            _raw[0].SteerBySpi(0, 1);
        }
        foreach (var raw in _raw) _plane!.AttachRawSocket(raw);
        if (options.Offloads) _plane!.RawSendBatch = _raw[0].SendBatch;
    }

    /// <summary>
    /// The first step of a stop, before any service stops (the silo among them): no more reports to the grains,
    /// so none is in flight while the silo deactivates them.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stop?.Cancel();
        if (_accounting is not null) try { await _accounting; } catch (OperationCanceledException) { }
    }

    /// <summary>The SAs are deleted by now (GracefulShutdown): the data plane closes, once.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await StoppingAsync(cancellationToken);
        sockets.UdpEsp = null; // ESP in UDP that still arrives is dropped and counted, not handed to a closed plane
        _plane?.Dispose();
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    /// <summary>
    /// Once every service has started (the ISAKMP and NAT-T sockets bound, the carrier service listening): the TUN link
    /// goes up and the routes into it are added. In a cluster the link's state is what BIRD announces the concentrator's
    /// address by (docs/cluster.md §1), so a (re)starting node draws no peer's packets before it can take them.
    /// </summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (_tun is null) return Task.CompletedTask;
        Ip("link", "set", "dev", _tun.Name, "up");
        foreach (var (network, source) in RemoteNetworks())
        {
            string[] route = ["route", "replace", network, "dev", _tun.Name];
            Ip(source is null ? route : [.. route, "src", source]);
        }
        reverseRoutes.Attach(_tun.Name);
        return Task.CompletedTask;
    }
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void AcceptLocalSources(string device)
    {
        var path = $"/proc/sys/net/ipv4/conf/{device}/accept_local";
        try { File.WriteAllText(path, "1"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("{Path} not set ({Error}): inside hosts will not hear the tunnel's MTU from ICMP", path, e.Message);
        }
    }

    /// <summary>The interface the inside hosts are behind: the first with an address that is not the outside one.</summary>
    private AsaInterface? InsideInterface() =>
        gateway.Config.Interfaces.FirstOrDefault(i => i.Nameif is { } n && n != gateway.OutsideInterface && i.Address is not null);

    /// <summary>
    /// The outside interface's `mtu`, `crypto ipsec df-bit` and `crypto ipsec fragmentation`, and the address the ICMP
    /// "fragmentation needed" comes from: the inside interface's (else the outside one's, else none: then a packet with
    /// DF is fragmented rather than lost without a word).
    /// </summary>
    private EspDataPlaneOptions PathMtuOptions(EspDataPlaneOptions o, AsaInterface? inside)
    {
        var outside = gateway.OutsideInterface;
        var icmpSource = inside?.Address?.Address ?? (gateway.Local.Address.Equals(IPAddress.Any) ? null : gateway.Local.Address);
        return o with
        {
            OutsideMtu = gateway.Config.MtuOf(outside),
            DfBit = gateway.Config.DfBitOf(outside) switch
            {
                DfBitSetting.ClearDf => DfBitPolicy.ClearDf,
                DfBitSetting.SetDf => DfBitPolicy.SetDf,
                _ => DfBitPolicy.CopyDf,
            },
            FragmentBeforeEncryption = gateway.Config.FragmentsBeforeEncryption(outside),
            IcmpSource = icmpSource is null ? 0 : Ipv4.ToUInt32(icmpSource),
        };
    }

    /// <summary>The crypto map entry (and its peer) that protects a flow, as the ASA's outbound lookup finds it.</summary>
    private IkeActors.Config.Lookup.CryptoMapMatch? Match(FlowKey flow)
    {
        var packet = new IkeActors.Config.Lookup.Packet(ToAddress(flow.Source), ToAddress(flow.Destination), flow.Protocol, flow.SourcePort, flow.DestinationPort);
        var match = gateway.Lookup.MatchOutbound(packet, gateway.OutsideInterface);
        return match is { Entry.Peers.Count: > 0 } ? match : null;
    }

    private void OnAcquire(FlowKey flow)
    {
        if (Match(flow) is not { } match) return;
        var request = new AcquireRequest(TrafficSelector.Format(flow.Source), TrafficSelector.Format(flow.Destination), flow.Protocol, flow.SourcePort, flow.DestinationPort);
        _ = Task.Run(async () =>
        {
            try { await router.Acquire(match.Entry.Peers[0], request); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning(e, "key acquire for {Flow} failed", flow); }
        });
    }

    /// <summary>
    /// Every few seconds, the kilobytes each SA pair carried go to its IPsec SA grain (which tells its IKE SA:
    /// rekey at the soft limit), and whether the peer sent anything (DPD stays quiet while it does).
    /// </summary>
    private async Task Account(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.AccountingInterval);
        using var untraced = UntracedCalls.Begin();
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                foreach (var pair in database.Pairs)
                {
                    var kb = pair.Inbound.KilobytesUsed + pair.Outbound.KilobytesUsed;
                    var decaps = pair.Inbound.Counters.Snapshot().Decaps;
                    var last = _reported.GetValueOrDefault(pair.Inbound.Spi);
                    if (last.Kilobytes == kb && last.Decaps == decaps) continue;
                    _reported[pair.Inbound.Spi] = (kb, decaps);
                    var sa = grains.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(frontEndOptions.Configured(new IPEndPoint(pair.Peer.Address, 500)).Address.ToString(), pair.Inbound.Spi));
                    try
                    {
                        if (last.Kilobytes != kb) await sa.AccountTraffic(kb);
                        if (last.Decaps != decaps) await sa.PeerTraffic(); // the peer is alive: no DPD while traffic flows
                    }
                    catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "accounting for SPI {Spi:X8} failed", pair.Inbound.Spi); }
                }
                var live = database.Pairs.Select(p => p.Inbound.Spi).ToHashSet();
                foreach (var gone in _reported.Keys.Where(k => !live.Contains(k)).ToList()) _reported.Remove(gone);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>One reading per installed SA pair (IEspCounterSource: `show crypto ipsec sa` and the ESP metrics).</summary>
    public IReadOnlyCollection<EspSaCounterReading> Read() => database.Pairs.Select(p =>
    {
        var i = p.Inbound.Counters.Snapshot();
        var o = p.Outbound.Counters.Snapshot();
        return new EspSaCounterReading(p.Peer.Address.ToString(), p.Inbound.Spi, p.Outbound.Spi,
            o.Encaps, i.Decaps, o.BytesOut, i.BytesIn, o.SendErrors, i.RecvErrors, i.ReplayFailed, p.Inbound.ReplayWindow.Bitmap,
            new FragmentationCounts(o.PreFragSuccesses, o.PreFragFailures, o.FragmentsCreated, o.PmtusSent));
    }).ToList();

    /// <summary>
    /// The remote networks of the crypto ACLs on the ISAKMP interface, each with the inside address to
    /// send from (so a ping from the gateway's inside address is protected too).
    /// </summary>
    private IEnumerable<(string Network, string? Source)> RemoteNetworks()
    {
        var config = gateway.Config;
        var map = config.CryptoMapOnInterface(gateway.OutsideInterface);
        if (map is null) yield break;
        var insides = config.Interfaces.Where(i => i.Nameif != gateway.OutsideInterface && i.Address is not null).ToList();
        var seen = new HashSet<string>();
        foreach (var entry in map.Entries)
        {
            if (entry.MatchAddress is null || config.FindAccessList(entry.MatchAddress) is not { } acl) continue;
            foreach (var ace in acl.Entries.Where(e => e.Action == AclAction.Permit && !e.Inactive))
            {
                var sources = gateway.Lookup.Resolve(ace.Source);
                foreach (var range in gateway.Lookup.Resolve(ace.Destination))
                {
                    if (range.AsPrefix() is not { } prefix || prefix.Length == 0) continue;
                    var network = $"{Ipv4.Format(prefix.Network)}/{prefix.Length}";
                    if (!seen.Add(network)) continue;
                    var inside = insides.FirstOrDefault(i => sources.Any(s => s.Contains(i.Address!.Value.Host)))?.Address;
                    yield return (network, inside?.Address.ToString());
                }
            }
        }
    }

    private static IPAddress ToAddress(uint a) => new([(byte)(a >> 24), (byte)(a >> 16), (byte)(a >> 8), (byte)a]);

    private static void Ip(params string[] args) => TunDevice.RunIp(args);

    private int _disposed;

    /// <summary>Once (the host disposes what StopAsync closed already: the plane's own Dispose is idempotent too).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _metrics?.Dispose();
        _plane?.Dispose();
        foreach (var raw in _raw) raw.Dispose();
        _tun?.Dispose(); // the kernel removes the device and its routes with the last descriptor
        reverseRoutes.Dispose();
        _stop?.Dispose();
    }
}
