namespace Oakley.Host.Metrics;

/// <summary>
/// Sorts the engine's failure messages (its alerts, the reason an initiation ended, a refused CHILD SA) into a small
/// fixed set of reasons for the <c>oakley_ike_failures_total</c> label: the messages name certificates, identities
/// and addresses, which must not become label values (every distinct value is a series). The phrases matched are the
/// engine's own (Certificate, PathValidator, Revocation, PublicKeyCredentials, the IKE_AUTH and CHILD tasks); a
/// message none of them matches is "other", and the log line still has the whole text.
/// </summary>
public static class FailureReasons
{
    public const string AuthenticationFailed = "authentication_failed";
    public const string NoProposalChosen = "no_proposal_chosen";
    public const string TsUnacceptable = "ts_unacceptable";
    public const string InvalidKe = "invalid_ke_payload";
    public const string CertExpired = "cert_expired";
    public const string CertNotYetValid = "cert_not_yet_valid";
    public const string CertUntrusted = "cert_untrusted";
    public const string CertRevoked = "cert_revoked";
    public const string CertRevocationUnknown = "cert_revocation_unknown";
    public const string IdentityMismatch = "identity_mismatch";
    public const string MissingCredentials = "missing_credentials";
    public const string EapFailed = "eap_failed";
    public const string Timeout = "timeout";
    public const string Other = "other";

    /// <summary>Every reason, for documentation and tests.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        AuthenticationFailed, NoProposalChosen, TsUnacceptable, InvalidKe, CertExpired, CertNotYetValid, CertUntrusted, CertRevoked,
        CertRevocationUnknown, IdentityMismatch, MissingCredentials, EapFailed, Timeout, Other,
    ];

    // In order: the first phrase found decides (a certificate reason beats the AUTHENTICATION_FAILED it leads to).
    private static readonly (string Phrase, string Reason)[] Phrases =
    [
        (" revoked on ", CertRevoked),
        ("revocation status", CertRevocationUnknown),
        (" expired on ", CertExpired),
        ("is not valid before", CertNotYetValid),
        ("no trusted path", CertUntrusted),
        ("is not one of remote.certs", CertUntrusted),
        ("does not contain a ca of remote.cacerts", CertUntrusted),
        ("is not a ca (", CertUntrusted),
        ("may not sign certificates", CertUntrusted),
        ("(pathlen)", CertUntrusted),
        ("signature of certificate", CertUntrusted),
        ("not confirmed by certificate", IdentityMismatch),
        ("does not match the configured", IdentityMismatch),
        ("no shared key found", MissingCredentials),
        ("no private key found", MissingCredentials),
        ("sent no certificate", MissingCredentials),
        ("no public key for", MissingCredentials),
        ("eap", EapFailed),
        ("authenticationfailed", AuthenticationFailed),
        ("did not verify", AuthenticationFailed),
        ("authentication failed", AuthenticationFailed),
        ("noproposalchosen", NoProposalChosen),
        ("no acceptable", NoProposalChosen),
        ("a proposal we did not offer", NoProposalChosen),
        ("tsunacceptable", TsUnacceptable),
        ("traffic selectors unacceptable", TsUnacceptable),
        ("invalidkepayload", InvalidKe),
        ("unacceptable key exchange method", InvalidKe),
        ("giving up after", Timeout),
        ("half-open", Timeout),
    ];

    /// <summary>The reason of one failure message.</summary>
    public static string Classify(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return Other;
        }

        // Notify names appear as the enum's (NoProposalChosen) or IANA's (NO_PROPOSAL_CHOSEN) spelling.
        var text = message.ToLowerInvariant();
        var compact = text.Replace("_", string.Empty, StringComparison.Ordinal);
        foreach (var (phrase, reason) in Phrases)
        {
            if (text.Contains(phrase, StringComparison.Ordinal) || compact.Contains(phrase, StringComparison.Ordinal))
            {
                return reason;
            }
        }

        return Other;
    }
}
