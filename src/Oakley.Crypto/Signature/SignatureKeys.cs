using System.Formats.Asn1;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Oakley.Crypto.Signature;

/// <summary>
/// A public key that verifies signatures: RSA, ECDSA (P-256/384/521) or EdDSA, decoded from a DER
/// SubjectPublicKeyInfo (a certificate's key, a raw public key of RFC 7670, or swanctl's <c>pubkeys</c>).
/// </summary>
public sealed class SignaturePublicKey : IDisposable
{
    private readonly AsymmetricAlgorithm? _key;
    private readonly byte[]? _edKey;

    private SignaturePublicKey(SignatureKeyType type, int bits, AsymmetricAlgorithm? key, byte[]? edKey, byte[] spki)
    {
        KeyType = type;
        KeySize = bits;
        _key = key;
        _edKey = edKey;
        SubjectPublicKeyInfo = spki;
    }

    public SignatureKeyType KeyType { get; }

    /// <summary>The key size in bits (the modulus for RSA, the curve's order size for ECDSA, 256/456 for EdDSA).</summary>
    public int KeySize { get; }

    public ReadOnlyMemory<byte> SubjectPublicKeyInfo { get; }

    /// <summary>Decodes a DER SubjectPublicKeyInfo; null with <paramref name="why"/> for anything else.</summary>
    public static SignaturePublicKey? FromSubjectPublicKeyInfo(ReadOnlySpan<byte> der, out string why)
    {
        why = "";
        var copy = der.ToArray();
        try
        {
            var outer = new AsnReader(copy, AsnEncodingRules.DER);
            var spki = outer.ReadSequence();
            if (outer.HasData)
            {
                why = "trailing bytes after the SubjectPublicKeyInfo";
                return null;
            }

            var oid = spki.ReadSequence().ReadObjectIdentifier();
            switch (oid)
            {
                case SignatureSchemes.RsaKeyOid:
                    var rsa = RSA.Create();
                    rsa.ImportSubjectPublicKeyInfo(copy, out var rsaRead);
                    if (rsaRead != copy.Length)
                    {
                        rsa.Dispose();
                        why = "trailing bytes after the SubjectPublicKeyInfo";
                        return null;
                    }

                    return new SignaturePublicKey(SignatureKeyType.Rsa, rsa.KeySize, rsa, null, copy);
                case "1.2.840.10045.2.1":
                    var ec = ECDsa.Create();
                    ec.ImportSubjectPublicKeyInfo(copy, out var ecRead);
                    if (ecRead != copy.Length)
                    {
                        ec.Dispose();
                        why = "trailing bytes after the SubjectPublicKeyInfo";
                        return null;
                    }

                    return new SignaturePublicKey(SignatureKeyType.Ecdsa, ec.KeySize, ec, null, copy);
                case "1.3.101.112":
                case "1.3.101.113":
                    var ed448 = oid == "1.3.101.113";
                    var point = spki.ReadBitString(out var unused);
                    if (unused != 0 || point.Length != (ed448 ? 57 : 32))
                    {
                        why = $"{(ed448 ? "Ed448" : "Ed25519")} public key of {point.Length} bytes";
                        return null;
                    }

                    return new SignaturePublicKey(ed448 ? SignatureKeyType.Ed448 : SignatureKeyType.Ed25519, ed448 ? 456 : 256, null, point, copy);
                default:
                    why = $"public key algorithm {oid} is not supported (RSA, ECDSA, Ed25519 and Ed448 are)";
                    return null;
            }
        }
        // PlatformNotSupportedException: OpenSSL does not know the named curve (an OID a peer made up); found by the x509 fuzzer.
        catch (Exception e) when (e is AsnContentException or CryptographicException or PlatformNotSupportedException or NotSupportedException)
        {
            why = e is NotSupportedException ? "unsupported elliptic curve or key parameters" : "malformed SubjectPublicKeyInfo";
            return null;
        }
    }

    /// <summary>
    /// Checks <paramref name="signature"/> over <paramref name="data"/>. ECDSA signatures are DER Ecdsa-Sig-Values
    /// when <paramref name="derEcdsa"/> (RFC 7427) and r ‖ s of fixed size otherwise (RFC 4754, methods 9–11).
    /// </summary>
    public bool Verify(SignatureScheme scheme, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, bool derEcdsa = true)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        if (scheme.KeyType != KeyType)
        {
            return false;
        }

