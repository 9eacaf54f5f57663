namespace IkeActors.Esp;

/// <summary>Why the anti-replay check refused a sequence number.</summary>
public enum ReplayCheck
{
    Ok,
    /// <summary>Already received (its bit is set).</summary>
    Duplicate,
    /// <summary>Left of the window (top - seq >= 64), or 0 which is never sent (RFC 4303 §3.3.3).</summary>
    TooOld,
}

/// <summary>
/// The 64-packet receive window of RFC 4303 §3.4.3: <see cref="Top"/> is the highest sequence number
/// accepted; bit i of <see cref="Bitmap"/> says whether Top - i was received. Checked before the ICV,
/// updated only after it verifies. One writer at a time (the inbound SA's lock, whatever thread receives); readers see whole values.
/// </summary>
public sealed class ReplayWindow
{
    public const int Size = 64;

    private ulong _top;
    private ulong _bitmap;

    /// <summary>The right edge of the window: the highest authenticated sequence number so far (0 = none yet).</summary>
    public uint Top => (uint)Volatile.Read(ref _top);

    /// <summary>Bit 0 is <see cref="Top"/>, bit 63 is Top - 63.</summary>
    public ulong Bitmap => Volatile.Read(ref _bitmap);

    /// <summary>The two 32-bit words the ASA prints under "Anti replay bitmap:" (high word first).</summary>
    public (uint High, uint Low) BitmapWords
    {
        get
        {
            ulong b = Bitmap;
            return ((uint)(b >> 32), (uint)b);
        }
    }

    public ReplayCheck Check(uint seq)
    {
        if (seq == 0)
        {
            return ReplayCheck.TooOld;
        }
        ulong top = _top;
        if (seq > top)
        {
            return ReplayCheck.Ok;
        }
        ulong diff = top - seq;
        if (diff >= Size)
        {
            return ReplayCheck.TooOld;
        }
        return (_bitmap & (1UL << (int)diff)) != 0 ? ReplayCheck.Duplicate : ReplayCheck.Ok;
    }

    /// <summary>Benchmark hook: forget everything (a real SA never does; it is replaced instead).</summary>
    internal void Reset()
    {
        Volatile.Write(ref _bitmap, 0UL);
        Volatile.Write(ref _top, 0UL);
    }

    /// <summary>
    /// A window taken over from another node (docs/cluster.md): its right edge at <paramref name="top"/>, every number
    /// up to it taken as received, so only numbers above it are accepted.
    /// </summary>
    public void StartAt(uint top)
    {
        Volatile.Write(ref _bitmap, top == 0 ? 0UL : ulong.MaxValue);
        Volatile.Write(ref _top, top);
    }

    /// <summary>Marks <paramref name="seq"/> received; call only after <see cref="Check"/> said Ok and the ICV verified.</summary>
    public void Update(uint seq)
    {
        ulong top = _top;
        if (seq > top)
        {
            ulong shift = seq - top;
            ulong bitmap = shift >= Size ? 1UL : (_bitmap << (int)shift) | 1UL;
            Volatile.Write(ref _bitmap, bitmap);
            Volatile.Write(ref _top, seq);
        }
        else
        {
            ulong diff = top - seq;
            if (diff < Size)
            {
                Volatile.Write(ref _bitmap, _bitmap | (1UL << (int)diff));
            }
        }
    }
}
