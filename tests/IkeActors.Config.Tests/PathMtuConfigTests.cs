using IkeActors.Config.Model;
using IkeActors.Config.Parsing;
using IkeActors.Config.Show;

namespace IkeActors.Config.Tests;

/// <summary>
/// `mtu NAMEIF BYTES`, `crypto ipsec df-bit clear-df|copy-df|set-df NAMEIF` and `crypto ipsec fragmentation
/// before-encryption|after-encryption NAMEIF` (Cisco ASA command reference: mtu 64-9198, default 1500; df-bit default
/// copy-df; fragmentation default before-encryption): read, printed as written, checked against the interfaces.
/// </summary>
public class PathMtuConfigTests
{
    private const string Base = """
        interface GigabitEthernet0/0
         nameif outside
         ip address 10.0.0.1 255.255.255.0
        interface GigabitEthernet0/1
         nameif inside
         ip address 192.168.1.1 255.255.255.0

        """;

    [Fact]
    public void Defaults_without_a_line_are_the_asas()
    {
        var c = AsaConfigLoader.Load(Base, "t.cfg").Config;
        Assert.Equal(1500, c.MtuOf("outside"));
        Assert.Equal(DfBitSetting.CopyDf, c.DfBitOf("outside"));
        Assert.True(c.FragmentsBeforeEncryption("outside"));
    }

    [Fact]
    public void The_lines_are_read_printed_and_read_back_to_the_same_model()
    {
        var text = Base + """
            mtu outside 1400
            mtu inside 9000
            crypto ipsec df-bit clear-df outside
            crypto ipsec fragmentation after-encryption outside
            mtu outside 1380
            """;
        var r = AsaConfigLoader.Load(text, "t.cfg");
        Assert.DoesNotContain(r.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(1380, r.Config.MtuOf("outside")); // a later line replaces an earlier one
        Assert.Equal(9000, r.Config.MtuOf("inside"));
        Assert.Equal(DfBitSetting.ClearDf, r.Config.DfBitOf("outside"));
        Assert.Equal(DfBitSetting.CopyDf, r.Config.DfBitOf("inside"));
        Assert.False(r.Config.FragmentsBeforeEncryption("outside"));

        var shown = RunningConfigWriter.ShowRunningConfig(r.Config);
        Assert.Contains("mtu outside 1380\n", shown);
        Assert.Contains("crypto ipsec df-bit clear-df outside\n", shown);
        Assert.Contains("crypto ipsec fragmentation after-encryption outside\n", shown);
        Assert.Equal(r.Config, AsaConfigLoader.Load(shown, "shown.cfg").Config);
    }

    [Theory]
    [InlineData("mtu outside 63")]
    [InlineData("mtu outside 9199")]
    [InlineData("mtu outside")]
    [InlineData("crypto ipsec df-bit keep-df outside")]
    [InlineData("crypto ipsec fragmentation during-encryption outside")]
    [InlineData("mtu dmz 1500")]
    [InlineData("crypto ipsec df-bit clear-df dmz")]
    public void A_bad_value_or_an_interface_that_does_not_exist_is_an_error_with_its_line(string line)
    {
        var r = AsaConfigLoader.Load(Base + line + "\n", "t.cfg");
        var error = Assert.Single(r.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(7, error.Location.Line);
        Assert.Equal(1500, r.Config.MtuOf("outside"));
        Assert.Equal(DfBitSetting.CopyDf, r.Config.DfBitOf("outside"));
    }
}
