using System.Formats.Asn1;
using System.Security.Cryptography;

namespace Oakley.Crypto.Signature;

/// <summary>The kinds of public key a signature scheme signs with.</summary>
public enum SignatureKeyType
{
    Rsa,
    Ecdsa,
    Ed25519,
    Ed448,
}

/// <summary>
/// One signature scheme of RFC 7427 (AUTH method 14): the key type, the hash (none for EdDSA, which hashes
/// internally: RFC 8420's "Identity" hash), RSA padding, and the DER AlgorithmIdentifier that names it in the AUTH
/// payload. Names follow the wording, e.g. <c>rsa-pss-sha256</c>, <c>ecdsa-sha384</c>, <c>ed25519</c>.
/// </summary>
public sealed class SignatureScheme
{
    internal SignatureScheme(string name, SignatureKeyType keyType, HashAlgorithmName hash, SignatureHash hashId, bool pss, string oid, string? hashOid, byte[] algorithmIdentifier)
    {
        Name = name;
        Oid = oid;
        HashOid = hashOid;
        KeyType = keyType;
        Hash = hash;
        HashId = hashId;
        Pss = pss;
        AlgorithmIdentifier = algorithmIdentifier;
    }

    public string Name { get; }

    public SignatureKeyType KeyType { get; }

    /// <summary>The hash the signature is computed over; default (no name) for EdDSA.</summary>
    public HashAlgorithmName Hash { get; }

    /// <summary>The RFC 7427 §7 hash algorithm number this scheme needs the peer to accept.</summary>
    public SignatureHash HashId { get; }

    /// <summary>RSASSA-PSS (salt length equal to the hash length, MGF1 with the same hash) instead of PKCS#1 v1.5.</summary>
    public bool Pss { get; }

    /// <summary>The algorithm's OID (for PSS, id-RSASSA-PSS: the hash is in <see cref="HashOid"/>).</summary>
    internal string Oid { get; }

    /// <summary>The hash's OID in the PSS parameters; null for the other schemes, whose OID names the hash.</summary>
    internal string? HashOid { get; }

    /// <summary>The DER AlgorithmIdentifier sent in a method-14 AUTH payload.</summary>
    public ReadOnlyMemory<byte> AlgorithmIdentifier { get; }

    public override string ToString() => Name;
}

/// <summary>RFC 7427 §7 / IANA "IKEv2 Hash Algorithms", as carried in SIGNATURE_HASH_ALGORITHMS.</summary>
public enum SignatureHash : ushort
{
    Sha1 = 1,
    Sha256 = 2,
    Sha384 = 3,
    Sha512 = 4,
    Identity = 5, // RFC 8420: EdDSA signs the data itself
}

/// <summary>The schemes Oakley signs and verifies, and the decoding of a received AlgorithmIdentifier.</summary>
public static class SignatureSchemes
{
    private const string RsaEncryption = "1.2.840.113549.1.1.1";
    private const string RsaPss = "1.2.840.113549.1.1.10";
    private const string Mgf1 = "1.2.840.113549.1.1.8";

    public static readonly SignatureScheme RsaPkcs1Sha1 = Rsa("rsa-pkcs1-sha1", "1.2.840.113549.1.1.5", HashAlgorithmName.SHA1, SignatureHash.Sha1);
    public static readonly SignatureScheme RsaPkcs1Sha256 = Rsa("rsa-pkcs1-sha256", "1.2.840.113549.1.1.11", HashAlgorithmName.SHA256, SignatureHash.Sha256);
    public static readonly SignatureScheme RsaPkcs1Sha384 = Rsa("rsa-pkcs1-sha384", "1.2.840.113549.1.1.12", HashAlgorithmName.SHA384, SignatureHash.Sha384);
    public static readonly SignatureScheme RsaPkcs1Sha512 = Rsa("rsa-pkcs1-sha512", "1.2.840.113549.1.1.13", HashAlgorithmName.SHA512, SignatureHash.Sha512);
    public static readonly SignatureScheme RsaPssSha256 = Pss("rsa-pss-sha256", HashAlgorithmName.SHA256, SignatureHash.Sha256, "2.16.840.1.101.3.4.2.1", 32);
    public static readonly SignatureScheme RsaPssSha384 = Pss("rsa-pss-sha384", HashAlgorithmName.SHA384, SignatureHash.Sha384, "2.16.840.1.101.3.4.2.2", 48);
    public static readonly SignatureScheme RsaPssSha512 = Pss("rsa-pss-sha512", HashAlgorithmName.SHA512, SignatureHash.Sha512, "2.16.840.1.101.3.4.2.3", 64);
    public static readonly SignatureScheme EcdsaSha256 = Ecdsa("ecdsa-sha256", "1.2.840.10045.4.3.2", HashAlgorithmName.SHA256, SignatureHash.Sha256);
    public static readonly SignatureScheme EcdsaSha384 = Ecdsa("ecdsa-sha384", "1.2.840.10045.4.3.3", HashAlgorithmName.SHA384, SignatureHash.Sha384);
    public static readonly SignatureScheme EcdsaSha512 = Ecdsa("ecdsa-sha512", "1.2.840.10045.4.3.4", HashAlgorithmName.SHA512, SignatureHash.Sha512);
    public static readonly SignatureScheme Ed25519 = Eddsa("ed25519", "1.3.101.112", SignatureKeyType.Ed25519);
    public static readonly SignatureScheme Ed448 = Eddsa("ed448", "1.3.101.113", SignatureKeyType.Ed448);

