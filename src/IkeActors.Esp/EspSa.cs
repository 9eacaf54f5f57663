using System.Buffers.Binary;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>Direction of an SA: outbound SAs encapsulate, inbound SAs decapsulate (RFC 4301 §4.1: SAs are simplex).</summary>
public enum EspDirection
{
    Inbound,
    Outbound,
}

/// <summary>What <see cref="EspSa.TryEncapsulate"/> did.</summary>
public enum EspEncapStatus
{
    Ok,
    /// <summary>The destination span cannot hold the packet (see <see cref="EspSa.MaxPacketSize"/>).</summary>
    DestinationTooSmall,
    /// <summary>The 32-bit sequence number would wrap (RFC 4303 §3.3.3): rekey.</summary>
    SequenceExhausted,
    /// <summary>The hard kilobyte lifetime is used up.</summary>
    LifetimeExpired,
    /// <summary>The SA was deleted (keys zeroed), or it is an inbound SA.</summary>
    SaUnusable,
    /// <summary>
    /// The next sequence number is above what this node has reserved for the SA (<see cref="EspSa.ReserveUpTo"/>): the
    /// packet is not sent and the number not used, until the carrier extends the reservation (docs/cluster.md).
    /// </summary>
    SequenceNotReserved,
}

/// <summary>Outcome of <see cref="EspSa.TryDecapsulate"/>; only <see cref="Ok"/> touches the replay window.</summary>
public enum EspDecapStatus
{
    Ok,
    /// <summary>Shorter than SPI + sequence + IV + one block + ICV.</summary>
    TooShort,
    /// <summary>Ciphertext not a whole number of blocks, or pad length runs past the payload.</summary>
    BadLength,
    /// <summary>The SPI is not this SA's.</summary>
    SpiMismatch,
    /// <summary>Duplicate, or left of the 64-packet window (RFC 4303 §3.4.3).</summary>
    Replay,
    /// <summary>ICV mismatch (RFC 4303 §3.4.4).</summary>
    IcvFailure,
    /// <summary>Padding bytes are not 1, 2, 3, ... (RFC 4303 §2.4).</summary>
    BadPadding,
    /// <summary>Next header is not IPv4 (4) or IPv6 (41) in tunnel mode.</summary>
    BadNextHeader,
    /// <summary>A dummy packet (next header 59, RFC 4303 §2.6): authentic, counted, nothing to deliver.</summary>
    DummyPacket,
    /// <summary>The hard lifetime is used up, or the SA was deleted.</summary>
    SaUnusable,
}

/// <summary>
/// One direction of an ESP SA (RFC 4303, tunnel mode): SPI, keys (held by the reused cipher and HMAC
/// transforms, zeroed on <see cref="Dispose"/>), the sequence number (outbound) or the anti-replay window
/// (inbound), counters and the kilobyte lifetime. Packets go through an SA one at a time (a lock: any number of
/// threads may send or receive on one SA; uncontended it costs little); counters, window and lifetime may be read
/// from anywhere. A sender that must keep the SA's packets in order on the wire holds <see cref="SendOrder"/> across
/// the encapsulation and its send.
/// </summary>
public sealed class EspSa : IDisposable
{
    /// <summary>IP protocol numbers carried in ESP's next header field.</summary>
    public const byte NextHeaderIPv4 = 4, NextHeaderIPv6 = 41, NextHeaderNone = 59;

    private const int HeaderSize = 8; // SPI + sequence number (RFC 4303 §2)

    private readonly EspCipherEngine _cipher;
    private readonly EspIntegrityEngine _integrity;
    private readonly EspGcmEngine? _gcm; // a combined-mode transform (RFC 4106) instead of the two above
    private readonly int _blockSize, _ivSize, _icvSize;
    private long _sequence;        // last sequence number sent (outbound)
    private long _outboundLimit = long.MaxValue; // the highest number this node may send (a carrier's reservation)
    private long _reservationLow = long.MaxValue; // sending this number asks for the next reservation
    private long _nextInboundMark = InboundMarkInterval; // the inbound window's right edge reported at each multiple
    private byte[]? _ivPool;       // random bytes for IVs (outbound)
    private int _ivUsed = IvPoolSize;
    private const int IvPoolSize = 4096;
    private long _lifetimeState;   // EspLifetimeState, written once per transition
    private int _disposed;
    private readonly Lock _lock = new(); // one packet at a time per SA: the transforms keep per-packet state

