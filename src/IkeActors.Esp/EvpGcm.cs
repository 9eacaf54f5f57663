using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// AES-GCM through the system libcrypto's EVP interface (the library .NET itself uses on Linux), for
/// <see cref="EspGcmEngine"/>: the key schedule once per context, the nonce per packet, and a wrong ICV answered by
/// <c>EVP_CipherFinal_ex</c> returning 0, not by an exception. .NET's <see cref="AesGcm"/> throws
/// <see cref="AuthenticationTagMismatchException"/> for each forged packet, tens of microseconds each: a flood of ESP
/// with a live SPI and made-up contents would cost the receiver far more than the sender. Probed once per process
/// (symbols, and agreement with <see cref="AesGcm"/> on a sealed packet, its opening and a forgery's refusal);
/// anything missing or wrong leaves <see cref="IsAvailable"/> false and the engine on <see cref="AesGcm"/>.
/// </summary>
internal static unsafe class EvpGcm
{
    // openssl/evp.h (OpenSSL 1.1 and 3): EVP_CTRL_AEAD_GET_TAG, EVP_CTRL_AEAD_SET_TAG.
    private const int GetTag = 0x10, SetTag = 0x11;

    private static readonly delegate* unmanaged<nint> CtxNew;
    private static readonly delegate* unmanaged<nint, void> CtxFree;
    private static readonly delegate* unmanaged<nint, int, int, void*, int> CtxCtrl;
    private static readonly delegate* unmanaged<nint, nint, nint, byte*, byte*, int, int> CipherInit;
    private static readonly delegate* unmanaged<nint, byte*, int*, byte*, int, int> CipherUpdate;
    private static readonly delegate* unmanaged<nint, byte*, int*, int> CipherFinal;
    private static readonly delegate* unmanaged<void> ErrClear;
    private static readonly nint Aes128, Aes192, Aes256;

    /// <summary>True when libcrypto's GCM is there and agrees with .NET's.</summary>
    public static bool IsAvailable { get; }

    static EvpGcm()
    {
        var lib = Libcrypto.Handle;
        if (lib == 0
            || !NativeLibrary.TryGetExport(lib, "EVP_CIPHER_CTX_new", out var ctxNew)
            || !NativeLibrary.TryGetExport(lib, "EVP_CIPHER_CTX_free", out var ctxFree)
            || !NativeLibrary.TryGetExport(lib, "EVP_CIPHER_CTX_ctrl", out var ctrl)
            || !NativeLibrary.TryGetExport(lib, "EVP_CipherInit_ex", out var init)
            || !NativeLibrary.TryGetExport(lib, "EVP_CipherUpdate", out var update)
            || !NativeLibrary.TryGetExport(lib, "EVP_CipherFinal_ex", out var final)
            || !NativeLibrary.TryGetExport(lib, "ERR_clear_error", out var errClear)
            || !NativeLibrary.TryGetExport(lib, "EVP_aes_128_gcm", out var aes128)
            || !NativeLibrary.TryGetExport(lib, "EVP_aes_192_gcm", out var aes192)
            || !NativeLibrary.TryGetExport(lib, "EVP_aes_256_gcm", out var aes256))
        {
            return;
        }
        CtxNew = (delegate* unmanaged<nint>)ctxNew;
        CtxFree = (delegate* unmanaged<nint, void>)ctxFree;
        CtxCtrl = (delegate* unmanaged<nint, int, int, void*, int>)ctrl;
        CipherInit = (delegate* unmanaged<nint, nint, nint, byte*, byte*, int, int>)init;
        CipherUpdate = (delegate* unmanaged<nint, byte*, int*, byte*, int, int>)update;
        CipherFinal = (delegate* unmanaged<nint, byte*, int*, int>)final;
        ErrClear = (delegate* unmanaged<void>)errClear;
        // EVP_aes_*_gcm() return static descriptions (OpenSSL 3: implicitly fetched from the default provider).
        Aes128 = ((delegate* unmanaged<nint>)aes128)();
        Aes192 = ((delegate* unmanaged<nint>)aes192)();
        Aes256 = ((delegate* unmanaged<nint>)aes256)();
        try
        {
            IsAvailable = Aes128 != 0 && Aes192 != 0 && Aes256 != 0 && AgreesWithDotNet();
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException or InvalidOperationException)
        {
            IsAvailable = false;
        }
    }

    /// <summary>One direction's context, keyed once (<paramref name="encrypt"/>: seals, else opens); the ICV is 16 octets.</summary>
    public static Context Create(ReadOnlySpan<byte> key, bool encrypt)
    {
        var cipher = key.Length switch
        {
            16 => Aes128,
            24 => Aes192,
            32 => Aes256,
            _ => throw new ArgumentException($"an AES key is 16, 24 or 32 bytes, got {key.Length}", nameof(key)),
        };
        var context = new Context(CtxNew());
        if (context.IsInvalid) throw new CryptographicException("EVP_CIPHER_CTX_new failed");
        fixed (byte* k = key)
        {
            // The nonce comes with each packet (12 octets, GCM's default length).
            if (CipherInit(context.Handle, cipher, 0, k, null, encrypt ? 1 : 0) != 1)
            {
                ErrClear();
                context.Dispose();
                throw new CryptographicException("EVP_CipherInit_ex refused the AES-GCM key");
            }
        }
        return context;
    }

