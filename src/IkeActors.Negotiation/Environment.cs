using System.Security.Cryptography;
using IkeActors.Crypto;

namespace IkeActors.Negotiation;

/// <summary>
/// Everything a negotiation needs from the outside world that would make it
/// non-deterministic: randomness (cookies, nonces, SPIs, message IDs) and DH key pairs.
/// Time never enters: timers are actions with durations, fired back as inputs.
/// </summary>
public interface INegotiationEnvironment
{
    /// <summary>Fills the buffer with unpredictable bytes (RFC 2409 §5: nonces and cookies must be).</summary>
    void Fill(Span<byte> destination);

    /// <summary>A fresh Diffie-Hellman key pair of the group.</summary>
    DhKeyPair CreateKeyPair(DhGroup group);
}

/// <summary>The production environment: the OS CSPRNG and the crypto library's key generation.</summary>
public sealed class SystemEnvironment : INegotiationEnvironment
{
    public static readonly SystemEnvironment Instance = new();

    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);

    public DhKeyPair CreateKeyPair(DhGroup group) => group.GenerateKeyPair();
}