    public EspSa(uint spi, EspDirection direction, EspCipher cipher, ReadOnlySpan<byte> encryptionKey,
        EspIntegrity integrity, ReadOnlySpan<byte> integrityKey, EspLifetime lifetime = default)
        : this(spi, direction, cipher, encryptionKey, integrity, integrityKey, lifetime, libcryptoHmac: true, aesNi: true)
    {
    }

    /// <summary>
    /// <paramref name="libcryptoHmac"/> false keeps the HMAC on IncrementalHash (<see cref="EspIntegrityEngine"/>),
    /// <paramref name="aesNi"/> false AES-CBC on the ICryptoTransform (<see cref="EspCipherEngine"/>): benchmarks compare.
    /// </summary>
    internal EspSa(uint spi, EspDirection direction, EspCipher cipher, ReadOnlySpan<byte> encryptionKey,
        EspIntegrity integrity, ReadOnlySpan<byte> integrityKey, EspLifetime lifetime, bool libcryptoHmac, bool aesNi)
    {
        if (cipher == EspCipher.Null && integrity == EspIntegrity.None)
        {
            throw new ArgumentException("ESP needs confidentiality or integrity (RFC 4303 §3.2)");
        }
        if (cipher.IsAead() && integrity != EspIntegrity.None)
        {
            throw new ArgumentException("a combined-mode transform has no separate integrity algorithm (RFC 4303 §3.2.3, RFC 4106 §8.1)");
        }
        Spi = spi;
        Direction = direction;
        Cipher = cipher;
        Integrity = integrity;
        Lifetime = lifetime;
        _cipher = cipher.IsAead() ? new EspCipherEngine(EspCipher.Null, []) : new EspCipherEngine(cipher, encryptionKey, aesNi);
        _gcm = cipher.IsAead() ? new EspGcmEngine(cipher, encryptionKey) : null;
        _integrity = new EspIntegrityEngine(integrity, integrityKey, libcryptoHmac);
        _blockSize = cipher.BlockSize();
        _ivSize = cipher.IvSize();
        _icvSize = integrity.IcvSize() + cipher.AeadIcvSize();
    }

    public uint Spi { get; }
    public EspDirection Direction { get; }
    public EspCipher Cipher { get; }
    public EspIntegrity Integrity { get; }
    public EspLifetime Lifetime { get; }
    public EspSaCounters Counters { get; } = new();

    /// <summary>Inbound only: the 64-packet anti-replay window ("replay detection support: Y").</summary>
    public ReplayWindow ReplayWindow { get; } = new();

    /// <summary>Outbound: the last sequence number sent (0 before the first packet).</summary>
    public uint LastSequenceNumber => (uint)Interlocked.Read(ref _sequence);

    /// <summary>Inner bytes carried so far, in whole kilobytes (what the ASA subtracts from the kB lifetime).</summary>
    public long KilobytesUsed => (Interlocked.Read(ref Counters.BytesOut) + Interlocked.Read(ref Counters.BytesIn)) / 1024;

    public EspLifetimeState LifetimeState => (EspLifetimeState)Interlocked.Read(ref _lifetimeState);

    /// <summary>Raised once, on the packet that crosses the soft limit (on the data-plane thread: keep it short).</summary>
    public event Action<EspSa>? SoftLifetimeReached;

