namespace IkeActors.Esp;

/// <summary>
/// Per-SA packet counters, named after the ASA's <c>show crypto ipsec sa [detail]</c> lines (see README).
/// Written with Interlocked by the one thread that works the SA; read at any time by show commands.
/// </summary>
public sealed class EspSaCounters
{
    // Outbound
    internal long Encaps, Encrypt, Digest, SendErrors, ReplayRolloverSend, EncapsFailedSend, BytesOut,
        PmtusSent, PreFragSuccesses, PreFragFailures, FragmentsCreated;
    // Inbound
    internal long Decaps, Decrypt, Verify, RecvErrors, VerifyFailed, ReplayFailed, InvalidLength, InvalidPad,
        InvalidProtocol, InvalidIdentity, InvalidSpi, BytesIn;

    public EspSaCounterSnapshot Snapshot() => new(
        Read(ref Encaps), Read(ref Encrypt), Read(ref Digest), Read(ref Decaps), Read(ref Decrypt), Read(ref Verify),
        Read(ref SendErrors), Read(ref RecvErrors), Read(ref VerifyFailed), Read(ref ReplayFailed),
        Read(ref InvalidLength), Read(ref InvalidPad), Read(ref InvalidProtocol), Read(ref InvalidIdentity),
        Read(ref InvalidSpi), Read(ref ReplayRolloverSend), Read(ref EncapsFailedSend), Read(ref BytesOut), Read(ref BytesIn),
        Read(ref PmtusSent), Read(ref PreFragSuccesses), Read(ref PreFragFailures), Read(ref FragmentsCreated));

    /// <summary>
    /// Counts carried over from the node that carried this SA before (a cluster's hand-over, docs/cluster.md): the
    /// packets and bytes it counted are added, so `show crypto ipsec sa` goes on from them rather than from zero.
    /// </summary>
    public void ContinueFrom(long encaps, long decaps, long bytesOut, long bytesIn)
    {
        Add(ref Encaps, encaps); Add(ref Encrypt, encaps); Add(ref Digest, encaps); Add(ref BytesOut, bytesOut);
        Add(ref Decaps, decaps); Add(ref Decrypt, decaps); Add(ref Verify, decaps); Add(ref BytesIn, bytesIn);
    }

    private static long Read(ref long field) => Interlocked.Read(ref field);

    internal static void Add(ref long field, long value = 1) => Interlocked.Add(ref field, value);
}

/// <summary>A consistent-enough copy of <see cref="EspSaCounters"/> for display and tests.</summary>
/// <param name="Encaps">#pkts encaps</param>
/// <param name="Encrypt">#pkts encrypt (not counted with ESP-NULL)</param>
/// <param name="Digest">#pkts digest (not counted without integrity)</param>
/// <param name="Decaps">#pkts decaps</param>
/// <param name="Decrypt">#pkts decrypt</param>
/// <param name="Verify">#pkts verify</param>
/// <param name="SendErrors">#send errors</param>
/// <param name="RecvErrors">#recv errors: every inbound drop; the reasons follow</param>
/// <param name="VerifyFailed">#pkts verify failed (ICV mismatch)</param>
/// <param name="ReplayFailed">#pkts replay failed (rcv): duplicate or left of the window</param>
/// <param name="InvalidLength">#pkts invalid len (rcv): too short, not block-aligned, pad length past the payload</param>
/// <param name="InvalidPad">#pkts invalid pad (rcv): padding bytes not 1, 2, 3, ...</param>
/// <param name="InvalidProtocol">#pkts invalid prot (rcv): next header neither IPv4 (4) nor IPv6 (41)</param>
/// <param name="InvalidIdentity">#pkts invalid identity (rcv): inner addresses outside the SA's selectors (RFC 4301 §5.2)</param>
/// <param name="InvalidSpi">#pkts invalid sa (rcv): SPI of another SA, or the SA is past its hard lifetime</param>
/// <param name="ReplayRolloverSend">#pkts replay rollover (send): sequence number space used up (RFC 4303 §3.3.3)</param>
/// <param name="EncapsFailedSend">#pkts encaps failed (send): hard lifetime reached, or the SA was deleted</param>
/// <param name="BytesOut">inner bytes encapsulated (for the kilobyte lifetime)</param>
/// <param name="BytesIn">inner bytes decapsulated</param>
/// <param name="PmtusSent">#PMTUs sent: ICMP "fragmentation needed" sent inside for a packet too big for the tunnel with DF set</param>
/// <param name="PreFragSuccesses">#pre-frag successes: packets too big for the tunnel fragmented before encryption</param>
/// <param name="PreFragFailures">#pre-frag failures: such packets that could not be (IP options): sent whole, fragmented after encryption</param>
/// <param name="FragmentsCreated">#fragments created: the fragments those made</param>
public readonly record struct EspSaCounterSnapshot(
    long Encaps, long Encrypt, long Digest, long Decaps, long Decrypt, long Verify,
    long SendErrors, long RecvErrors, long VerifyFailed, long ReplayFailed,
    long InvalidLength, long InvalidPad, long InvalidProtocol, long InvalidIdentity, long InvalidSpi,
    long ReplayRolloverSend, long EncapsFailedSend, long BytesOut, long BytesIn,
    long PmtusSent = 0, long PreFragSuccesses = 0, long PreFragFailures = 0, long FragmentsCreated = 0);
