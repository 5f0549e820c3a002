using Oakley.Engine;
using Oakley.Engine.Certificates;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Isakmp;
using SharpFuzz;

namespace Oakley.Fuzz;

/// <summary>
/// SharpFuzz targets for the wire codecs (see fuzz/README.md). Invariants, stronger than "no crash":
/// <list type="bullet">
/// <item>only <see cref="IkeProtocolException"/> may escape a decoder, whatever the input;</item>
/// <item>anything accepted re-encodes, and decoding that encoding gives the same bytes again.</item>
/// </list>
/// Any other exception, or a violated invariant, crashes the process so that the fuzzer records the input.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var target = args.Length > 0 ? args[0] : string.Empty;
        switch (target)
        {
            case "ikev2":
                Fuzzer.LibFuzzer.Run(Ikev2);
                return 0;
            case "isakmp":
                Fuzzer.LibFuzzer.Run(Isakmp);
                return 0;
            case "x509":
                Fuzzer.LibFuzzer.Run(X509);
                return 0;
            case "eap":
                Fuzzer.LibFuzzer.Run(EapTarget.Run);
                return 0;
            case "eap-afl":
                Fuzzer.OutOfProcess.Run(stream => EapTarget.Run(ReadAll(stream)));
                return 0;
            case "x509-afl":
                Fuzzer.OutOfProcess.Run(stream => X509(ReadAll(stream)));
                return 0;
            case "ikev2-afl":
                Fuzzer.OutOfProcess.Run(stream => Ikev2(ReadAll(stream)));
                return 0;
            case "isakmp-afl":
                Fuzzer.OutOfProcess.Run(stream => Isakmp(ReadAll(stream)));
                return 0;
            case "replay" when args.Length > 2:
                // Replays one input without instrumentation: oakley-fuzz replay ikev2|isakmp FILE
                var data = File.ReadAllBytes(args[2]);
                try
                {
                    var payloads = args[1] == "ikev2" ? IkeMessage.Decode(data).Payloads.Count : IsakmpMessage.Decode(data).Payloads.Count;
                    Console.WriteLine($"accepted: {payloads} payload(s)");
                }
                catch (IkeProtocolException e)
                {
                    Console.WriteLine($"rejected: {e}");
                }

                if (args[1] == "ikev2")
                {
                    Ikev2(data);
                }
                else
                {
                    Isakmp(data);
                }

                return 0;
            default:
                Console.Error.WriteLine("usage: Oakley.Fuzz ikev2|isakmp|x509|eap|ikev2-afl|isakmp-afl|x509-afl|eap-afl | replay ikev2|isakmp FILE");
                return 2;
        }
    }

    public static void Ikev2(ReadOnlySpan<byte> input)
    {
        byte[] first;
        try
        {
            first = IkeMessage.Decode(input.ToArray()).Encode();
        }
        catch (IkeProtocolException)
        {
            return;
        }

        var second = IkeMessage.Decode(first).Encode();
        if (!first.AsSpan().SequenceEqual(second))
        {
            throw new InvalidOperationException("IKEv2 re-encoding is not stable");
        }
    }

    public static void Isakmp(ReadOnlySpan<byte> input)
    {
        byte[] first;
        try
        {
            first = IsakmpMessage.Decode(input.ToArray()).Encode();
        }
        catch (IkeProtocolException)
        {
            return;
        }

        var second = IsakmpMessage.Decode(first).Encode();
        if (!first.AsSpan().SequenceEqual(second))
        {
            throw new InvalidOperationException("ISAKMP re-encoding is not stable");
        }
    }

    /// <summary>
    /// A certificate as it arrives in a CERT payload (issue 15): parsing returns a certificate or an error, never
    /// throws; an accepted certificate keeps its bytes, parses again to the same certificate, and everything the
    /// engine does with a peer's certificate (names, identities, usage, path building) works on it without throwing.
    /// </summary>
    public static void X509(ReadOnlySpan<byte> input)
    {
        var cert = Certificate.Parse(input, out var error);
        if (cert is null)
        {
            if (error.Length == 0)
            {
                throw new InvalidOperationException("a refused certificate must say why");
            }

            return;
        }

        if (!cert.Der.AsSpan().SequenceEqual(input) || Certificate.Parse(cert.Der, out _)?.Fingerprint != cert.Fingerprint)
        {
            throw new InvalidOperationException("an accepted certificate does not parse back to itself");
        }

        _ = cert.SubjectText + cert.IssuerText + cert.DescribeAltNames() + cert.CheckValidity(DateTimeOffset.UnixEpoch);
        _ = CertificateIdentity.Confirms(cert, Identity.OfSubject(cert)) && Identity.OfSubject(cert).ToString().Length >= 0;
        _ = PathValidator.Validate(cert, [cert], new CertificateStore([cert], []), DateTimeOffset.UnixEpoch.AddYears(56)).Error;
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return ms.ToArray();
    }
}