    /// <summary>Raised once, on the packet that crosses the hard limit.</summary>
    public event Action<EspSa>? HardLifetimeReached;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Outbound: the SA's lock, for a sender to hold across <see cref="TryEncapsulate"/> (which takes the number and
    /// encrypts under it, entering it again) and the send of the packet, or of a batch of packets encapsulated one
    /// after the other: then, whatever thread sends, the numbers leave in the order they were taken, each once (RFC 4303
    /// §3.3.3), and the peer's 64-packet window (§3.4.3) never sees a packet late because another thread overtook it.
    /// Uncontended it costs one more entry; contended, this SA's packets wait for each other while other SAs go on.
    /// Hold it for one packet or one batch only: <see cref="ReserveUpTo"/>, <see cref="ResumeAt"/> and
    /// <see cref="Dispose"/> wait for it.
    /// </summary>
    public Lock SendOrder => _lock;

    /// <summary>Outbound numbers a carrier reserves at a time in the cluster's record (docs/cluster.md, sequence numbers).</summary>
    public const uint OutboundReservation = 65536;

    /// <summary>The inbound window's right edge is reported every this many numbers (<see cref="InboundMark"/>).</summary>
    public const uint InboundMarkInterval = 1024;

    /// <summary>
    /// Outbound: the highest sequence number this node may send (no limit until a carrier sets one). A packet that would
    /// need a higher one is refused with <see cref="EspEncapStatus.SequenceNotReserved"/> and its number is not used.
    /// </summary>
    public uint OutboundLimit => (uint)Math.Min(Volatile.Read(ref _outboundLimit), uint.MaxValue);

    /// <summary>
    /// Outbound: this node may send numbers up to <paramref name="limit"/> (only ever raised). <see cref="ReservationLow"/>
    /// is raised once when the sequence passes the middle of the last <see cref="OutboundReservation"/> numbers below it,
    /// so the next reservation is written long before it is needed.
    /// </summary>
    public void ReserveUpTo(uint limit)
    {
        lock (_lock)
        {
            if (_outboundLimit != long.MaxValue && limit <= _outboundLimit) return;
            Volatile.Write(ref _reservationLow, Math.Max((long)limit - OutboundReservation / 2, Interlocked.Read(ref _sequence) + 1));
            Volatile.Write(ref _outboundLimit, limit);
        }
    }

    /// <summary>Raised on the data-plane thread by the packet that passes the middle of the reservation (keep it short).</summary>
    public event Action<EspSa, uint>? ReservationLow;

    /// <summary>Inbound: raised on the data-plane thread when the window's right edge passes a multiple of <see cref="InboundMarkInterval"/>.</summary>
    public event Action<EspSa, uint>? InboundMark;

    /// <summary>
    /// Before the first packet, on the node that takes the SA over: outbound numbers go on after <paramref name="lastSent"/>
    /// (a dead carrier's reservation, or a live one's exact number: RFC 4303 §3.3.3, never one it may have used), and the
    /// inbound window starts at <paramref name="inboundTop"/> with every number up to it taken as received.
    /// </summary>
    public void ResumeAt(uint lastSent, uint inboundTop)
    {
        lock (_lock)
        {
            Interlocked.Exchange(ref _sequence, lastSent);
            ReplayWindow.StartAt(inboundTop);
            _nextInboundMark = ((long)inboundTop | (InboundMarkInterval - 1)) + 1;
        }
    }

    /// <summary>Test hook: fills the IV instead of the random generator (RFC 3602 §2.1 requires unpredictable IVs).</summary>
    internal IvSource? IvOverride { get; set; }

    internal delegate void IvSource(Span<byte> iv);

    /// <summary>Test hook: pretend <paramref name="last"/> packets were already sent (to reach the end of the sequence space).</summary>
    internal void SetLastSequenceNumber(uint last) => Interlocked.Exchange(ref _sequence, last);

    /// <summary>The largest ESP packet an inner packet of <paramref name="innerLength"/> bytes becomes.</summary>
    public int MaxPacketSize(int innerLength) => innerLength + EspAlgorithms.MaxOverhead(Cipher, Integrity);

    /// <summary>The largest inner packet whose ESP packet (<see cref="PacketSize"/>) is at most <paramref name="espLength"/> bytes.</summary>
    public int MaxInnerLength(int espLength)
    {
        int padded = (espLength - HeaderSize - _ivSize - _icvSize) / _blockSize * _blockSize;
        return Math.Max(0, padded - 2);
    }

