using IkeActors.Esp.Tests.Support;
using IkeActors.Testing;

namespace IkeActors.Esp.Tests;

/// <summary>NetnsLab removes what it made when its setup fails half-way, before the constructor throws.</summary>
public class NetnsLabCleanupTests
{
    [RootFact]
    public void A_lab_whose_right_address_is_refused_throws_and_leaves_no_namespace()
    {
        // Both namespaces and the veth pair exist when the kernel refuses the right side's address.
        var e = Assert.ThrowsAny<InvalidOperationException>(() => new NetnsLab("espc", "10.0.0.256/24"));

        Assert.Contains("10.0.0.256/24", e.Message);
        var (code, stdout, stderr) = ProcessRunner.Run("ip", ["netns", "list"]);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain(stdout.Split('\n'), line => line.StartsWith("espc-", StringComparison.Ordinal));
    }
}
