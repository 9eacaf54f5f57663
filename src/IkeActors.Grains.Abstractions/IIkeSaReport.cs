namespace IkeActors.Grains;

/// <summary>Session reports an IKE SA grain renders for itself (the same grain as <see cref="IIkeSaGrain"/>).</summary>
public interface IIkeSaReport : IGrainWithStringKey
{
    /// <summary>This SA's block of `show vpn-sessiondb detail l2l`, or null when it is not established.</summary>
    Task<string?> ShowVpnSessionDetail(int index);
}
