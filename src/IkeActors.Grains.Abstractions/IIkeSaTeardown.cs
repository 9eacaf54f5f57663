namespace IkeActors.Grains;

/// <summary>
/// The peer rules remove an IKE SA grain (same key as <see cref="IIkeSaGrain"/>): the SA and its IPsec SAs go without a
/// DELETE. One-way: the grain that asks may itself be waited on by this one.
/// </summary>
public interface IIkeSaTeardown : IGrainWithStringKey
{
    /// <summary>Another IKE SA with the peer found it dead (DPD).</summary>
    [Orleans.Concurrency.OneWay]
    Task PeerDead();

    /// <summary>A newer IKE SA with the peer received INITIAL-CONTACT (RFC 2407 §4.6.3.3): the peer has forgotten this one.</summary>
    [Orleans.Concurrency.OneWay]
    Task InitialContact();
}
