using IkeActors.Testing;

namespace IkeActors.Samples.Tests;

/// <summary>
/// samples/RemoteAccess: the Cisco document 113595's EzVPN server and our client engine over loopback UDP. Expected values
/// are the document's configuration (user cisco's vpn-framed-ip-address 192.168.1.100/24, group policy EZ's DNS
/// 192.168.1.99 and domain, the client at 10.48.66.23) and the ASA's line texts.
/// </summary>
public class RemoteAccessSampleTests
{
    private static (int Code, string Stdout, string Stderr) Sample(params string[] args) =>
        ProcessRunner.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "RemoteAccess.dll"), .. args]);

    [Fact]
    public void The_documents_client_dials_in_and_the_head_end_shows_its_session()
    {
        var (code, stdout, stderr) = Sample();
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        // Both sides' debug lines, the ASA's formats.
        Assert.Contains("asa   | [IKEv1 DECODE]: IP = 10.48.66.23, ID_KEY_ID ID received--EZ", stdout);
        Assert.Contains("asa   | [IKEv1]: IP = 10.48.66.23, Connection landed on tunnel_group EZ", stdout);
        Assert.Contains("asa   | [IKEv1]: Group = EZ, Username = cisco, IP = 10.48.66.23, User (cisco) authenticated.", stdout);
        Assert.Contains("asa   | [IKEv1]: Group = EZ, Username = cisco, IP = 10.48.66.23, Assigned private IP address 192.168.1.100 to remote user", stdout);
        Assert.Contains("Security negotiation complete for User (cisco)  Responder", stdout);
        Assert.Contains("client| [IKEv1]: IP = 10.48.67.14, IKE_DECODE SENDING Message (msgid=0) with payloads : HDR + SA (1) + KE (4) + NONCE (10) + ID (5)", stdout);
        Assert.Contains("client: Mode Config gave 192.168.1.100/255.255.255.0, DNS 192.168.1.99, domain jyoungta-labdomain.cisco.com, all traffic through the tunnel", stdout);
        // The head-end's view of the session.
        Assert.Contains("Username     : cisco                  Index        : 1\n", stdout);
        Assert.Contains("Assigned IP  : 192.168.1.100          Public IP    : 10.48.66.23\n", stdout);
        Assert.Contains("Group Policy : EZ                     Tunnel Group : EZ\n", stdout);
        Assert.Contains("    Type    : user            Role    : responder\n    Rekey   : no              State   : AM_ACTIVE\n", stdout);
    }

    [Fact]
    public void A_wrong_password_leaves_the_client_without_a_tunnel()
    {
        var (code, stdout, stderr) = Sample("--password", "Wr0ng-pw");
        Assert.Equal(1, code);
        Assert.Contains("Remote peer has failed user authentication", stdout);
        Assert.DoesNotContain("Wr0ng-pw", stdout + stderr);
        Assert.DoesNotContain("Assigned private IP address", stdout);
    }
}
