using System.Numerics;
using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>
/// A MODP group with generator 2 (RFC 2409 §6.1/§6.2, RFC 3526 §2-§5). Exponentiation goes
/// through OpenSSL's constant-time Montgomery exponentiation (see <see cref="OpenSslBn"/> for why).
/// </summary>
public sealed class ModpGroup : DhGroup
{
    private readonly byte[] _prime;
    private readonly byte[] _primeMinusOne;
    private readonly int _shortExponentBits;
    private readonly Lazy<NativeModulus> _native;

    internal ModpGroup(DhGroupId id, string primeHex, int shortExponentBits, DhExponentPolicy policy)
        : base(id, primeHex.Length / 2, primeHex.Length / 2)
    {
        _prime = Convert.FromHexString(primeHex);
        _primeMinusOne = (byte[])_prime.Clone();
        _primeMinusOne[^1] -= 1; // p is odd, so no borrow
        _shortExponentBits = shortExponentBits;
        ExponentPolicy = policy;
        _native = new Lazy<NativeModulus>(() => new NativeModulus(_prime), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public DhExponentPolicy ExponentPolicy { get; }

    /// <summary>Private exponent length in bits for this group and policy.</summary>
    public int ExponentBits => ExponentPolicy == DhExponentPolicy.FullLength ? _prime.Length * 8 - 1 : _shortExponentBits;

    /// <summary>The prime, big-endian.</summary>
    public ReadOnlySpan<byte> Prime => _prime;

    /// <summary>True when the constant-time OpenSSL path is in use (false: BigInteger fallback).</summary>
    public static bool UsesOpenSsl => OpenSslBn.IsAvailable;

    public override DhKeyPair GenerateKeyPair()
    {
        var x = new SecretBuffer((ExponentBits + 7) / 8);
        do
        {
            RandomNumberGenerator.Fill(x.Span);
            int excess = x.Length * 8 - ExponentBits;
            x.Span[0] &= (byte)(0xFF >> excess); // x < 2^ExponentBits <= 2^(n-1) < p-1
        }
        while (IsZeroOrOne(x.ReadOnlySpan));
        return new ModpKeyPair(this, x);
    }

    /// <summary>A key pair from a known private exponent (tests and known-answer checks only).</summary>
    internal DhKeyPair CreateKeyPair(ReadOnlySpan<byte> privateExponent) => new ModpKeyPair(this, new SecretBuffer(privateExponent));

    /// <summary>
    /// RFC 2409 §5: the KE public value is padded to the prime length, so exactly that many bytes.
    /// Range check 1 &lt; y &lt; p-1 (rejects 0, 1, p-1 and anything &gt;= p; 1 and p-1 are the
    /// elements of order 1 and 2, which would force a known shared secret).
    /// </summary>
    public override DhStatus ValidatePublicValue(ReadOnlySpan<byte> peerPublicValue)
    {
        if (peerPublicValue.Length != _prime.Length)
        {
            return DhStatus.InvalidLength;
        }
        if (IsZeroOrOne(peerPublicValue) || peerPublicValue.SequenceCompareTo(_primeMinusOne) >= 0)
        {
            return DhStatus.InvalidPublicValue;
        }
        return DhStatus.Ok;
    }

    private static bool IsZeroOrOne(ReadOnlySpan<byte> bigEndian) =>
        bigEndian[..^1].IndexOfAnyExcept((byte)0) < 0 && bigEndian[^1] <= 1;

    /// <summary>result = base^exponent mod p, written big-endian with leading zeros to the prime length.</summary>
    internal void ModExp(ReadOnlySpan<byte> baseValue, ReadOnlySpan<byte> exponent, Span<byte> result)
    {
        if (result.Length < _prime.Length)
        {
            throw new ArgumentException("destination shorter than the prime", nameof(result));
        }
        if (OpenSslBn.IsAvailable)
        {
            _native.Value.ModExp(baseValue, exponent, result[.._prime.Length]);
        }
        else
        {
            ModExpManaged(baseValue, exponent, result[.._prime.Length]);
        }
    }

    /// <summary>Fallback where libcrypto is missing: correct but slower and not constant-time.</summary>
    internal void ModExpManaged(ReadOnlySpan<byte> baseValue, ReadOnlySpan<byte> exponent, Span<byte> result)
    {
        var p = new BigInteger(_prime, isUnsigned: true, isBigEndian: true);
        var b = new BigInteger(baseValue, isUnsigned: true, isBigEndian: true);
        var e = new BigInteger(exponent, isUnsigned: true, isBigEndian: true);
        BigInteger r = BigInteger.ModPow(b, e, p);
        result.Clear();
        int len = r.GetByteCount(isUnsigned: true);
        r.TryWriteBytes(result[(result.Length - len)..], out _, isUnsigned: true, isBigEndian: true);
    }

    private sealed class ModpKeyPair : DhKeyPair
    {
        private static ReadOnlySpan<byte> Generator => [2];

        private readonly ModpGroup _group;
        private SecretBuffer? _x;
        private readonly byte[] _publicValue;

        public ModpKeyPair(ModpGroup group, SecretBuffer x) : base(group)
        {
            _group = group;
            _x = x;
            _publicValue = new byte[group.PublicValueLength];
            group.ModExp(Generator, x.ReadOnlySpan, _publicValue); // g^x mod p (RFC 2409 §5)
        }

        public override ReadOnlySpan<byte> PublicValue => _publicValue;

        public override DhStatus ComputeSharedSecret(ReadOnlySpan<byte> peerPublicValue, Span<byte> destination)
        {
            DhStatus status = _group.ValidatePublicValue(peerPublicValue);
            if (status != DhStatus.Ok)
            {
                return status;
            }
            SecretBuffer x = _x ?? throw new ObjectDisposedException(nameof(DhKeyPair));
            if (destination.Length < _group.SharedSecretLength)
            {
                throw new ArgumentException("destination shorter than the shared secret", nameof(destination));
            }
            // g^xy = (g^y)^x mod p, kept at the full prime length with leading zeros, as strongSwan does.
            _group.ModExp(peerPublicValue, x.ReadOnlySpan, destination);
            return DhStatus.Ok;
        }

        public override void Dispose()
        {
            Interlocked.Exchange(ref _x, null)?.Dispose();
        }
    }

    /// <summary>The prime and its Montgomery context in libcrypto; created once per group, kept for the process lifetime.</summary>
    private sealed unsafe class NativeModulus
    {
        private readonly IntPtr _p;
        private readonly IntPtr _mont;
        private readonly int _length;

        public NativeModulus(byte[] prime)
        {
            _length = prime.Length;
            fixed (byte* pp = prime)
            {
                _p = OpenSslBn.BN_bin2bn(pp, prime.Length, IntPtr.Zero);
            }
            IntPtr ctx = OpenSslBn.BN_CTX_new();
            try
            {
                _mont = OpenSslBn.BN_MONT_CTX_new();
                if (_p == IntPtr.Zero || ctx == IntPtr.Zero || _mont == IntPtr.Zero || OpenSslBn.BN_MONT_CTX_set(_mont, _p, ctx) != 1)
                {
                    throw new CryptographicException("libcrypto: cannot set up the Montgomery context");
                }
            }
            finally
            {
                OpenSslBn.BN_CTX_free(ctx);
            }
        }

        public void ModExp(ReadOnlySpan<byte> baseValue, ReadOnlySpan<byte> exponent, Span<byte> result)
        {
            IntPtr ctx = IntPtr.Zero, a = IntPtr.Zero, e = IntPtr.Zero, r = IntPtr.Zero;
            try
            {
                ctx = OpenSslBn.BN_CTX_new();
                fixed (byte* pb = baseValue)
                fixed (byte* pe = exponent)
                {
                    a = OpenSslBn.BN_bin2bn(pb, baseValue.Length, IntPtr.Zero);
                    e = OpenSslBn.BN_bin2bn(pe, exponent.Length, IntPtr.Zero);
                }
                r = OpenSslBn.BN_new();
                if (ctx == IntPtr.Zero || a == IntPtr.Zero || e == IntPtr.Zero || r == IntPtr.Zero)
                {
                    throw new CryptographicException("libcrypto: out of memory");
                }
                OpenSslBn.BN_set_flags(e, OpenSslBn.BnFlgConstTime);
                // Fixed-window exponentiation with no secret-dependent branches or memory access.
                if (OpenSslBn.BN_mod_exp_mont_consttime(r, a, e, _p, ctx, _mont) != 1)
                {
                    throw new CryptographicException("libcrypto: BN_mod_exp_mont_consttime failed");
                }
                fixed (byte* pr = result)
                {
                    if (OpenSslBn.BN_bn2binpad(r, pr, _length) != _length)
                    {
                        throw new CryptographicException("libcrypto: BN_bn2binpad failed");
                    }
                }
            }
            finally
            {
                // Clear every temporary: e is the private exponent, r may be g^xy.
                if (r != IntPtr.Zero) OpenSslBn.BN_clear_free(r);
                if (e != IntPtr.Zero) OpenSslBn.BN_clear_free(e);
                if (a != IntPtr.Zero) OpenSslBn.BN_clear_free(a);
                if (ctx != IntPtr.Zero) OpenSslBn.BN_CTX_free(ctx);
            }
        }
    }
}