    /// <summary>The exact ESP packet length for an inner packet (RFC 4303 §2.4 padding to the block size).</summary>
    public int PacketSize(int innerLength)
    {
        int body = innerLength + 2;
        int padded = (body + _blockSize - 1) / _blockSize * _blockSize;
        return HeaderSize + _ivSize + padded + _icvSize;
    }

    /// <summary>
    /// Builds SPI | Seq | IV | E(payload | padding 1,2,3.. | pad length | next header) | ICV into
    /// <paramref name="destination"/> (RFC 4303 §2, §3.3). Returns the packet length, or 0 when the SA
    /// may not send (see <see cref="TryEncapsulate"/> for the reason).
    /// </summary>
    public int Encapsulate(ReadOnlySpan<byte> innerPacket, Span<byte> destination, byte nextHeader = NextHeaderIPv4) =>
        TryEncapsulate(innerPacket, destination, out int written, nextHeader) == EspEncapStatus.Ok ? written : 0;

    public EspEncapStatus TryEncapsulate(ReadOnlySpan<byte> innerPacket, Span<byte> destination, out int written, byte nextHeader = NextHeaderIPv4) =>
        Encapsulate(innerPacket, destination, out written, nextHeader, seal: true);

    /// <summary>
    /// An SA whose packets a batch may seal together (<see cref="TryEncapsulateUnsealed"/>, <see cref="TrySealBatch"/>): AES-CBC
    /// on the AES instructions, whose chains of several packets run side by side.
    /// </summary>
    internal bool SealsInBatches => _gcm is null && _cipher.UsesAesNi;

    /// <summary>
    /// <see cref="TryEncapsulate"/> but for the encryption and the ICV: the packet is numbered, its IV drawn, padded and
    /// counted, and stays plaintext in <paramref name="destination"/> until <see cref="TrySealBatch"/>. The caller holds
    /// <see cref="SendOrder"/> from here to the seal and sends nothing unsealed: a seal that fails clears the batch.
    /// </summary>
    internal EspEncapStatus TryEncapsulateUnsealed(ReadOnlySpan<byte> innerPacket, Span<byte> destination, out int written)
    {
        if (!SealsInBatches) throw new InvalidOperationException("this SA seals each packet as it is made");
        return Encapsulate(innerPacket, destination, out written, NextHeaderIPv4, seal: false);
    }

    private EspEncapStatus Encapsulate(ReadOnlySpan<byte> innerPacket, Span<byte> destination, out int written, byte nextHeader, bool seal)
    {
        written = 0;
        if (Direction != EspDirection.Outbound || IsDisposed)
        {
            return Fail(ref Counters.EncapsFailedSend, EspEncapStatus.SaUnusable);
        }
        if (LifetimeState == EspLifetimeState.Hard)
        {
            return Fail(ref Counters.EncapsFailedSend, EspEncapStatus.LifetimeExpired);
        }
        int length = PacketSize(innerPacket.Length);
        if (destination.Length < length)
        {
            return Fail(ref Counters.EncapsFailedSend, EspEncapStatus.DestinationTooSmall);
        }
        lock (_lock)
        {
            return EncapsulateLocked(innerPacket, destination, length, out written, nextHeader, seal);
        }
    }

