using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// The low-level digest functions of the system's libcrypto (the library .NET itself uses on Linux): MD5_*, SHA1_*,
/// SHA256_*, SHA384_* and SHA512_* work on a plain C struct and run the CPU's SHA instructions with no provider dispatch,
/// which is what lets <see cref="EspHmac"/> keep its RFC 2104 inner and outer states per SA and continue copies of them
/// per packet. Probed once per process: the library, each symbol, and a self-test per digest (the native functions must
/// stay inside the struct we give them and agree with .NET's HMAC); anything missing or wrong leaves that digest
/// unavailable and the caller on <see cref="IncrementalHash"/>.
/// </summary>
internal static unsafe class Libcrypto
{
    /// <summary>One digest's functions (openssl/sha.h, openssl/md5.h): xxx_Init(ctx), xxx_Update(ctx, data, len), xxx_Final(md, ctx).</summary>
    internal readonly struct Digest
    {
        public readonly delegate* unmanaged<void*, int> Init;
        public readonly delegate* unmanaged<void*, byte*, nuint, int> Update;
        public readonly delegate* unmanaged<byte*, void*, int> Final;

        public Digest(nint init, nint update, nint final)
        {
            Init = (delegate* unmanaged<void*, int>)init;
            Update = (delegate* unmanaged<void*, byte*, nuint, int>)update;
            Final = (delegate* unmanaged<byte*, void*, int>)final;
        }

        public bool IsAvailable => Init != null;
    }

    // openssl/md5.h: typedef struct MD5state_st { MD5_LONG A, B, C, D; MD5_LONG Nl, Nh; MD5_LONG data[MD5_LBLOCK]; unsigned int num; } MD5_CTX;
    // MD5_LONG is unsigned int, MD5_LBLOCK 16: 92 bytes.
    [StructLayout(LayoutKind.Sequential)]
    internal struct Md5Ctx
    {
        public fixed uint State[4];
        public uint Nl, Nh;
        public fixed uint Data[16];
        public uint Num;
    }

    // openssl/sha.h: typedef struct SHAstate_st { SHA_LONG h0, h1, h2, h3, h4; SHA_LONG Nl, Nh; SHA_LONG data[SHA_LBLOCK]; unsigned int num; } SHA_CTX;
    // SHA_LONG is unsigned int, SHA_LBLOCK 16: 96 bytes.
    [StructLayout(LayoutKind.Sequential)]
    internal struct Sha1Ctx
    {
        public fixed uint State[5];
        public uint Nl, Nh;
        public fixed uint Data[16];
        public uint Num;
    }

    // openssl/sha.h: typedef struct SHA256state_st { SHA_LONG h[8]; SHA_LONG Nl, Nh; SHA_LONG data[SHA_LBLOCK]; unsigned int num, md_len; } SHA256_CTX;
    // 112 bytes.
    [StructLayout(LayoutKind.Sequential)]
    internal struct Sha256Ctx
    {
        public fixed uint State[8];
        public uint Nl, Nh;
        public fixed uint Data[16];
        public uint Num, MdLen;
    }

    // openssl/sha.h: typedef struct SHA512state_st { SHA_LONG64 h[8]; SHA_LONG64 Nl, Nh; union { SHA_LONG64 d[SHA_LBLOCK];
    // unsigned char p[SHA512_CBLOCK]; } u; unsigned int num, md_len; } SHA512_CTX; SHA_LONG64 is 64 bits, SHA512_CBLOCK 128:
    // 216 bytes. SHA-384 uses the same struct.
    [StructLayout(LayoutKind.Sequential)]
    internal struct Sha512Ctx
    {
        public fixed ulong State[8];
        public ulong Nl, Nh;
        public fixed ulong Data[16];
        public uint Num, MdLen;
    }

    private static readonly nint Library = Load();

    public static readonly Digest Md5 = Probe<Md5Ctx>("MD5", HashAlgorithmName.MD5);
    public static readonly Digest Sha1 = Probe<Sha1Ctx>("SHA1", HashAlgorithmName.SHA1);
    public static readonly Digest Sha256 = Probe<Sha256Ctx>("SHA256", HashAlgorithmName.SHA256);
    public static readonly Digest Sha384 = Probe<Sha512Ctx>("SHA384", HashAlgorithmName.SHA384);
    public static readonly Digest Sha512 = Probe<Sha512Ctx>("SHA512", HashAlgorithmName.SHA512);

    /// <summary>The library was found (not that every digest passed its probe).</summary>
    public static bool IsLoaded => Library != 0;

