using System.Security.Cryptography;
using Oakley.Iana;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;

namespace Oakley.Crypto.KeyExchange;

/// <summary>
/// ML-KEM-512/768/1024 (FIPS 203) as an IKEv2 key exchange (draft-ietf-ipsecme-ikev2-mlkem, RFC 9370):
/// the initiator sends its encapsulation key, the responder answers with the ciphertext, and both end with
/// a 32-byte shared secret. The BCL's MLKem needs OpenSSL 3.5 (Debian 12 ships 3.0), so BouncyCastle does
/// the math; its randomness is drawn from the injected entropy.
/// </summary>
public sealed class MlKemKeyExchange : KeyExchange
{
    private const int Q = 3329;
    private readonly MLKemParameters _parameters;
    private readonly SecureRandom _random;
    private AsymmetricCipherKeyPair? _keyPair;
    private byte[]? _ciphertext;
    private byte[]? _shared;

    internal MlKemKeyExchange(KeId id, IEntropySource entropy)
    {
        Method = id;
        _parameters = id switch
        {
            KeId.MlKem512 => MLKemParameters.ml_kem_512,
            KeId.MlKem768 => MLKemParameters.ml_kem_768,
            KeId.MlKem1024 => MLKemParameters.ml_kem_1024,
            _ => throw new ArgumentOutOfRangeException(nameof(id), id, "not an ML-KEM method"),
        };
        _random = new SecureRandom(new EntropyRandomGenerator(entropy));
    }

    public override KeId Method { get; }

    /// <summary>Encapsulation key length (the initiator's KE data).</summary>
    public static int EncapsulationKeyLength(KeId id) => id switch
    {
        KeId.MlKem512 => 800,
        KeId.MlKem768 => 1184,
        KeId.MlKem1024 => 1568,
        _ => throw new ArgumentOutOfRangeException(nameof(id)),
    };

    /// <summary>Ciphertext length (the responder's KE data).</summary>
    public static int CiphertextLength(KeId id) => id switch
    {
        KeId.MlKem512 => 768,
        KeId.MlKem768 => 1088,
        KeId.MlKem1024 => 1568,
        _ => throw new ArgumentOutOfRangeException(nameof(id)),
    };

    /// <summary>Initiator: the encapsulation key. Responder (after <see cref="SetPeerPublicKey"/>): the ciphertext.</summary>
    public override byte[] GetPublicKey()
    {
        if (_ciphertext is not null)
        {
            return (byte[])_ciphertext.Clone();
        }

        if (_keyPair is null)
        {
            var generator = new MLKemKeyPairGenerator();
            generator.Init(new MLKemKeyGenerationParameters(_random, _parameters));
            _keyPair = generator.GenerateKeyPair();
        }

        return ((MLKemPublicKeyParameters)_keyPair.Public).GetEncoded();
    }

    public override void SetPeerPublicKey(ReadOnlySpan<byte> peerPublicKey)
    {
        if (_keyPair is not null)
        {
            Decapsulate(peerPublicKey);
        }
        else
        {
            Encapsulate(peerPublicKey);
        }
    }

    public override byte[] GetSharedSecret() => _shared ?? throw new InvalidOperationException("the peer's public value has not been set");

    private void Encapsulate(ReadOnlySpan<byte> encapsulationKey)
    {
        if (encapsulationKey.Length != EncapsulationKeyLength(Method))
        {
            throw IkeProtocolException.InvalidSyntax($"{Method} encapsulation key of {encapsulationKey.Length} bytes, expected {EncapsulationKeyLength(Method)}");
        }

        if (!ModulusCheck(encapsulationKey))
        {
            // FIPS 203 §7.2: every encoded coefficient of the key must be below q.
            throw IkeProtocolException.InvalidSyntax($"{Method} encapsulation key fails the modulus check");
        }

        var publicKey = MLKemPublicKeyParameters.FromEncoding(_parameters, encapsulationKey.ToArray());
        var encapsulator = new MLKemEncapsulator(_parameters);
        encapsulator.Init(new ParametersWithRandom(publicKey, _random));
        var ct = new byte[encapsulator.EncapsulationLength];
        var secret = new byte[encapsulator.SecretLength];
        encapsulator.Encapsulate(ct, secret);
        _ciphertext = ct;
        _shared = secret;
    }

    private void Decapsulate(ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length != CiphertextLength(Method))
        {
            throw IkeProtocolException.InvalidSyntax($"{Method} ciphertext of {ciphertext.Length} bytes, expected {CiphertextLength(Method)}");
        }

        var decapsulator = new MLKemDecapsulator(_parameters);
        decapsulator.Init(_keyPair!.Private);
        var secret = new byte[decapsulator.SecretLength];
        // ML-KEM decapsulation never fails: a forged ciphertext yields an unrelated secret (implicit rejection),
        // which then fails authentication.
        decapsulator.Decapsulate(ciphertext, secret);
        _shared = secret;
    }

    /// <summary>FIPS 203 §7.2 input check: ByteDecode12 of the first 384·k bytes must give coefficients below q.</summary>
    internal static bool ModulusCheck(ReadOnlySpan<byte> encapsulationKey)
    {
        var polyBytes = encapsulationKey.Length - 32;
        for (var i = 0; i + 2 < polyBytes; i += 3)
        {
            var c0 = encapsulationKey[i] | ((encapsulationKey[i + 1] & 0x0F) << 8);
            var c1 = (encapsulationKey[i + 1] >> 4) | (encapsulationKey[i + 2] << 4);
            if (c0 >= Q || c1 >= Q)
            {
                return false;
            }
        }

        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (_shared is not null)
        {
            CryptographicOperations.ZeroMemory(_shared);
        }

        _keyPair = null;
    }
}
