namespace IkeActors.Negotiation;

/// <summary>
/// What RFC 2409 §5 hashes and derives the keys from: SAi_b, g^xi, g^xr, Ni_b, Nr_b, IDii_b, IDir_b. Public
/// values only (the DH private value and g^xy never leave the exchange); kept by the IKE SA after Main Mode
/// so a snapshot can be checked on restore (the phase-1 IV comes from g^xi | g^xr).
/// </summary>
internal sealed class MainModeTranscript
{
    public byte[] SaiBody = [];
    public byte[] Gxi = [], Gxr = [];
    public byte[] Ni = [], Nr = [];
    public byte[] IdiiBody = [], IdirBody = [];
}
