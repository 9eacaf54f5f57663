namespace IkeActors.Grains;

/// <summary>Session reports an IKE SA grain renders for itself (the same grain as <see cref="IIkeSaGrain"/>).</summary>
public interface IIkeSaReport : IGrainWithStringKey
{
    /// <summary>This SA's block of `show vpn-sessiondb detail l2l`, or null when it is not established.</summary>
    Task<string?> ShowVpnSessionDetail(int index);

    /// <summary>This SA's block of `show vpn-sessiondb l2l`, or null when it is not established.</summary>
    Task<string?> ShowVpnSession(int index);

    /// <summary>This SA's block of `show vpn-sessiondb [detail] remote`, or null when it is not an established remote-access session.</summary>
    Task<string?> ShowVpnSessionRemote(int index, bool detailed);

    /// <summary>This SA's numbered entry of `show crypto isakmp sa detail`, or null when there is none.</summary>
    Task<string?> ShowIsakmpDetail(int number);
}
