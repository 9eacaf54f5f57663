namespace IkeActors.Gateway.Hosting;

/// <summary>Names every node and operator client of one concentrator share.</summary>
public static class GatewayHost
{
    public const string ServiceId = "ikeactors";
    public const string ClusterId = "ikeactors";

    /// <summary>The Orleans client gateway port of `ikeactors run` unless --gateway-port says otherwise.</summary>
    public const int DefaultGatewayPort = 30000;
}