    /// <summary>
    /// Encrypts and authenticates the packets <see cref="TryEncapsulateUnsealed"/> laid one after the other in
    /// <paramref name="packets"/> (their <paramref name="lengths"/>): the CBC chains of up to
    /// <see cref="AesNiCbc.Lanes"/> packets side by side, then each ICV. False when the SA can no longer (disposed): then
    /// the batch is cleared, so no plaintext can leave, and counted as failed sends.
    /// </summary>
    internal bool TrySealBatch(Span<byte> packets, ReadOnlySpan<int> lengths)
    {
        int total = 0;
        foreach (var l in lengths) total += l;
        if (lengths.Length > MaxSealBatch || total > packets.Length) throw new ArgumentException("more packets than the buffer or a batch holds");
        lock (_lock)
        {
            try
            {
                ObjectDisposedException.ThrowIf(IsDisposed, this);
                Span<CbcLane> lanes = stackalloc CbcLane[lengths.Length];
                int at = 0;
                for (int i = 0; i < lengths.Length; i++)
                {
                    lanes[i] = new CbcLane(at + HeaderSize, at + HeaderSize + _ivSize, lengths[i] - HeaderSize - _ivSize - _icvSize);
                    at += lengths[i];
                }
                _cipher.EncryptMany(packets, lanes);
                at = 0;
                foreach (var length in lengths)
                {
                    var packet = packets.Slice(at, length);
                    _integrity.Compute(packet[..(length - _icvSize)], packet[(length - _icvSize)..]);
                    at += length;
                }
                return true;
            }
            catch (Exception e) when (e is ObjectDisposedException or CryptographicException or ArgumentException)
            {
                packets[..total].Clear();
                EspSaCounters.Add(ref Counters.EncapsFailedSend, lengths.Length);
                return false;
            }
        }
    }

    /// <summary>The most packets <see cref="TrySealBatch"/> takes at once.</summary>
    internal const int MaxSealBatch = 256;

