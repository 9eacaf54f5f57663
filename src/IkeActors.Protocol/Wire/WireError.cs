namespace IkeActors.Protocol;

/// <summary>Why wire bytes were rejected.</summary>
public enum WireErrorReason
{
    None = 0,
    /// <summary>The data ends before the field does.</summary>
    Truncated,
    /// <summary>A length field is smaller than the fixed part of what it measures.</summary>
    LengthTooShort,
    /// <summary>A length field points past the end of the data.</summary>
    LengthBeyondData,
    /// <summary>A RESERVED field is not zero (RFC 2408 §3).</summary>
    ReservedNotZero,
    /// <summary>A count field disagrees with the elements present.</summary>
    CountMismatch,
    /// <summary>A variable field is shorter or longer than the RFC allows.</summary>
    SizeOutOfRange,
    /// <summary>A Next Payload value breaks the chain rules (RFC 2408 §3.2, §3.5, §3.6).</summary>
    BadNextPayload,
    /// <summary>A data attribute is cut short (RFC 2408 §3.3).</summary>
    AttributeTruncated,
    /// <summary>A data attribute has the wrong form (TV where TLV is required or the reverse).</summary>
    AttributeForm,
    /// <summary>Bytes are left over after the last field or payload.</summary>
    TrailingBytes,
    /// <summary>The ISAKMP major version is not 1 (RFC 2408 §5.1, INVALID-MAJOR-VERSION).</summary>
    UnsupportedVersion,
}

/// <summary>
/// Where and why decoding failed: an offset into the decoded bytes, the field (a
/// constant string such as "SaPayload.Situation") and the reason. Wire input never throws;
/// decoders return this instead.
/// </summary>
public readonly record struct WireError(int Offset, string Field, WireErrorReason Reason)
{
    /// <summary>The same error seen from a buffer that starts <paramref name="by"/> bytes earlier.</summary>
    public WireError Shift(int by) => this with { Offset = Offset + by };

    public override string ToString() => $"{Reason} at offset {Offset} ({Field})";
}
