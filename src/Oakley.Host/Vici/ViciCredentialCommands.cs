using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Config.Credentials;

namespace Oakley.Host.Vici;

/// <summary>
/// VICI's credential commands (strongSwan's vici README; charon's vici_cred.c). swanctl --load-creds (and --load-all)
/// asks get-keys and get-shared, sends every certificate file of x509/, x509ca/, x509crl/, pubkey/ … with load-cert,
/// every private key with load-key (decrypted and, for PKCS#12, unpacked by swanctl itself), every shared secret of
/// <c>secrets</c> with load-shared (its section name as the id), then unloads the key ids and secret ids it did not
/// load. The daemon keeps one store for both paths, so the keys and secrets of the daemon's own <c>--config</c> are
/// listed too and go when a swanctl.conf without them is loaded. Secrets and keys never appear in replies or logs.
/// </summary>
internal static class ViciCredentialCommands
{
    public static void Register(ViciCommands commands, IConfigStore store, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(commands);
        commands.Add("load-key", (request, _) => LoadKeyAsync(store, request, log));
        commands.Add("unload-key", (request, _) => UnloadKeyAsync(store, request));
        commands.Add("get-keys", (_, _) => Task.FromResult(new ViciSection().AddList("keys", store.Store.KeyIds)));
        commands.Add("load-shared", (request, _) => LoadSharedAsync(store, request, log));
        commands.Add("unload-shared", (request, _) => UnloadSharedAsync(store, request));
        commands.Add("get-shared", (_, _) => Task.FromResult(new ViciSection().AddList("keys", store.Store.SecretIds)));
        commands.Add("load-cert", (request, _) => ViciCertificateCommands.LoadAsync(store, request, log));
        commands.Add("flush-certs", (request, _) => Task.FromResult(ViciCertificateCommands.Flush(request)));
        commands.Add("clear-creds", async (_, _) =>
        {
            await store.ChangeAsync(s =>
            {
                s.ClearCredentials();
                return 0;
            }).ConfigureAwait(false);
            log.LogInformation("vici: cleared all certificates, private keys and shared secrets");
            return ViciCommands.Success();
        });
        // PKCS#11 is not built: a token's key cannot be loaded (swanctl sends this for secrets.token* sections).
        commands.Add("load-token", (_, _) => Task.FromResult(ViciCommands.Failure("loading private key from token failed: PKCS#11 tokens are not supported by Oakley")));
    }

    private static async Task<ViciSection> LoadKeyAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        if (request.Text("type") is not { } type)
        {
            return ViciCommands.Failure("key type missing");
        }

        if (type.ToLowerInvariant() is not ("any" or "rsa" or "ecdsa" or "ed25519" or "ed448"))
        {
            return ViciCommands.Failure($"invalid key type: {type}");
        }

        if (request.Value("data") is not { Length: > 0 } data)
        {
            return ViciCommands.Failure("key data missing");
        }

        var key = CredentialBlobs.PrivateKey(type, data, out var error);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(data);
        if (key is null)
        {
            return ViciCommands.Failure(error!);
        }

        var id = await store.ChangeAsync(s => s.AddKey(key, "vici")).ConfigureAwait(false);
        log.LogInformation("vici: loaded {Type} private key {Id}", key.KeyType.ToString().ToUpperInvariant(), id);
        return ViciCommands.Success().Add("id", id);
    }

    private static async Task<ViciSection> UnloadKeyAsync(IConfigStore store, ViciSection request)
    {
        if (request.Text("id") is not { } id)
        {
            return ViciCommands.Failure("key id missing");
        }

        return await store.ChangeAsync(s => s.RemoveKey(id)).ConfigureAwait(false) ? ViciCommands.Success() : ViciCommands.Failure("key not found");
    }

    private static async Task<ViciSection> LoadSharedAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        var id = request.Text("id");
        SharedSecretType? type = request.Text("type")?.ToLowerInvariant() switch
        {
            null => null,
            "ike" => SharedSecretType.Ike,
            "eap" => SharedSecretType.Eap,
            "xauth" => SharedSecretType.Xauth,
            "ntlm" => SharedSecretType.Ntlm,
            "ppk" => SharedSecretType.Ppk,
            _ => (SharedSecretType)(-1),
        };
        if (type is null)
        {
            return ViciCommands.Failure("shared key type missing");
        }

        if (!Enum.IsDefined(type.Value))
        {
            return ViciCommands.Failure($"invalid shared key type: {request.Text("type")}");
        }

        try
        {
            var secret = SwanctlStore.SharedSecret(id, type.Value, request.Value("data") ?? [], request.TextList("owners"), new SourceLocation($"secrets.{id ?? "(no id)"}.secret", 0, 0));
            await store.ChangeAsync(s =>
            {
                s.SetSecret(id, secret);
                return 0;
            }).ConfigureAwait(false);
            log.LogInformation("vici: loaded {Type} shared key '{Id}' for {Owners}", type.Value.ToString().ToUpperInvariant(), id, secret.Owners.Count == 0 ? "%any" : string.Join(", ", secret.Owners));
            return ViciCommands.Success();
        }
        catch (ConfigException e)
        {
            return ViciCommands.Failure(ViciSettings.Describe(e));
        }
    }

    private static async Task<ViciSection> UnloadSharedAsync(IConfigStore store, ViciSection request)
    {
        if (request.Text("id") is not { } id)
        {
            return ViciCommands.Failure("unique identifier missing");
        }

        // charon answers success for an id it does not hold, too.
        if (store.Store.SecretIds.Contains(id, StringComparer.Ordinal))
        {
            await store.ChangeAsync(s => s.RemoveSecret(id)).ConfigureAwait(false);
        }

        return ViciCommands.Success();
    }
}
