using System.Globalization;
using Oakley.Crypto.KeyDerivation;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Host;

/// <summary>
/// The opt-in Wireshark keylog (<c>--keylog DIR</c>): appends to <c>DIR/ikev2_decryption_table</c> and
/// <c>DIR/esp_sa</c>, the two decryption tables Wireshark reads from a profile directory. This is the only
/// place where SK_* and ESP keys leave the process; nothing else ever logs them.
/// </summary>
public sealed class KeylogWriter(string directory)
{
    private readonly Lock _lock = new();

    public string Directory { get; } = directory;

    public void WriteIke(IkeSa sa, Ikev2KeyMaterial keys)
    {
        ArgumentNullException.ThrowIfNull(sa);
        ArgumentNullException.ThrowIfNull(keys);
        var suite = sa.Suite;
        if (suite is null)
        {
            return;
        }

        var line = string.Join(",",
            sa.SpiI.ToString("x16", CultureInfo.InvariantCulture), sa.SpiR.ToString("x16", CultureInfo.InvariantCulture),
            Convert.ToHexStringLower(keys.SK_ei), Convert.ToHexStringLower(keys.SK_er), Quote(IkeEncryptionName(suite.Encryption.Id, suite.Encryption.KeyLengthBits)),
            Convert.ToHexStringLower(keys.SK_ai), Convert.ToHexStringLower(keys.SK_ar), Quote(IkeIntegrityName(suite.Integrity?.Id ?? IntegId.None)));
        Append("ikev2_decryption_table", line);
    }

    public void WriteEsp(ChildSaInstall c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var family = c.Local.Address.GetAddressBytes().Length == 4 ? "IPv4" : "IPv6";
        var encr = EspEncryptionName(c.Encryption);
        var integ = EspIntegrityName(c.Integrity);
        Append("esp_sa", string.Join(",", Quote(family), Quote(c.Remote.Address.ToString()), Quote(c.Local.Address.ToString()),
            Quote($"0x{c.InboundSpi:x8}"), Quote(encr), Quote("0x" + Convert.ToHexStringLower(c.InboundEncryptionKey)), Quote(integ),
            Quote(c.InboundIntegrityKey.Length == 0 ? string.Empty : "0x" + Convert.ToHexStringLower(c.InboundIntegrityKey))));
        Append("esp_sa", string.Join(",", Quote(family), Quote(c.Local.Address.ToString()), Quote(c.Remote.Address.ToString()),
            Quote($"0x{c.OutboundSpi:x8}"), Quote(encr), Quote("0x" + Convert.ToHexStringLower(c.OutboundEncryptionKey)), Quote(integ),
            Quote(c.OutboundIntegrityKey.Length == 0 ? string.Empty : "0x" + Convert.ToHexStringLower(c.OutboundIntegrityKey))));
    }

    /// <summary>Called when a line cannot be written (the first failure after a success): the SA goes on regardless.</summary>
    public Action<string>? Failed { get; set; }

    private bool _failing;

    /// <summary>At start: the directory and both tables can be written; throws <see cref="StartupException"/>.</summary>
    public static void Check(string directory)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            foreach (var file in new[] { "ikev2_decryption_table", "esp_sa" })
            {
                File.AppendAllText(Path.Combine(directory, file), "");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"--keylog {directory}: {e.Message}", e);
        }
    }

    private void Append(string file, string line)
    {
        lock (_lock)
        {
            try
            {
                System.IO.Directory.CreateDirectory(Directory);
                File.AppendAllText(Path.Combine(Directory, file), line + "\n");
                _failing = false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Never into the engine: a full disk must not break the negotiation that is being logged.
                if (!_failing)
                {
                    _failing = true;
                    Failed?.Invoke(e.Message);
                }
            }
        }
    }

    private static string Quote(string s) => "\"" + s + "\"";

    // The names Wireshark's IKEv2 and ESP decryption tables use.
    internal static string IkeEncryptionName(EncrId id, int bits) => id switch
    {
        EncrId.TripleDes => "3DES [RFC2451]",
        EncrId.AesCbc => $"AES-CBC-{bits} [RFC3602]",
        EncrId.AesCtr => $"AES-CTR-{bits} [RFC5930]",
        EncrId.AesGcm8 => $"AES-GCM-{bits} with 8 octet ICV [RFC5282]",
        EncrId.AesGcm12 => $"AES-GCM-{bits} with 12 octet ICV [RFC5282]",
        EncrId.AesGcm16 => $"AES-GCM-{bits} with 16 octet ICV [RFC5282]",
        EncrId.AesCcm8 => $"AES-CCM-{bits} with 8 octet ICV [RFC5282]",
        EncrId.AesCcm12 => $"AES-CCM-{bits} with 12 octet ICV [RFC5282]",
        EncrId.AesCcm16 => $"AES-CCM-{bits} with 16 octet ICV [RFC5282]",
        EncrId.Null => "NULL [RFC2410]",
        _ => id.ToString(),
    };

    internal static string IkeIntegrityName(IntegId id) => id switch
    {
        IntegId.None => "NONE [RFC4306]",
        IntegId.HmacMd5_96 => "HMAC_MD5_96 [RFC2403]",
        IntegId.HmacSha1_96 => "HMAC_SHA1_96 [RFC2404]",
        IntegId.HmacSha2_256_128 => "HMAC_SHA2_256_128 [RFC4868]",
        IntegId.HmacSha2_384_192 => "HMAC_SHA2_384_192 [RFC4868]",
        IntegId.HmacSha2_512_256 => "HMAC_SHA2_512_256 [RFC4868]",
        _ => id.ToString(),
    };

    internal static string EspEncryptionName(EncrId id) => id switch
    {
        EncrId.Null => "NULL",
        EncrId.TripleDes => "TripleDES-CBC [RFC2451]",
        EncrId.AesCbc => "AES-CBC [RFC3602]",
        EncrId.AesCtr => "AES-CTR [RFC3686]",
        EncrId.AesGcm8 => "AES-GCM with 8 octet ICV [RFC4106]",
        EncrId.AesGcm12 => "AES-GCM with 12 octet ICV [RFC4106]",
        EncrId.AesGcm16 => "AES-GCM with 16 octet ICV [RFC4106]",
        EncrId.ChaCha20Poly1305 => "ChaCha20 with Poly1305 [RFC7634]",
        _ => id.ToString(),
    };

    internal static string EspIntegrityName(IntegId id) => id switch
    {
        IntegId.None => "NULL",
        IntegId.HmacSha1_96 => "HMAC-SHA-1-96 [RFC2404]",
        IntegId.HmacSha2_256_128 => "HMAC-SHA-256-128 [RFC4868]",
        IntegId.HmacSha2_384_192 => "HMAC-SHA-384-192 [RFC4868]",
        IntegId.HmacSha2_512_256 => "HMAC-SHA-512-256 [RFC4868]",
        IntegId.HmacMd5_96 => "HMAC-MD5-96 [RFC2403]",
        _ => id.ToString(),
    };
}
