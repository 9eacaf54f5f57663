using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>
/// The authenticating hashes of IKEv1 with pre-shared keys and the phase-2 key material.
/// Every method writes prf output (hash length bytes) to a caller buffer and allocates nothing.
/// "_b" inputs are payload bodies (without the 4-byte generic payload header), as in RFC 2409 §5.
/// Verify received values with <see cref="IkePrf.FixedTimeEquals"/>.
/// </summary>
public static class IkeHashes
{
    /// <summary>RFC 2409 §5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b).</summary>
    public static int HashI(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> gxi, ReadOnlySpan<byte> gxr,
        ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR, ReadOnlySpan<byte> saiBody, ReadOnlySpan<byte> idiiBody, Span<byte> destination) =>
        IkePrf.Prf(hash, skeyid, destination, gxi, gxr, ckyI, ckyR, saiBody, idiiBody);

    /// <summary>RFC 2409 §5: HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b).</summary>
    public static int HashR(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> gxi, ReadOnlySpan<byte> gxr,
        ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR, ReadOnlySpan<byte> saiBody, ReadOnlySpan<byte> idirBody, Span<byte> destination) =>
        IkePrf.Prf(hash, skeyid, destination, gxr, gxi, ckyR, ckyI, saiBody, idirBody);

    /// <summary>
    /// RFC 3947 §3.2: NAT-D = HASH(CKY-I | CKY-R | IP | Port), the negotiated hash (not the prf),
    /// IP as 4 or 16 octets in network order, port as 2 octets in network order.
    /// </summary>
    public static int NatD(IkeHashAlgorithm hash, ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR,
        ReadOnlySpan<byte> address, ushort port, Span<byte> destination)
    {
        Span<byte> portBytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(portBytes, port);
        return IkePrf.Hash(hash, destination, ckyI, ckyR, address, portBytes);
    }

    /// <summary>RFC 3947 §3.2 NAT-D for an <see cref="IPEndPoint"/>.</summary>
    public static int NatD(IkeHashAlgorithm hash, ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR, IPEndPoint endPoint, Span<byte> destination)
    {
        Span<byte> address = stackalloc byte[16];
        if (!endPoint.Address.TryWriteBytes(address, out int n) || endPoint.Address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("not an IPv4/IPv6 address", nameof(endPoint));
        }
        return NatD(hash, ckyI, ckyR, address[..n], (ushort)endPoint.Port, destination);
    }

    /// <summary>
    /// RFC 2409 §5.5: HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [ | KE ] [ | IDci | IDcr ]).
    /// <paramref name="payloadsAfterHash"/> is the message from the payload after HASH(1) to the end of
    /// the last payload (with generic headers, without the encryption padding).
    /// </summary>
    public static int QuickModeHash1(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyidA, uint messageId,
        ReadOnlySpan<byte> payloadsAfterHash, Span<byte> destination)
    {
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        return IkePrf.Prf(hash, skeyidA, destination, mid, payloadsAfterHash);
    }

    /// <summary>RFC 2409 §5.5: HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [ | KE ] [ | IDci | IDcr ]).</summary>
    public static int QuickModeHash2(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyidA, uint messageId,
        ReadOnlySpan<byte> niBody, ReadOnlySpan<byte> payloadsAfterHash, Span<byte> destination)
    {
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        return IkePrf.Prf(hash, skeyidA, destination, mid, niBody, payloadsAfterHash);
    }

    /// <summary>RFC 2409 §5.5: HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).</summary>
    public static int QuickModeHash3(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyidA, uint messageId,
        ReadOnlySpan<byte> niBody, ReadOnlySpan<byte> nrBody, Span<byte> destination)
    {
        Span<byte> zeroMid = stackalloc byte[5];
        zeroMid[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(zeroMid[1..], messageId);
        return IkePrf.Prf(hash, skeyidA, destination, zeroMid, niBody, nrBody);
    }

    /// <summary>
    /// RFC 2409 §5.7: Informational HASH(1) = prf(SKEYID_a, M-ID | N/D), where N/D is the
    /// Notification or Delete payload (with its generic header) that follows the HASH payload.
    /// </summary>
    public static int InformationalHash(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyidA, uint messageId,
        ReadOnlySpan<byte> payloadsAfterHash, Span<byte> destination) =>
        QuickModeHash1(hash, skeyidA, messageId, payloadsAfterHash, destination);

    /// <summary>
    /// RFC 2409 §5.5: KEYMAT for one SA (one direction: the SPI is the receiver's).
    /// Without PFS: KEYMAT = prf(SKEYID_d, protocol | SPI | Ni_b | Nr_b);
    /// with PFS:    KEYMAT = prf(SKEYID_d, g(qm)^xy | protocol | SPI | Ni_b | Nr_b).
    /// Expanded to <paramref name="destination"/>.Length as K1 | K2 | ... with
    /// Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
    /// Pass an empty <paramref name="pfsSharedSecret"/> without PFS. The caller splits the
    /// result: encryption key first, then the integrity key (the order strongSwan and the ASA use).
    /// </summary>
    public static void Keymat(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyidD, ReadOnlySpan<byte> pfsSharedSecret,
        byte protocol, ReadOnlySpan<byte> spi, ReadOnlySpan<byte> niBody, ReadOnlySpan<byte> nrBody, Span<byte> destination)
    {
        int hl = IkeAlgorithms.HashLength(hash);
        if (hl == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(hash), hash, "unsupported IKE hash algorithm");
        }
        Span<byte> proto = [protocol];
        Span<byte> block = stackalloc byte[64];
        Span<byte> previous = stackalloc byte[64];
        block = block[..hl];
        try
        {
            IkePrf.Prf(hash, skeyidD, block, pfsSharedSecret, proto, spi, niBody, nrBody);
            int written = 0;
            while (true)
            {
                int n = Math.Min(hl, destination.Length - written);
                block[..n].CopyTo(destination[written..]);
                written += n;
                if (written >= destination.Length)
                {
                    break;
                }
                block.CopyTo(previous);
                IkePrf.Prf(hash, skeyidD, block, previous[..hl], pfsSharedSecret, proto, spi, niBody, nrBody);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(block);
            CryptographicOperations.ZeroMemory(previous);
        }
    }
}
