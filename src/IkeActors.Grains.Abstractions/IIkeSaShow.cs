namespace IkeActors.Grains;

/// <summary>`show` output an IKE SA grain renders for its own SA.</summary>
public interface IIkeSaShow : IGrainWithStringKey
{
    /// <summary>This SA's numbered entry of `show crypto isakmp sa`, or null when there is none.</summary>
    Task<string?> ShowIsakmpEntry(int number);

    /// <summary>This SA's IPsec SAs as `show crypto ipsec sa` prints them ("" when none).</summary>
    Task<string> ShowIpsecSa();
}
