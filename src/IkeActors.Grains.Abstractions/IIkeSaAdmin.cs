namespace IkeActors.Grains;

/// <summary>Operator actions on an IKE SA grain (the same grain as <see cref="IIkeSaGrain"/>, same key).</summary>
public interface IIkeSaAdmin : IGrainWithStringKey
{
    /// <summary>`clear crypto isakmp sa`: deletes the SA and its IPsec SAs, telling the peer (RFC 2408 §3.15). False when there was none.</summary>
    Task<bool> Clear();
}
