using System.Reflection;
using System.Runtime.InteropServices;

namespace IkeActors.Crypto;

/// <summary>
/// P/Invoke into OpenSSL's libcrypto BIGNUM API for the MODP exponentiation.
///
/// Why OpenSSL and not BigInteger.ModPow or our own Montgomery code, by measurement
/// (tests/IkeActors.Benchmarks CryptoDhBenchmarks, BenchmarkDotNet 0.15.8, .NET 10, this 2-core
/// shared machine under load, same full-length exponent on both sides, two runs):
///   group 2:  BigInteger.ModPow 6.6-6.9 ms, BN_mod_exp_mont_consttime 0.49-0.59 ms  (11-14x)
///   group 14: BigInteger.ModPow 26-36 ms,   BN_mod_exp_mont_consttime 2.4-3.3 ms    (about 11x)
/// OpenSSL's function is also constant-time (fixed window, no secret-dependent branches or
/// table lookups), which BigInteger.ModPow is not, and it allocates nothing managed.
/// libcrypto.so.3 is already loaded by System.Security.Cryptography on Linux, so this adds no
/// dependency there, and it is a well-kept, widely reviewed library; a managed Montgomery
/// implementation would be new, unreviewed code and would still be slower than OpenSSL's assembly.
/// Where libcrypto cannot be loaded (e.g. Windows) <see cref="IsAvailable"/> is false and
/// <see cref="ModpGroup"/> falls back to BigInteger.ModPow (correct, slower, not constant-time).
/// </summary>
internal static partial class OpenSslBn
{
    private const string Lib = "ikeactors-libcrypto";

    private static readonly string[] Candidates = ["libcrypto.so.3", "libcrypto.so", "libcrypto.3.dylib", "libcrypto-3-x64.dll"];

    static OpenSslBn()
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(OpenSslBn).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set for this assembly (static constructor raced); fine.
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib)
        {
            return IntPtr.Zero;
        }
        foreach (string candidate in Candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, path, out IntPtr handle))
            {
                return handle;
            }
        }
        return IntPtr.Zero;
    }

    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            IntPtr ctx = BN_CTX_new();
            if (ctx == IntPtr.Zero)
            {
                return false;
            }
            BN_CTX_free(ctx);
            return true;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    });

    public static bool IsAvailable => Available.Value;

    [LibraryImport(Lib)] internal static partial IntPtr BN_CTX_new();
    [LibraryImport(Lib)] internal static partial void BN_CTX_free(IntPtr ctx);
    [LibraryImport(Lib)] internal static partial IntPtr BN_new();
    [LibraryImport(Lib)] internal static unsafe partial IntPtr BN_bin2bn(byte* s, int len, IntPtr ret);
    [LibraryImport(Lib)] internal static unsafe partial int BN_bn2binpad(IntPtr a, byte* to, int tolen);
    [LibraryImport(Lib)] internal static partial void BN_clear_free(IntPtr a);
    [LibraryImport(Lib)] internal static partial void BN_free(IntPtr a);
    [LibraryImport(Lib)] internal static partial void BN_set_flags(IntPtr b, int n);
    [LibraryImport(Lib)] internal static partial IntPtr BN_MONT_CTX_new();
    [LibraryImport(Lib)] internal static partial int BN_MONT_CTX_set(IntPtr mont, IntPtr mod, IntPtr ctx);
    [LibraryImport(Lib)] internal static partial int BN_mod_exp_mont_consttime(IntPtr rr, IntPtr a, IntPtr p, IntPtr m, IntPtr ctx, IntPtr mont);

    // Only used by tests, as an independent source of the RFC 2409 / RFC 3526 primes.
    [LibraryImport(Lib)] internal static partial IntPtr BN_get_rfc2409_prime_768(IntPtr bn);
    [LibraryImport(Lib)] internal static partial IntPtr BN_get_rfc2409_prime_1024(IntPtr bn);
    [LibraryImport(Lib)] internal static partial IntPtr BN_get_rfc3526_prime_1536(IntPtr bn);
    [LibraryImport(Lib)] internal static partial IntPtr BN_get_rfc3526_prime_2048(IntPtr bn);
    [LibraryImport(Lib)] internal static partial IntPtr BN_get_rfc3526_prime_3072(IntPtr bn);
    [LibraryImport(Lib)] internal static partial IntPtr BN_get_rfc3526_prime_4096(IntPtr bn);
    [LibraryImport(Lib)] internal static partial int BN_num_bits(IntPtr a);

    /// <summary>BN_FLG_CONSTTIME: marks a BIGNUM holding a secret.</summary>
    internal const int BnFlgConstTime = 0x04;
}