    private EspEncapStatus EncapsulateLocked(ReadOnlySpan<byte> innerPacket, Span<byte> destination, int length, out int written, byte nextHeader, bool seal)
    {
        written = 0;
        if (IsDisposed)
        {
            return Fail(ref Counters.EncapsFailedSend, EspEncapStatus.SaUnusable);
        }
        // RFC 4303 §3.3.3: the counter must not cycle; the SA has to be replaced before 2^32 - 1.
        long seq = Interlocked.Increment(ref _sequence);
        if (seq > uint.MaxValue)
        {
            Interlocked.Exchange(ref _sequence, uint.MaxValue);
            return Fail(ref Counters.ReplayRolloverSend, EspEncapStatus.SequenceExhausted);
        }
        if (seq > Volatile.Read(ref _outboundLimit))
        {
            Interlocked.Decrement(ref _sequence); // not used: sent once the reservation is extended, or by the next carrier
            return Fail(ref Counters.EncapsFailedSend, EspEncapStatus.SequenceNotReserved);
        }
        if (seq == Volatile.Read(ref _reservationLow)) ReservationLow?.Invoke(this, (uint)seq);

        Span<byte> packet = destination[..length];
        BinaryPrimitives.WriteUInt32BigEndian(packet, Spi);
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], (uint)seq);
        Span<byte> iv = packet.Slice(HeaderSize, _ivSize);
        if (IvOverride is { } ivSource)
        {
            ivSource(iv);
        }
        else if (_gcm is not null)
        {
            // RFC 4106 §3.1: never the same IV twice under one key; a counter is the suggested way. The sequence number is
            // one that is never reused (RFC 4303 §3.3.3, and a successor carrier starts above any it may have been).
            BinaryPrimitives.WriteUInt64BigEndian(iv, (ulong)seq);
        }
        else
        {
            NextIv(iv);
        }
        Span<byte> body = packet[(HeaderSize + _ivSize)..(length - _icvSize)];
        innerPacket.CopyTo(body);
        int padLength = body.Length - innerPacket.Length - 2;
        Span<byte> padding = body.Slice(innerPacket.Length, padLength);
        for (int i = 0; i < padding.Length; i++)
        {
            padding[i] = (byte)(i + 1); // RFC 4303 §2.4 default padding: 1, 2, 3, ...
        }
        body[^2] = (byte)padLength;
        body[^1] = nextHeader;
        // Unsealed, TrySealBatch encrypts and authenticates it with the rest of its batch.
        if (seal)
        {
            try
            {
                if (_gcm is not null)
                {
                    _gcm.Seal(iv, packet[..HeaderSize], body, packet[(length - _icvSize)..]); // AAD: SPI | sequence number (RFC 4106 §5)
                }
                else
                {
                    _cipher.Encrypt(body, iv, body);
                    _integrity.Compute(packet[..(length - _icvSize)], packet[(length - _icvSize)..]);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or CryptographicException)
            {
                destination[..length].Clear();
                return Fail(ref Counters.EncapsFailedSend, EspEncapStatus.SaUnusable);
            }
        }

        EspSaCounters.Add(ref Counters.Encaps);
        if (Cipher != EspCipher.Null) EspSaCounters.Add(ref Counters.Encrypt);
        if (Integrity != EspIntegrity.None || _gcm is not null) EspSaCounters.Add(ref Counters.Digest);
        EspSaCounters.Add(ref Counters.BytesOut, innerPacket.Length);
        CheckLifetime();
        written = length;
        return EspEncapStatus.Ok;
    }

    /// <summary>
    /// Verifies and decrypts an ESP packet (from the SPI on) in place (RFC 4303 §3.4): length, SPI,
    /// replay check, ICV (constant-time), then decryption, padding and next header; only a packet that
    /// passes everything moves the replay window. <paramref name="inner"/> is the inner IP packet's range
    /// in <paramref name="esp"/>. Never throws on any input; on failure the SA's state is unchanged except
    /// the receive-error counters.
    /// </summary>
    public EspDecapStatus TryDecapsulate(Span<byte> esp, out Range inner, out byte nextHeader)
    {
        inner = default;
        nextHeader = 0;
        if (Direction != EspDirection.Inbound || IsDisposed || LifetimeState == EspLifetimeState.Hard)
        {
            return Drop(ref Counters.InvalidSpi, EspDecapStatus.SaUnusable);
        }
        if (esp.Length < HeaderSize + _ivSize + _blockSize + _icvSize)
        {
            return Drop(ref Counters.InvalidLength, EspDecapStatus.TooShort);
        }
        int bodyLength = esp.Length - HeaderSize - _ivSize - _icvSize;
        if (bodyLength % _blockSize != 0)
        {
            return Drop(ref Counters.InvalidLength, EspDecapStatus.BadLength);
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(esp) != Spi)
        {
            return Drop(ref Counters.InvalidSpi, EspDecapStatus.SpiMismatch);
        }
        lock (_lock)
        {
            return DecapsulateLocked(esp, bodyLength, out inner, out nextHeader);
        }
    }

    private EspDecapStatus DecapsulateLocked(Span<byte> esp, int bodyLength, out Range inner, out byte nextHeader)
    {
        inner = default;
        nextHeader = 0;
        if (IsDisposed)
        {
            return Drop(ref Counters.InvalidSpi, EspDecapStatus.SaUnusable);
        }
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(esp[4..]);
        // RFC 4303 §3.4.3: a cheap replay check first, so replayed floods cost no HMAC.
        if (ReplayWindow.Check(seq) != ReplayCheck.Ok)
        {
            return Drop(ref Counters.ReplayFailed, EspDecapStatus.Replay);
        }
        int icvOffset = esp.Length - _icvSize;
        try
        {
            Span<byte> body = esp.Slice(HeaderSize + _ivSize, bodyLength);
            if (_gcm is not null)
            {
                if (!_gcm.Open(esp.Slice(HeaderSize, _ivSize), esp[..HeaderSize], body, esp[icvOffset..]))
                {
                    return Drop(ref Counters.VerifyFailed, EspDecapStatus.IcvFailure);
                }
            }
            else
            {
                if (!_integrity.Verify(esp[..icvOffset], esp[icvOffset..]))
                {
                    return Drop(ref Counters.VerifyFailed, EspDecapStatus.IcvFailure);
                }
                _cipher.Decrypt(body, esp.Slice(HeaderSize, _ivSize), body);
            }
            int padLength = body[^2];
            nextHeader = body[^1];
            int payloadLength = bodyLength - 2 - padLength;
            if (payloadLength < 0)
            {
                return Drop(ref Counters.InvalidLength, EspDecapStatus.BadLength);
            }
            Span<byte> padding = body.Slice(payloadLength, padLength);
            for (int i = 0; i < padding.Length; i++)
            {
                if (padding[i] != (byte)(i + 1))
                {
                    return Drop(ref Counters.InvalidPad, EspDecapStatus.BadPadding);
                }
            }
            if (nextHeader != NextHeaderIPv4 && nextHeader != NextHeaderIPv6 && nextHeader != NextHeaderNone)
            {
                return Drop(ref Counters.InvalidProtocol, EspDecapStatus.BadNextHeader);
            }
            // RFC 4303 §3.4.3: the window moves only for an authentic packet.
            ReplayWindow.Update(seq);
            if (seq >= _nextInboundMark)
            {
                _nextInboundMark = ((long)seq | (InboundMarkInterval - 1)) + 1;
                InboundMark?.Invoke(this, seq);
            }
            EspSaCounters.Add(ref Counters.Decaps);
            if (Cipher != EspCipher.Null) EspSaCounters.Add(ref Counters.Decrypt);
            if (Integrity != EspIntegrity.None || _gcm is not null) EspSaCounters.Add(ref Counters.Verify);
            if (nextHeader == NextHeaderNone)
            {
                return EspDecapStatus.DummyPacket; // RFC 4303 §2.6: discard silently
            }
            int start = HeaderSize + _ivSize;
            inner = new Range(start, start + payloadLength);
            EspSaCounters.Add(ref Counters.BytesIn, payloadLength);
            CheckLifetime();
            return EspDecapStatus.Ok;
        }
        catch (Exception e) when (e is ObjectDisposedException or CryptographicException)
        {
            return Drop(ref Counters.InvalidSpi, EspDecapStatus.SaUnusable);
        }
    }

    /// <summary>
    /// Random IVs (RFC 3602 §2.1, RFC 2451 §2.3: unpredictable), drawn from the system generator 4 KB at a time:
    /// one call per packet costs more than the AES itself.
    /// </summary>
    private void NextIv(Span<byte> iv)
    {
        _ivPool ??= GC.AllocateUninitializedArray<byte>(IvPoolSize, pinned: true);
        if (_ivPool.Length - _ivUsed < iv.Length)
        {
            RandomNumberGenerator.Fill(_ivPool);
            _ivUsed = 0;
        }
        var fresh = _ivPool.AsSpan(_ivUsed, iv.Length);
        fresh.CopyTo(iv);
        fresh.Clear(); // an IV is used once
        _ivUsed += iv.Length;
    }

    private EspEncapStatus Fail(ref long reason, EspEncapStatus status)
    {
        EspSaCounters.Add(ref reason);
        EspSaCounters.Add(ref Counters.SendErrors);
        return status;
    }

    private EspDecapStatus Drop(ref long reason, EspDecapStatus status)
    {
        EspSaCounters.Add(ref reason);
        EspSaCounters.Add(ref Counters.RecvErrors);
        return status;
    }

    private void CheckLifetime()
    {
        if (Lifetime.SoftKilobytes <= 0 && Lifetime.HardKilobytes <= 0)
        {
            return;
        }
        long used = KilobytesUsed;
        var state = LifetimeState;
        if (state != EspLifetimeState.Hard && Lifetime.HardKilobytes > 0 && used >= Lifetime.HardKilobytes)
        {
            if (state == EspLifetimeState.Ok && Lifetime.SoftKilobytes > 0) SoftLifetimeReached?.Invoke(this);
            Interlocked.Exchange(ref _lifetimeState, (long)EspLifetimeState.Hard);
            HardLifetimeReached?.Invoke(this);
        }
        else if (state == EspLifetimeState.Ok && Lifetime.SoftKilobytes > 0 && used >= Lifetime.SoftKilobytes)
        {
            Interlocked.Exchange(ref _lifetimeState, (long)EspLifetimeState.Soft);
            SoftLifetimeReached?.Invoke(this);
        }
    }

    /// <summary>Zeroes the keys (disposes the transforms holding them); later packets fail with SaUnusable.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _cipher.Dispose();
                _integrity.Dispose();
                _gcm?.Dispose();
            }
        }
    }

    public override string ToString() => $"ESP SA 0x{Spi:X8} {Direction} {Cipher}/{Integrity}";
}
