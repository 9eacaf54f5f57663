using BenchmarkDotNet.Attributes;
using IkeActors.Protocol;
using IkeActors.Protocol.Tests.Support;

namespace IkeActors.Benchmarks;

/// <summary>
/// Decode + validate whole ISAKMP messages (header, chain, nested proposals/transforms,
/// attributes) and encode them into a caller's buffer. Throughput in bytes/s is the
/// message size divided by the mean (MM1 180 bytes, MM3 292 bytes).
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private byte[] _mm1 = [];
    private byte[] _mm3 = [];
    private byte[] _qm1 = [];
    private readonly byte[] _buffer = new byte[2048];
    private SaPayload _sa;
    private VendorIdPayload _v02, _v03, _vRfc, _vFrag, _vUnity, _vXauth, _vDpd, _vAltiga;
    private KePayload _ke;
    private NoncePayload _nonce;
    private NatDPayload _natd1, _natd2;
    private IsakmpHeader _h1, _h3;

    [GlobalSetup]
    public void Setup()
    {
        _mm1 = SampleMessages.MainMode1();
        _mm3 = SampleMessages.MainMode3();
        _qm1 = SampleMessages.QuickMode1();
        _sa = SampleMessages.Phase1Sa();
        _v02 = SampleMessages.Vid(VendorIds.NatTDraft02);
        _v03 = SampleMessages.Vid(VendorIds.NatTDraft03);
        _vRfc = SampleMessages.Vid(VendorIds.NatTRfc3947);
        _vFrag = SampleMessages.Vid([.. VendorIds.Fragmentation, 0xc0, 0, 0, 0]);
        _vUnity = SampleMessages.Vid(VendorIds.CiscoUnity);
        _vXauth = SampleMessages.Vid(VendorIds.Xauth);
        _vDpd = SampleMessages.Vid(VendorIds.Dpd);
        _vAltiga = SampleMessages.Vid([.. VendorIds.CiscoVpn3000, 1, 0]);
        _ke = new KePayload { KeyExchangeData = SampleMessages.Bytes(128, 1) };
        _nonce = new NoncePayload { NonceData = SampleMessages.Bytes(20, 2) };
        _natd1 = new NatDPayload { HashOfAddressAndPort = SampleMessages.Bytes(20, 3) };
        _natd2 = new NatDPayload { HashOfAddressAndPort = SampleMessages.Bytes(20, 4) };
        _h1 = new IsakmpHeader { InitiatorCookie = SampleMessages.InitiatorCookie, Version = 0x10, ExchangeType = ExchangeType.IdentityProtection };
        _h3 = _h1 with { ResponderCookie = SampleMessages.ResponderCookie };
        if (EncodeMainMode1() != _mm1.Length || EncodeMainMode3() != _mm3.Length) throw new InvalidOperationException("encoders disagree with the samples");
    }

    [Benchmark]
    public int DecodeValidateMainMode1() => Walk(_mm1);

    [Benchmark]
    public int DecodeValidateMainMode3() => Walk(_mm3);

    [Benchmark]
    public int DecodeValidateQuickMode1() => Walk(_qm1);

    /// <summary>Validates the message and reads the fields a responder reads from MM1.</summary>
    private static int Walk(byte[] bytes)
    {
        if (!IsakmpMessage.TryParse(bytes, out var message, out _)) return -1;
        var sum = 0;
        foreach (var entry in message.Payloads)
        {
            sum += entry.Type;
            if (entry.Type == SaPayloadView.PayloadTypeNumber && SaPayloadView.TryParse(entry.Raw, out var sa, out _))
                foreach (var proposal in sa.Proposals)
                    foreach (var transform in proposal.Transforms)
                        foreach (var attribute in transform.Attributes)
                            sum += attribute.BasicValue;
        }
        return sum;
    }

    [Benchmark]
    public int EncodeMainMode1()
    {
        var m = new MessageBuilder(_buffer, _h1);
        m.Add(_sa);
        m.Add(_v02);
        m.Add(_v03);
        m.Add(_vRfc);
        m.Add(_vFrag);
        return m.Finish().Length;
    }

    [Benchmark]
    public int EncodeMainMode3()
    {
        var m = new MessageBuilder(_buffer, _h3);
        m.Add(_ke);
        m.Add(_nonce);
        m.Add(_vUnity);
        m.Add(_vXauth);
        m.Add(_vDpd);
        m.Add(_vAltiga);
        m.Add(_natd1);
        m.Add(_natd2);
        return m.Finish().Length;
    }
}
