using System.Buffers.Binary;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>Assembling, protecting and opening ISAKMP messages (RFC 2408 §3, RFC 2409 Appendix B).</summary>
internal static class IsakmpMessages
{
    public const int HeaderSize = 28;

    /// <summary>Header + payloads, each payload's type written into the previous Next Payload (RFC 2408 §3.2).</summary>
    public static byte[] Build(IsakmpHeader header, IReadOnlyList<IIsakmpPayload> payloads)
    {
        var size = HeaderSize;
        for (var i = 0; i < payloads.Count; i++) size += payloads[i].EncodedSize;
        var bytes = new byte[size];
        var builder = new MessageBuilder(bytes, header);
        for (var i = 0; i < payloads.Count; i++) builder.Add(payloads[i]);
        builder.Finish();
        return bytes;
    }

    /// <summary>Encrypts the body of a plaintext message: the same header with the E flag (RFC 2408 §3.1), and the new length.</summary>
    public static byte[] Encrypt(byte[] plaintext, IsakmpCipher cipher, uint messageId)
    {
        if (!IsakmpHeader.TryDecode(plaintext, out var header, out var error))
            throw new ArgumentException($"not an ISAKMP message: {error}", nameof(plaintext));
        var body = plaintext.AsSpan(HeaderSize);
        var result = new byte[HeaderSize + cipher.GetCiphertextLength(body.Length)];
        var builder = new MessageBuilder(result, header with { Flags = header.Flags | IsakmpFlags.Encryption });
        if (!cipher.TryEncrypt(messageId, body, builder.Free, out var written) || written != result.Length - HeaderSize)
            throw new InvalidOperationException("ISAKMP encryption failed");
        builder.AddEncrypted(header.NextPayload, written);
        builder.Finish();
        return result;
    }

    /// <summary>
    /// Decrypts an encrypted datagram into header + plaintext body. False, without saying why,
    /// when it does not decrypt or the result is not a valid payload chain (wrong key, tampering).
    /// </summary>
    public static bool TryDecrypt(ReadOnlySpan<byte> datagram, IsakmpCipher cipher, uint messageId, out byte[] plaintext)
    {
        plaintext = [];
        var body = datagram[HeaderSize..];
        var buffer = new byte[datagram.Length];
        datagram[..HeaderSize].CopyTo(buffer);
        if (!cipher.TryDecrypt(messageId, body, buffer.AsSpan(HeaderSize), out _)) return false;
        if (!IsakmpMessage.TryParseDecrypted(buffer, out _, out _)) return false;
        plaintext = buffer;
        return true;
    }

    /// <summary>The payload types of a message in order, for the IKE_DECODE line.</summary>
    public static byte[] PayloadTypes(IReadOnlyList<IIsakmpPayload> payloads) => payloads.Select(p => p.PayloadType).ToArray();

    public static byte[] PayloadTypes(ReadOnlySpan<byte> message)
    {
        if (!IsakmpMessage.TryParseDecrypted(message, out var m, out _)) return [];
        Span<byte> types = stackalloc byte[64];
        return types[..m.GetPayloadTypes(types)].ToArray();
    }

    /// <summary>Where the payload chain of a validated plaintext message ends (padding excluded).</summary>
    public static int ChainEnd(ReadOnlySpan<byte> message)
    {
        if (!IsakmpMessage.TryParseDecrypted(message, out var m, out _)) return HeaderSize;
        var end = HeaderSize;
        foreach (var e in m.Payloads) end = e.Offset + e.Raw.Length;
        return end;
    }

    public static byte[] CookieBytes(ulong initiator, ulong responder)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(b, initiator);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), responder);
        return b;
    }

    public static byte[] Cookie(ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        return b;
    }
}
