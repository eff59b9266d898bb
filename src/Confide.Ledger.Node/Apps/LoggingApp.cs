using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Confide.Ledger.Kv;
using Confide.Ledger.Merkle;
using Microsoft.AspNetCore.Http;

namespace Confide.Ledger.Node.Apps;

/// <summary>
/// CCF's logging sample: messages by id in a private map (<c>records</c>, encrypted in the ledger)
/// and a public one (<c>public:records</c>). <c>POST /log/private {"id": 42, "msg": "Hello"}</c>
/// answers <c>true</c>; <c>GET /log/private?id=42</c> answers <c>{"msg": "Hello"}</c>;
/// <c>DELETE /log/private?id=42</c>; the same on <c>/log/public</c> (where <c>"record_claim": true</c>
/// binds SHA-256(msg) into the receipt). <c>/log/blocking/{private,public}</c> answer on commit.
/// </summary>
public static class LoggingApp
{
    public const string PrivateMap = "records";
    public const string PublicMap = "public:records";

    public static LedgerApplication Create()
    {
        var app = new LedgerApplication();
        // As CCF's sample: users authenticate with a registered certificate or a JWT.
        const AuthenticationPolicy users = AuthenticationPolicy.UserCertificate | AuthenticationPolicy.Jwt;
        foreach ((string path, string map) in new[] { ("private", PrivateMap), ("public", PublicMap) })
        {
            app.MapReadWrite("POST", $"/log/{path}", request => Post(request, map), users);
            app.MapReadWrite("POST", $"/log/blocking/{path}", request => Post(request, map), users, respondOnCommit: true);
            app.MapReadOnly("GET", $"/log/{path}", request => Get(request, map), users);
            app.MapReadWrite("DELETE", $"/log/{path}", request => Delete(request, map), users);
            app.MapReadOnly("GET", $"/log/{path}/count", request => Count(request, map), users);
        }

        return app;
    }

    private static LedgerResponse Post(LedgerRequest request, string map)
    {
        if (request.JsonBody() is not JsonObject body || body["id"] is not JsonValue idValue || !idValue.TryGetValue(out ulong id))
        {
            return LedgerResponse.Error(StatusCodes.Status400BadRequest, "InvalidInput", "The body must be a JSON object {\"id\": <unsigned integer>, \"msg\": <string>}.");
        }

        if (body["msg"] is not JsonValue msgValue || !msgValue.TryGetValue(out string? message))
        {
            return LedgerResponse.Error(StatusCodes.Status400BadRequest, "InvalidInput", "\"msg\" must be a string.");
        }

        request.Tx.GetMap(map).Put(Key(id), Encoding.UTF8.GetBytes(message));
        if (map == PublicMap && body["record_claim"] is JsonValue claim && claim.TryGetValue(out bool recordClaim) && recordClaim)
        {
            request.ClaimsDigest = Sha256Hash.Compute(Encoding.UTF8.GetBytes(message));
        }

        return LedgerResponse.Ok(true);
    }

    private static LedgerResponse Get(LedgerRequest request, string map)
    {
        if (!TryId(request, out ulong id, out LedgerResponse? error))
        {
            return error;
        }

        return request.Tx.GetMap(map).Get(Key(id)) is { } value
            ? LedgerResponse.Ok(new JsonObject { ["msg"] = Encoding.UTF8.GetString(value) })
            : LedgerResponse.Error(StatusCodes.Status404NotFound, "ResourceNotFound", $"No such record: {id}.");
    }

    private static LedgerResponse Delete(LedgerRequest request, string map)
    {
        if (!TryId(request, out ulong id, out LedgerResponse? error))
        {
            return error;
        }

        request.Tx.GetMap(map).Remove(Key(id));
        return LedgerResponse.Ok(true);
    }

    private static LedgerResponse Count(LedgerRequest request, string map)
    {
        int count = 0;
        request.Tx.GetMap(map).ForEach((_, _) =>
        {
            count++;
            return true;
        });
        return LedgerResponse.Ok(count);
    }

    private static bool TryId(LedgerRequest request, out ulong id, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out LedgerResponse? error)
    {
        if (ulong.TryParse(request.Query["id"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out id))
        {
            error = null;
            return true;
        }

        error = LedgerResponse.Error(StatusCodes.Status400BadRequest, "InvalidQueryParameterValue", "The query parameter 'id' must be an unsigned integer.");
        return false;
    }

    /// <summary>Keys are the id as 8 little-endian bytes.</summary>
    private static byte[] Key(ulong id)
    {
        byte[] key = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(key, id);
        return key;
    }
}