    /// <summary>Every scheme, strongest-preferred within each key type; SHA-1 last and only when configured.</summary>
    public static IReadOnlyList<SignatureScheme> All { get; } =
    [
        RsaPssSha256, RsaPssSha384, RsaPssSha512, RsaPkcs1Sha256, RsaPkcs1Sha384, RsaPkcs1Sha512,
        EcdsaSha256, EcdsaSha384, EcdsaSha512, Ed25519, Ed448, RsaPkcs1Sha1,
    ];

    /// <summary>What a connection accepts unless configured otherwise: every scheme but SHA-1 (RFC 8247 §3.3).</summary>
    public static IReadOnlyList<SignatureScheme> Default { get; } = [.. All.Where(s => s.HashId != SignatureHash.Sha1)];

    public static SignatureScheme? Find(string name) => All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The scheme a received DER AlgorithmIdentifier names, or null with <paramref name="why"/> saying what it is.
    /// RSASSA-PSS parameters are read, not compared as bytes: absent NULLs in the hash identifiers are accepted, the
    /// MGF1 hash must equal the message hash and the salt must be the hash length (the only PSS variant we sign with).
    /// </summary>
    public static SignatureScheme? FromAlgorithmIdentifier(ReadOnlySpan<byte> der, out string why)
    {
        why = "";
        try
        {
            var reader = new AsnReader(der.ToArray(), AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var oid = sequence.ReadObjectIdentifier();
            if (oid == RsaPss)
            {
                return ReadPss(sequence, out why);
            }

            var scheme = All.FirstOrDefault(s => !s.Pss && s.Oid == oid);
            if (scheme is null)
            {
                why = $"signature algorithm {oid} is not supported";
                return null;
            }

            // Only RSA identifiers carry parameters, and those only a NULL (RFC 4055 §5); ECDSA and EdDSA carry none.
            if (scheme.KeyType == SignatureKeyType.Rsa && sequence.HasData)
            {
                sequence.ReadNull();
            }

            sequence.ThrowIfNotEmpty();
            return scheme;
        }
        catch (AsnContentException)
        {
            why = "malformed AlgorithmIdentifier";
            return null;
        }
    }

    private static SignatureScheme? ReadPss(AsnReader sequence, out string why)
    {
        why = "";
        var parameters = sequence.ReadSequence();
        sequence.ThrowIfNotEmpty();
        string hash = "1.3.14.3.2.26", mgfHash = "1.3.14.3.2.26";
        var salt = 20;
        if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
        {
            hash = ReadHashIdentifier(parameters.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)));
        }

        if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1)))
        {
            var mgf = parameters.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1)).ReadSequence();
            if (mgf.ReadObjectIdentifier() != Mgf1)
            {
                why = "RSASSA-PSS with a mask generation function other than MGF1";
                return null;
            }

            mgfHash = ReadHashIdentifier(mgf);
        }

        if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 2)))
        {
            var explicitSalt = parameters.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 2));
            salt = explicitSalt.TryReadInt32(out var s) ? s : -1;
        }

        var scheme = All.FirstOrDefault(x => x.Pss && x.HashOid == hash);
        if (scheme is null || mgfHash != hash || salt != HashLength(scheme.Hash))
        {
            why = $"RSASSA-PSS with hash {hash}, MGF1 hash {mgfHash} and salt length {salt} is not supported (supported: SHA-256/384/512, the same MGF1 hash, salt = hash length)";
            return null;
        }

        return scheme;
    }

    private static string ReadHashIdentifier(AsnReader explicitTag)
    {
        var id = explicitTag.ReadSequence();
        return id.ReadObjectIdentifier();
    }

    internal static int HashLength(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA256 ? 32 : hash == HashAlgorithmName.SHA384 ? 48 : hash == HashAlgorithmName.SHA512 ? 64 : 20;

    private static SignatureScheme Rsa(string name, string oid, HashAlgorithmName hash, SignatureHash id)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            writer.WriteNull(); // RFC 7427 Appendix A.1: the RSA identifiers carry a NULL parameter
        }

        return new SignatureScheme(name, SignatureKeyType.Rsa, hash, id, false, oid, null, writer.Encode());
    }

    private static SignatureScheme Ecdsa(string name, string oid, HashAlgorithmName hash, SignatureHash id)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid); // RFC 5758 §3.2: no parameters
        }

        return new SignatureScheme(name, SignatureKeyType.Ecdsa, hash, id, false, oid, null, writer.Encode());
    }

    private static SignatureScheme Eddsa(string name, string oid, SignatureKeyType type)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid); // RFC 8410 §3: parameters absent
        }

        return new SignatureScheme(name, type, default, SignatureHash.Identity, false, oid, null, writer.Encode());
    }

    private static SignatureScheme Pss(string name, HashAlgorithmName hash, SignatureHash id, string hashOid, int salt)
    {
        // RFC 7427 Appendix A.4.3 / RFC 4055 §3.1: explicit hash, MGF1 with the same hash, salt = hash length.
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(RsaPss);
            using (writer.PushSequence())
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
                {
                    WriteHash(writer, hashOid);
                }

                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1)))
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(Mgf1);
                    WriteHash(writer, hashOid);
                }

                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2)))
                {
                    writer.WriteInteger(salt);
                }
            }
        }

        return new SignatureScheme(name, SignatureKeyType.Rsa, hash, id, true, RsaPss, hashOid, writer.Encode());
    }

    private static void WriteHash(AsnWriter writer, string oid)
    {
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            writer.WriteNull();
        }
    }

    internal const string RsaKeyOid = RsaEncryption;
}
