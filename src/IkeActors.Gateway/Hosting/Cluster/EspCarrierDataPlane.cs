using System.Net;
using IkeActors.Config.Model;
using IkeActors.Esp;
using IkeActors.Grains;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// The carrier service's hands in this node's ESP data plane: pairs built as the installer builds them, resumed above
/// the numbers the cluster gives, routed inside while here (<see cref="ReverseRoutes"/>), and packets that waited for a
/// claim handed to the data plane again. A Quick Mode responder's inbound SA may come alone first (<see cref="InstallInbound"/>):
/// the pair installed later completes it, and what is returned then is the pair as installed (its inbound SA the one
/// that has been receiving: its replay window and counters go on).
/// </summary>
public sealed class EspCarrierDataPlane(EspSaDatabase database, FrontEndOptions options, ReverseRoutes? routes, Func<EspDataPlane?> dataPlane) : ICarrierDataPlane
{
    public EspSaPair? Install(IpsecSaRecord sa, uint resumeAfter, uint inboundTop, uint reservedUpTo)
    {
        if (EspSaInstaller.Build(sa, options) is not { } pair) return null;
        pair.Outbound.ResumeAt(resumeAfter, 0);
        pair.Outbound.ReserveUpTo(reservedUpTo);
        pair.Inbound.ResumeAt(0, inboundTop);
        // Completing an inbound SA alone keeps that SA and its window (the built one, started at inboundTop, is
        // disposed): it has received everything this SA has, as an inbound SA alone never leaves the node it went to.
        var installed = database.Add(pair);
        routes?.Added(sa);
        return installed;
    }

    public bool InstallInbound(IpsecSaRecord sa)
    {
        if (EspSaInstaller.BuildInbound(sa, options) is not { } inbound) return false;
        if (database.AddInbound(inbound)) return true;
        inbound.Dispose(); // its SPI is here already: the same SA announced again, or its pair
        return database.TryGetInbound(sa.InboundSpi, out var there) && there.IsInboundOnly;
    }

    /// <summary>
    /// Checked, then removed: not atomic in the database, but the carrier service installs and removes a peer's SAs one
    /// operation at a time (its per-peer gate), so no pair can complete the SA in between.
    /// </summary>
    public bool RemoveInbound(uint inboundSpi) =>
        database.TryGetInbound(inboundSpi, out var there) && there.IsInboundOnly && database.Remove(inboundSpi);

    public (uint LastSent, uint InboundTop)? Remove(uint inboundSpi, TimeSpan? handOverGrace = null)
    {
        if (!database.TryGetInbound(inboundSpi, out var pair)) return null;
        if (pair.IsInboundOnly) { RemoveInbound(inboundSpi); return null; } // not a pair: no numbers, no routes
        // Removed first: the SAs are disposed under their own lock, so no packet is being sent when the numbers are read.
        database.Remove(inboundSpi);
        if (handOverGrace is { } grace) routes?.HandedOver(inboundSpi, grace);
        else routes?.Removed(inboundSpi);
        return (pair.Outbound.LastSequenceNumber, pair.Inbound.ReplayWindow.Top);
    }

    public void Send(byte[] innerPacket) => dataPlane()?.ProcessOutbound(innerPacket);

    public void Replay(byte[] esp, uint source, int udpPort)
    {
        if (dataPlane() is not { } plane) return;
        if (udpPort != 0)
        {
            plane.OnUdpEsp(esp, new IPEndPoint(Ipv4.ToAddress(source), udpPort));
            return;
        }
        // Raw ESP: the data plane reads the outer IPv4 header (only its length, protocol and source matter here).
        var datagram = new byte[20 + esp.Length];
        datagram[0] = 0x45;
        datagram[9] = 50;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(12), source);
        esp.CopyTo(datagram, 20);
        plane.OnRawEsp(datagram);
    }
}
