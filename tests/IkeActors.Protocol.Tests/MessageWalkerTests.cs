using IkeActors.Protocol.Tests.Support;

namespace IkeActors.Protocol.Tests;

public class MessageWalkerTests
{
    [Fact]
    public void MainMode1_walks_to_the_asa_payload_list()
    {
        var bytes = SampleMessages.MainMode1();
        Assert.True(IsakmpMessage.TryParse(bytes, out var message, out var error), error.ToString());
        Span<byte> types = stackalloc byte[16];
        var n = message.GetPayloadTypes(types);
        // The seed's golden MM1 line: HDR + SA (1) + VENDOR (13) x4 + NONE (0).
        Assert.Equal(new byte[] { 1, 13, 13, 13, 13 }, types[..n].ToArray());
        Assert.Equal((uint)bytes.Length, message.Header.Length);
    }
}