    /// <summary>
    /// Encrypts <paramref name="body"/> in place under <paramref name="nonce"/> with <paramref name="aad"/> and writes the
    /// 16-octet tag to <paramref name="tag"/>.
    /// </summary>
    public static void Seal(Context context, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, Span<byte> body, Span<byte> tag)
    {
        var added = false;
        context.DangerousAddRef(ref added); // a disposed context throws here, never reaches libcrypto
        try
        {
            fixed (byte* n = nonce)
            fixed (byte* a = aad)
            fixed (byte* b = body)
            fixed (byte* t = tag)
            {
                int written;
                var ctx = context.Handle;
                if (CipherInit(ctx, 0, 0, null, n, -1) != 1
                    || CipherUpdate(ctx, null, &written, a, aad.Length) != 1
                    || (body.Length > 0 && CipherUpdate(ctx, b, &written, b, body.Length) != 1)
                    || CipherFinal(ctx, b + body.Length, &written) != 1
                    || CtxCtrl(ctx, GetTag, tag.Length, t) != 1)
                {
                    ErrClear();
                    throw new CryptographicException("AES-GCM encryption failed");
                }
            }
        }
        finally
        {
            if (added) context.DangerousRelease();
        }
    }

    /// <summary>
    /// Verifies <paramref name="tag"/> and decrypts <paramref name="body"/> in place; false (the body zeroed) when the tag
    /// does not match. Nothing is thrown for a forgery.
    /// </summary>
    public static bool Open(Context context, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, Span<byte> body, ReadOnlySpan<byte> tag)
    {
        var added = false;
        context.DangerousAddRef(ref added);
        try
        {
            fixed (byte* n = nonce)
            fixed (byte* a = aad)
            fixed (byte* b = body)
            fixed (byte* t = tag)
            {
                int written;
                var ctx = context.Handle;
                if (CipherInit(ctx, 0, 0, null, n, -1) == 1
                    && CipherUpdate(ctx, null, &written, a, aad.Length) == 1
                    && (body.Length == 0 || CipherUpdate(ctx, b, &written, b, body.Length) == 1)
                    && CtxCtrl(ctx, SetTag, tag.Length, t) == 1
                    && CipherFinal(ctx, b + body.Length, &written) == 1)
                {
                    return true;
                }
                ErrClear(); // a mismatch may leave an entry on this thread's error queue, where .NET's next call would find it
                CryptographicOperations.ZeroMemory(body); // never hand on what was decrypted under a wrong tag
                return false;
            }
        }
        finally
        {
            if (added) context.DangerousRelease();
        }
    }

    /// <summary>An EVP_CIPHER_CTX; freeing it (OpenSSL clears the key schedule) on Dispose, or by the finalizer if forgotten.</summary>
    internal sealed class Context : SafeHandle
    {
        public Context(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

        public nint Handle => handle;

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            CtxFree(handle);
            return true;
        }
    }

    /// <summary>A packet sealed here opens with .NET's AesGcm and the other way round; a forged tag is refused without a throw.</summary>
    private static bool AgreesWithDotNet()
    {
        Span<byte> key = stackalloc byte[32], nonce = stackalloc byte[12], aad = stackalloc byte[8];
        for (var i = 0; i < key.Length; i++) key[i] = (byte)(i * 11 + 3);
        for (var i = 0; i < nonce.Length; i++) nonce[i] = (byte)(i * 5 + 1);
        aad.Fill(0x42);
        var plain = new byte[77];
        for (var i = 0; i < plain.Length; i++) plain[i] = (byte)(i * 3);
        var ours = (byte[])plain.Clone();
        var theirs = new byte[plain.Length];
        Span<byte> ourTag = stackalloc byte[16], theirTag = stackalloc byte[16];
        using (var sealer = Create(key, encrypt: true)) Seal(sealer, nonce, aad, ours, ourTag);
        using (var dotnet = new AesGcm(key, 16)) dotnet.Encrypt(nonce, plain, theirs, theirTag, aad);
        if (!ours.AsSpan().SequenceEqual(theirs) || !ourTag.SequenceEqual(theirTag)) return false;
        using var opener = Create(key, encrypt: false);
        if (!Open(opener, nonce, aad, ours, ourTag) || !ours.AsSpan().SequenceEqual(plain)) return false;
        theirTag[0] ^= 1;
        return !Open(opener, nonce, aad, theirs, theirTag) && !theirs.AsSpan().ContainsAnyExcept((byte)0);
    }
}
