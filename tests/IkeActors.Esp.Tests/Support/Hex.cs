namespace IkeActors.Esp.Tests.Support;

internal static class Hex
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "").Replace("0x", ""));

    public static string Of(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);
}
