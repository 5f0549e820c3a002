using System.Buffers.Binary;
using Oakley.Crypto;
using Oakley.Engine;
using Oakley.Engine.Eap;
using Oakley.Testing;

namespace Oakley.Fuzz;

/// <summary>
/// The EAP conversations a peer drives (issue 16): the first input byte picks the side (bit 7: our client, else our
/// server) and the method (MSCHAPv2, MD5, GTC, or the server's EAP-Identity and Nak handling with eap-dynamic); the rest
/// is a sequence of EAP messages, each with a 2-byte length, handed to <see cref="EapServer.Process"/> or
/// <see cref="EapPeer.Process"/>. Invariants: nothing throws, whatever arrives; a step to send carries bytes; a failure
/// says why; after a failure the conversation is over.
/// </summary>
internal static class EapTarget
{
    private static readonly Identity Carol = Identity.Parse("carol@example.org");
    private static readonly Identity Gateway = Identity.Parse("gw.example");
    private static readonly InMemorySecrets Secrets = new InMemorySecrets().AddEap(Carol, "carol's password"u8.ToArray());
    private static readonly EapType[] Methods = [EapType.MsChapV2, EapType.Md5, EapType.Gtc, EapType.MsChapV2];

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var client = (input[0] & 0x80) != 0;
        var pick = input[0] & 0x03;
        var round = new AuthConfig
        {
            Class = AuthClass.Eap,
            EapMethod = pick == 3 ? null : Methods[pick],
            EapDynamic = pick == 3,
            EapId = client ? Carol : Identity.Parse("%any"),
        };
        var entropy = new SeededEntropy(1); // fixed: the EAP identifiers repeat, so the fuzzer can learn them
        if (client)
        {
            using var peer = new EapPeer(round, Carol, Gateway, Secrets, entropy);
            Drive(input[1..], m => peer.Process(m));
        }
        else
        {
            using var server = new EapServer(round, Gateway, Carol, Secrets, entropy, requireMutual: false);
            if (Check(server.Start()))
            {
                Drive(input[1..], m => server.Process(m.ToArray()));
            }
        }
    }

    private delegate EapStep Step(ReadOnlySpan<byte> message);

    private static void Drive(ReadOnlySpan<byte> rest, Step step)
    {
        for (var n = 0; rest.Length >= 2 && n < 64; n++)
        {
            var length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(rest), rest.Length - 2);
            var message = rest.Slice(2, length);
            rest = rest[(2 + length)..];
            if (!Check(step(message)))
            {
                return;
            }
        }
    }

    /// <summary>Whether the conversation goes on after this step; throws if the step breaks the contract.</summary>
    private static bool Check(EapStep s) => s.Kind switch
    {
        EapStepKind.Send when s.Data is null => throw new InvalidOperationException("a step to send carries no bytes"),
        EapStepKind.Failure when string.IsNullOrEmpty(s.Error) => throw new InvalidOperationException("a failure must say why"),
        EapStepKind.Failure or EapStepKind.Success => false,
        _ => true,
    };
}