    /// <summary>The loaded library's handle (0: none), for the other libcrypto paths (<see cref="EvpGcm"/>).</summary>
    internal static nint Handle => Library;

    private static nint Load()
    {
        // .NET's own OpenSSL shim is Linux-only; elsewhere .NET uses the platform's crypto and so do we (the fallback).
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }
        foreach (var name in (ReadOnlySpan<string>)["libcrypto.so.3", "libcrypto.so.1.1"])
        {
            if (NativeLibrary.TryLoad(name, out nint handle))
            {
                return handle;
            }
        }
        return 0;
    }

    private static Digest Probe<TCtx>(string prefix, HashAlgorithmName hash) where TCtx : unmanaged
    {
        if (Library == 0
            || !NativeLibrary.TryGetExport(Library, prefix + "_Init", out nint init)
            || !NativeLibrary.TryGetExport(Library, prefix + "_Update", out nint update)
            || !NativeLibrary.TryGetExport(Library, prefix + "_Final", out nint final))
        {
            return default; // e.g. a libcrypto built with no-deprecated
        }
        var digest = new Digest(init, update, final);
        try
        {
            return StaysInsideItsStruct<TCtx>(digest, hash) && AgreesWithDotNet<TCtx>(digest, hash) ? digest : default;
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException)
        {
            return default; // .NET cannot compute the reference (e.g. MD5 in FIPS mode): no comparison, no native path
        }
    }

    /// <summary>A struct shorter than the library's would be overrun: hash into one followed by a guard and check the guard.</summary>
    private static bool StaysInsideItsStruct<TCtx>(Digest digest, HashAlgorithmName hash) where TCtx : unmanaged
    {
        const int Guard = 256;
        const byte Mark = 0xa5;
        int size = sizeof(TCtx);
        byte* buffer = stackalloc byte[size + Guard];
        new Span<byte>(buffer + size, Guard).Fill(Mark);
        byte* input = stackalloc byte[300];
        new Span<byte>(input, 300).Fill(0x61);
        byte* md = stackalloc byte[64];
        digest.Init(buffer);
        digest.Update(buffer, input, 300); // more than two blocks of every digest, then a partial block
        digest.Final(md, buffer);
        if (new Span<byte>(buffer + size, Guard).ContainsAnyExcept(Mark))
        {
            return false;
        }
        Span<byte> expected = stackalloc byte[64];
        int n = HashOnce(hash, new ReadOnlySpan<byte>(input, 300), expected);
        return new ReadOnlySpan<byte>(md, n).SequenceEqual(expected[..n]);
    }

    /// <summary>The HMAC built on it matches .NET's (a key longer than the block, data over several blocks).</summary>
    private static bool AgreesWithDotNet<TCtx>(Digest digest, HashAlgorithmName hash) where TCtx : unmanaged
    {
        Span<byte> key = stackalloc byte[150];
        Span<byte> data = stackalloc byte[333];
        for (int i = 0; i < key.Length; i++) key[i] = (byte)(i * 7 + 1);
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 13 + 5);
        Span<byte> ours = stackalloc byte[64], theirs = stackalloc byte[64];
        int n = HmacOnce(hash, key, data, theirs);
        using var hmac = new EspHmac.Precomputed<TCtx>(digest, key, BlockSize(hash), n);
        hmac.Compute(data, ours[..n]);
        return ours[..n].SequenceEqual(theirs[..n]);
    }

    internal static int BlockSize(HashAlgorithmName hash) => hash == HashAlgorithmName.SHA384 || hash == HashAlgorithmName.SHA512 ? 128 : 64;

    private static int HashOnce(HashAlgorithmName hash, ReadOnlySpan<byte> data, Span<byte> output) => hash.Name switch
    {
        "MD5" => MD5.HashData(data, output),
        "SHA1" => SHA1.HashData(data, output),
        "SHA256" => SHA256.HashData(data, output),
        "SHA384" => SHA384.HashData(data, output),
        _ => SHA512.HashData(data, output),
    };

    private static int HmacOnce(HashAlgorithmName hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> output) => hash.Name switch
    {
        "MD5" => HMACMD5.HashData(key, data, output),
        "SHA1" => HMACSHA1.HashData(key, data, output),
        "SHA256" => HMACSHA256.HashData(key, data, output),
        "SHA384" => HMACSHA384.HashData(key, data, output),
        _ => HMACSHA512.HashData(key, data, output),
    };

    /// <summary>Zeroes a struct in place (not removable as a dead store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Zero<T>(ref T value) where T : unmanaged =>
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(new Span<T>(ref value)));
}
