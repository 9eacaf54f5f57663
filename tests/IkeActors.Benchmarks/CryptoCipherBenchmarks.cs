using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IkeActors.Crypto;

namespace IkeActors.Benchmarks;

/// <summary>ISAKMP message body encryption/decryption (CBC, IV chaining). --filter '*CryptoCipher*'</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class CryptoCipherBenchmarks
{
    [Params(IkeEncryptionAlgorithm.AesCbc, IkeEncryptionAlgorithm.TripleDesCbc)]
    public IkeEncryptionAlgorithm Cipher;

    [Params(64, 1024)]
    public int BodyLength;

    private IsakmpCipher _encryptor = null!;
    private IsakmpCipher _decryptor = null!;
    private byte[] _body = null!, _wire = null!, _plain = null!, _ciphertext = null!;
    private int _n;

    [GlobalSetup]
    public void Setup()
    {
        byte[] key = new byte[Cipher == IkeEncryptionAlgorithm.AesCbc ? 32 : 24];
        RandomNumberGenerator.Fill(key);
        byte[] iv = new byte[16];
        IsakmpCipher.TryCreate(Cipher, key, IkeHashAlgorithm.Sha2_256, iv, out IsakmpCipher? e);
        IsakmpCipher.TryCreate(Cipher, key, IkeHashAlgorithm.Sha2_256, iv, out IsakmpCipher? d);
        _encryptor = e!;
        _decryptor = d!;
        _body = RandomNumberGenerator.GetBytes(BodyLength);
        _wire = new byte[_encryptor.GetCiphertextLength(BodyLength)];
        _plain = new byte[_wire.Length];
        _encryptor.TryEncrypt(0x1234, _body, _wire, out _n);
        _ciphertext = _wire[.._n];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _encryptor.Dispose();
        _decryptor.Dispose();
    }

    [Benchmark(Description = "encrypt (pad + CBC + IV update)")]
    public int Encrypt()
    {
        _encryptor.TryEncrypt(0, _body, _wire, out int n);
        return n;
    }

    [Benchmark(Description = "decrypt (phase-2 IV derivation + CBC)")]
    public int Decrypt()
    {
        _decryptor.TryDecrypt(0x1234, _ciphertext, _plain, out int n);
        return n;
    }
}
