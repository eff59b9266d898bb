using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Confide.Tls.EndToEnd;

/// <summary>
/// The keys of one end-to-end session and the message format, shared by both sides.
/// <para>Keys: HKDF-SHA256 over the P-256 ECDH secret of the client's ephemeral key and the
/// server's attested key, salted with a fresh server random, bound to the session id and both
/// public keys: 32 bytes client→server, 32 bytes server→client (AES-256-GCM).</para>
/// <para>Message: <c>version (1) || sequence (u64 BE) || ciphertext || tag (16)</c>; the nonce is
/// <c>direction (4 bytes) || sequence</c>, so a nonce never repeats under a key (the sequence only
/// grows); the AAD is <c>session id || version || sequence || direction</c>. A response carries its
/// request's sequence number, under the other key.</para>
/// </summary>
public sealed class EndToEndSessionKeys : IDisposable
{
    public const byte Version = 1;
    public const int SessionIdSize = 16;
    public const int RandomSize = 32;
    public const int HeaderSize = 1 + 8;
    public const int TagSize = 16;

    private static readonly byte[] Label = "confide-e2e-v1"u8.ToArray();
    private static readonly byte[] ClientToServer = "C2S\0"u8.ToArray();
    private static readonly byte[] ServerToClient = "S2C\0"u8.ToArray();

    private readonly AesGcm _clientToServer;
    private readonly AesGcm _serverToClient;
    private readonly byte[] _confirmation;

    private EndToEndSessionKeys(byte[] sessionId, byte[] okm)
    {
        SessionId = sessionId;
        _clientToServer = new AesGcm(okm.AsSpan(0, 32), TagSize);
        _serverToClient = new AesGcm(okm.AsSpan(32, 32), TagSize);
        _confirmation = HMACSHA256.HashData(okm.AsSpan(32, 32), [.. Label, .. "confirm"u8, .. sessionId]);
        CryptographicOperations.ZeroMemory(okm);
    }

    public byte[] SessionId { get; }

    /// <summary>What the server sends to prove it derived the same keys (the client checks it before sending anything).</summary>
    public ReadOnlySpan<byte> Confirmation => _confirmation;

    /// <summary>Derives the session keys from a raw ECDH secret (which is then zeroed).</summary>
    public static EndToEndSessionKeys Derive(byte[] sharedSecret, byte[] sessionId, byte[] serverRandom, byte[] clientPublicKey, byte[] serverPublicKey)
    {
        byte[] info = [.. Label, .. sessionId, .. SHA256.HashData(clientPublicKey), .. SHA256.HashData(serverPublicKey)];
        byte[] okm = HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedSecret, 64, serverRandom, info);
        CryptographicOperations.ZeroMemory(sharedSecret);
        return new EndToEndSessionKeys(sessionId, okm);
    }

    public bool ConfirmationMatches(ReadOnlySpan<byte> confirmation) => CryptographicOperations.FixedTimeEquals(confirmation, _confirmation);

    public byte[] SealRequest(ulong sequence, ReadOnlySpan<byte> plaintext) => Seal(_clientToServer, ClientToServer, sequence, plaintext);

    public byte[] SealResponse(ulong sequence, ReadOnlySpan<byte> plaintext) => Seal(_serverToClient, ServerToClient, sequence, plaintext);

    public byte[] OpenRequest(ReadOnlySpan<byte> message, out ulong sequence) => Open(_clientToServer, ClientToServer, message, out sequence);

    public byte[] OpenResponse(ReadOnlySpan<byte> message, out ulong sequence) => Open(_serverToClient, ServerToClient, message, out sequence);

    /// <summary>The sequence number of a message, read before it is opened (to refuse replays cheaply).</summary>
    public static ulong PeekSequence(ReadOnlySpan<byte> message) =>
        message.Length >= HeaderSize + TagSize && message[0] == Version
            ? BinaryPrimitives.ReadUInt64BigEndian(message[1..])
            : throw new EndToEndException(EndToEndError.Malformed, $"An end-to-end message is version {Version} with a {HeaderSize}-byte header and a {TagSize}-byte tag.");

    private byte[] Seal(AesGcm key, byte[] direction, ulong sequence, ReadOnlySpan<byte> plaintext)
    {
        byte[] message = new byte[HeaderSize + plaintext.Length + TagSize];
        message[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(1), sequence);
        Span<byte> nonce = stackalloc byte[12];
        Nonce(direction, sequence, nonce);
        byte[] aad = Aad(direction, message.AsSpan(0, HeaderSize));
        lock (key)
        {
            key.Encrypt(nonce, plaintext, message.AsSpan(HeaderSize, plaintext.Length), message.AsSpan(HeaderSize + plaintext.Length), aad);
        }

        return message;
    }

    private byte[] Open(AesGcm key, byte[] direction, ReadOnlySpan<byte> message, out ulong sequence)
    {
        sequence = PeekSequence(message);
        Span<byte> nonce = stackalloc byte[12];
        Nonce(direction, sequence, nonce);
        byte[] plaintext = new byte[message.Length - HeaderSize - TagSize];
        try
        {
            lock (key)
            {
                key.Decrypt(nonce, message[HeaderSize..^TagSize], message[^TagSize..], plaintext, Aad(direction, message[..HeaderSize]));
            }
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new EndToEndException(EndToEndError.Tampered, "The message does not authenticate: it was altered, or sealed for another session.", ex);
        }

        return plaintext;
    }

    private static void Nonce(byte[] direction, ulong sequence, Span<byte> nonce)
    {
        direction.CopyTo(nonce);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], sequence);
    }

    private byte[] Aad(byte[] direction, ReadOnlySpan<byte> header) => [.. SessionId, .. header, .. direction];

    public void Dispose()
    {
        _clientToServer.Dispose();
        _serverToClient.Dispose();
    }
}
