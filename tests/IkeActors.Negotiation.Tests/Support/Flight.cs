using System.Buffers.Binary;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests.Support;

/// <summary>
/// Names the datagrams of a left-initiated negotiation by their step (MM1..MM6, QM1..QM3, INFO),
/// from the ISAKMP header alone (RFC 2408 §3.1) and who sent it, as an observer on the wire would.
/// </summary>
public sealed class StepClassifier
{
    private readonly Dictionary<uint, List<byte[]>> _leftQuickModes = new();

    public string Classify(bool fromLeft, byte[] d)
    {
        if (d.Length < 28) return "?";
        var responderCookie = BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8));
        var firstPayload = d[16];
        var exchange = d[18];
        var encrypted = (d[19] & 1) != 0;
        var messageId = BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(20));
        switch (exchange)
        {
            case 2 when fromLeft: return encrypted ? "MM5" : responderCookie == 0 ? "MM1" : "MM3";
            case 2: return encrypted ? "MM6" : firstPayload == 1 ? "MM2" : "MM4";
            case 32 when !fromLeft: return "QM2";
            case 32:
                if (!_leftQuickModes.TryGetValue(messageId, out var seen)) _leftQuickModes[messageId] = seen = new();
                var index = seen.FindIndex(s => s.AsSpan().SequenceEqual(d));
                if (index < 0) { seen.Add(d); index = seen.Count - 1; }
                return index == 0 ? "QM1" : "QM3";
            case 5: return "INFO";
            default: return "?";
        }
    }

    public static bool SentByInitiator(string step) => step is "MM1" or "MM3" or "MM5" or "QM1" or "QM3";
}

/// <summary>Configuration variants of the seed's two ASAs, made by editing the sample text.</summary>
public static class Configs
{
    public static string Initiator => File.ReadAllText(Lab.SampleConfig("asa1-initiator.cfg"));
    public static string Responder => File.ReadAllText(Lab.SampleConfig("asa2-responder.cfg"));

    /// <summary>Replaces text that must be there (a sample that changed fails loudly instead of testing nothing).</summary>
    public static string Edit(this string config, string find, string replace)
    {
        Assert.Contains(find, config);
        return config.Replace(find, replace);
    }
}

public static class LabAssert
{
    /// <summary>One IKE SA each side in MM_ACTIVE, one SA pair each side, keys mirror each other.</summary>
    public static (IpsecSaPair Left, IpsecSaPair Right) TunnelUp(Lab lab)
    {
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Left.Sas).State);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Right.Sas).State);
        var left = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        var right = Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>()).Pair;
        KeysMirror(left, right);
        Assert.Empty(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Empty(lab.RightOutput.OfType<NegotiationFailed>());
        return (left, right);
    }

    public static void KeysMirror(IpsecSaPair left, IpsecSaPair right)
    {
        Assert.Equal(left.Inbound.Spi, right.Outbound.Spi);
        Assert.Equal(left.Outbound.Spi, right.Inbound.Spi);
        Assert.Equal(left.Inbound.EncryptionKey, right.Outbound.EncryptionKey);
        Assert.Equal(left.Inbound.IntegrityKey, right.Outbound.IntegrityKey);
        Assert.Equal(left.Outbound.EncryptionKey, right.Inbound.EncryptionKey);
        Assert.Equal(left.Outbound.IntegrityKey, right.Inbound.IntegrityKey);
        Assert.Equal(left.Transform, right.Transform);
    }

    public static void NoInstall(Lab lab)
    {
        Assert.Empty(lab.LeftOutput.OfType<InstallIpsecSa>());
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());
    }

    /// <summary>Assert.Contains for a debug line, failing with the whole log (easier to read than "not found").</summary>
    public static void Line(IReadOnlyList<string> lines, string expected) =>
        Assert.True(lines.Contains(expected), $"missing: {expected}\n--- log ---\n{string.Join("\n", lines)}");

    public static int Count(IEnumerable<string> lines, string line) => lines.Count(l => l == line);

    /// <summary>The datagrams one side sent, named by step.</summary>
    public static List<string> Sent(Lab lab, bool left)
    {
        var classifier = new StepClassifier();
        // Classify both directions in order so the left's QM1/QM3 are told apart by first appearance.
        return (left ? lab.LeftOutput : lab.RightOutput).OfType<SendDatagram>().Select(s => classifier.Classify(left, s.Datagram)).ToList();
    }
}
