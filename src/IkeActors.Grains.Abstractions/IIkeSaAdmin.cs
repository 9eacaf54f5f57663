namespace IkeActors.Grains;

/// <summary>Operator actions on an IKE SA grain (the same grain as <see cref="IIkeSaGrain"/>, same key).</summary>
public interface IIkeSaAdmin : IGrainWithStringKey
{
    /// <summary>`clear crypto isakmp sa`: deletes the SA and its IPsec SAs, telling the peer (RFC 2408 §3.15). False when there was none.</summary>
    Task<bool> Clear();

    /// <summary>
    /// A half-open SA gives way to a newer one (the node's half-open bound is reached and this SA's address is the
    /// busiest): it goes without a word to the peer, which never authenticated.
    /// </summary>
    [Orleans.Concurrency.OneWay]
    Task Abandon();
}