        try
        {
            return KeyType switch
            {
                SignatureKeyType.Rsa => ((RSA)_key!).VerifyData(data, signature, scheme.Hash, scheme.Pss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
                SignatureKeyType.Ecdsa => ((ECDsa)_key!).VerifyData(data, signature, scheme.Hash,
                    derEcdsa ? DSASignatureFormat.Rfc3279DerSequence : DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
                SignatureKeyType.Ed25519 => signature.Length == 64 && EdDsa.Verify25519(signature, data, _edKey!),
                _ => signature.Length == Ed448.SignatureSize && Ed448.Verify(signature.ToArray(), 0, _edKey!, 0, [], data.ToArray(), 0, data.Length),
            };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public void Dispose() => _key?.Dispose();
}

/// <summary>
/// A private key that signs: RSA, ECDSA or EdDSA from a DER PKCS#8 PrivateKeyInfo (unencrypted; the loader
/// decrypts encrypted PKCS#8 and PKCS#12 first). The key material is never formatted into text.
/// </summary>
public sealed class SignaturePrivateKey : IDisposable
{
    private readonly AsymmetricAlgorithm? _key;
    private readonly byte[]? _seed;

    private SignaturePrivateKey(SignatureKeyType type, int bits, AsymmetricAlgorithm? key, byte[]? seed)
    {
        KeyType = type;
        KeySize = bits;
        _key = key;
        _seed = seed;
    }

    public SignatureKeyType KeyType { get; }

    public int KeySize { get; }

    /// <summary>
    /// A new key: RSA with a <paramref name="bits"/>-bit modulus, ECDSA on P-256/384/521, or EdDSA from a seed drawn
    /// from <paramref name="entropy"/> (RSA and ECDSA keys come from the BCL's generator, which draws on the OS).
    /// </summary>
    public static SignaturePrivateKey Generate(SignatureKeyType type, int bits, IEntropySource entropy)
    {
        ArgumentNullException.ThrowIfNull(entropy);
        switch (type)
        {
            case SignatureKeyType.Rsa:
                return new SignaturePrivateKey(type, bits, RSA.Create(bits), null);
            case SignatureKeyType.Ecdsa:
                var curve = bits switch
                {
                    256 => ECCurve.NamedCurves.nistP256,
                    384 => ECCurve.NamedCurves.nistP384,
                    521 => ECCurve.NamedCurves.nistP521,
                    _ => throw new ArgumentException($"no ECDSA curve of {bits} bits (256, 384, 521)", nameof(bits)),
                };
                return new SignaturePrivateKey(type, bits, ECDsa.Create(curve), null);
            default:
                var seed = new byte[type == SignatureKeyType.Ed448 ? 57 : 32];
                entropy.Fill(seed);
                return new SignaturePrivateKey(type, type == SignatureKeyType.Ed448 ? 456 : 256, null, seed);
        }
    }

    /// <summary>Decodes an unencrypted DER PKCS#8 key; null with <paramref name="why"/> (never the key) otherwise.</summary>
    public static SignaturePrivateKey? FromPkcs8(ReadOnlySpan<byte> der, out string why)
    {
        why = "";
        var copy = der.ToArray();
        try
        {
            var outer = new AsnReader(copy, AsnEncodingRules.DER);
            var info = outer.ReadSequence();
            if (outer.HasData)
            {
                why = "trailing bytes after the PKCS#8 private key";
                return null;
            }

            info.ReadInteger();
            var oid = info.ReadSequence().ReadObjectIdentifier();
            switch (oid)
            {
                case SignatureSchemes.RsaKeyOid:
                    var rsa = RSA.Create();
                    rsa.ImportPkcs8PrivateKey(copy, out _);
                    return new SignaturePrivateKey(SignatureKeyType.Rsa, rsa.KeySize, rsa, null);
                case "1.2.840.10045.2.1":
                    var ec = ECDsa.Create();
                    ec.ImportPkcs8PrivateKey(copy, out _);
                    return new SignaturePrivateKey(SignatureKeyType.Ecdsa, ec.KeySize, ec, null);
                case "1.3.101.112":
                case "1.3.101.113":
                    var ed448 = oid == "1.3.101.113";
                    // RFC 8410 §7: the privateKey OCTET STRING wraps a CurvePrivateKey OCTET STRING (the seed).
                    var seed = new AsnReader(info.ReadOctetString(), AsnEncodingRules.DER).ReadOctetString();
                    if (seed.Length != (ed448 ? 57 : 32))
                    {
                        CryptographicOperations.ZeroMemory(seed);
                        why = $"{(ed448 ? "Ed448" : "Ed25519")} private key of the wrong size";
                        return null;
                    }

                    return new SignaturePrivateKey(ed448 ? SignatureKeyType.Ed448 : SignatureKeyType.Ed25519, ed448 ? 456 : 256, null, seed);
                default:
                    why = $"private key algorithm {oid} is not supported (RSA, ECDSA, Ed25519 and Ed448 are)";
                    return null;
            }
        }
        // PlatformNotSupportedException: OpenSSL does not know the named curve (an OID a peer made up); found by the x509 fuzzer.
        catch (Exception e) when (e is AsnContentException or CryptographicException or PlatformNotSupportedException or NotSupportedException)
        {
            why = "malformed PKCS#8 private key";
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    /// <summary>The DER SubjectPublicKeyInfo of the matching public key.</summary>
    public byte[] ExportSubjectPublicKeyInfo()
    {
        if (_key is not null)
        {
            return _key.ExportSubjectPublicKeyInfo();
        }

        var ed448 = KeyType == SignatureKeyType.Ed448;
        var point = ed448 ? new byte[Ed448.PublicKeySize] : new byte[32];
        if (ed448)
        {
            Ed448.GeneratePublicKey(_seed!, 0, point, 0);
        }
        else
        {
            EdDsa.Public25519(_seed!, point);
        }

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(ed448 ? "1.3.101.113" : "1.3.101.112");
            }

            writer.WriteBitString(point);
        }

        return writer.Encode();
    }

    /// <summary>Signs <paramref name="data"/>; ECDSA as DER (RFC 7427) or r ‖ s (RFC 4754) by <paramref name="derEcdsa"/>.</summary>
    public byte[] Sign(SignatureScheme scheme, ReadOnlySpan<byte> data, bool derEcdsa = true)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        if (scheme.KeyType != KeyType)
        {
            throw new ArgumentException($"a {KeyType} key cannot sign with {scheme.Name}", nameof(scheme));
        }

        return KeyType switch
        {
            SignatureKeyType.Rsa => ((RSA)_key!).SignData(data, scheme.Hash, scheme.Pss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
            SignatureKeyType.Ecdsa => ((ECDsa)_key!).SignData(data, scheme.Hash,
                derEcdsa ? DSASignatureFormat.Rfc3279DerSequence : DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            SignatureKeyType.Ed25519 => EdDsa.Sign25519(_seed!, data),
            _ => SignEd448(data),
        };
    }

    private byte[] SignEd448(ReadOnlySpan<byte> data)
    {
        var signature = new byte[Ed448.SignatureSize];
        Ed448.Sign(_seed!, 0, [], data.ToArray(), 0, data.Length, signature, 0);
        return signature;
    }

    public void Dispose()
    {
        _key?.Dispose();
        if (_seed is not null)
        {
            CryptographicOperations.ZeroMemory(_seed);
        }
    }
}

/// <summary>Ed25519 through libsodium (<see cref="LibSodium"/>, the binding the X25519 exchange uses too).</summary>
internal static class EdDsa
{
    public static void Public25519(byte[] seed, byte[] point)
    {
        Span<byte> secret = stackalloc byte[64];
        Check(LibSodium.crypto_sign_ed25519_seed_keypair(ref MemoryMarshal.GetReference(point.AsSpan()), ref MemoryMarshal.GetReference(secret), in seed[0]));
        CryptographicOperations.ZeroMemory(secret);
    }

    public static byte[] Sign25519(byte[] seed, ReadOnlySpan<byte> data)
    {
        Span<byte> secret = stackalloc byte[64];
        Span<byte> point = stackalloc byte[32];
        var signature = new byte[64];
        try
        {
            Check(LibSodium.crypto_sign_ed25519_seed_keypair(ref MemoryMarshal.GetReference(point), ref MemoryMarshal.GetReference(secret), in seed[0]));
            Check(LibSodium.crypto_sign_ed25519_detached(ref signature[0], out _, in MemoryMarshal.GetReference(data), (ulong)data.Length, in MemoryMarshal.GetReference(secret)));
            return signature;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    public static bool Verify25519(ReadOnlySpan<byte> signature, ReadOnlySpan<byte> data, byte[] point) =>
        LibSodium.crypto_sign_ed25519_verify_detached(in MemoryMarshal.GetReference(signature), in MemoryMarshal.GetReference(data), (ulong)data.Length, in point[0]) == 0;

    private static void Check(int result)
    {
        if (result != 0)
        {
            throw new CryptographicException("libsodium Ed25519 operation failed");
        }
    }
}
