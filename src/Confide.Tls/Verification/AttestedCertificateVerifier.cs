using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.AttestationService.Client;
using Confide.Tls.Certificates;
using Confide.Tls.Evidence;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Tls.Verification;

/// <summary>
/// Verifies a TLS peer's attested certificate against an <see cref="AttestedTlsPolicy"/>: the
/// certificate is within its validity and self-signed by its own key (or, when the policy names
/// trusted issuers, issued by one of them); its evidence (DICE tagged evidence, an Open Enclave
/// report, a legacy raw quote, or an attestation token) verifies, with the policy's collateral or
/// the collateral the certificate carries; the evidence binds the certificate's key; and the
/// enclave is the one the policy names. A verified certificate is remembered until it, its token or
/// its collateral expires, so later handshakes cost a lookup — and a check of
/// <see cref="AttestedTlsPolicy.AllowedUniqueIds"/>, which may have changed since.
/// </summary>
public sealed class AttestedCertificateVerifier
{
    private const int MaxCacheEntries = 4096;

    private static readonly string[] RawQuoteOids = [AttestedTlsOids.OpenEnclaveLegacyQuote, AttestedTlsOids.IntelLegacyQuote, AttestedTlsOids.GramineLegacyQuote];

    private readonly AttestedTlsPolicy _policy;
    private readonly QuoteVerifier _quotes;
    private readonly ConcurrentDictionary<string, AttestedPeer> _verified = new(StringComparer.Ordinal);

    /// <exception cref="InvalidOperationException">The policy names no enclave.</exception>
    public AttestedCertificateVerifier(AttestedTlsPolicy policy)
    {
        policy.Validate();
        _policy = policy;
        _quotes = new QuoteVerifier(policy.Verifier);
    }

    public AttestedTlsPolicy Policy => _policy;

    private DateTimeOffset Now => _policy.Verifier.TimeProvider.GetUtcNow();

    /// <summary>The verified peer behind <paramref name="certificate"/>.</summary>
    /// <exception cref="AttestedTlsException">Refused, with the reason (also logged).</exception>
    public async Task<AttestedPeer> VerifyAsync(X509Certificate2 certificate, CancellationToken cancellationToken = default)
    {
        string key = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        try
        {
            if (_verified.TryGetValue(key, out AttestedPeer? known) && known.ValidUntil > Now)
            {
                // The allowed ids may have shrunk since this certificate was verified.
                CheckAllowed(known);
                return known;
            }

            AttestedPeer peer = await VerifyUncachedAsync(certificate, cancellationToken).ConfigureAwait(false);
            Remember(key, peer);
            return peer;
        }
        catch (AttestedTlsException ex)
        {
            _policy.Logger?.LogWarning("Attested TLS peer refused ({Error}): {Reason} (certificate {Subject}, SHA-256 {Thumbprint})", ex.Error, ex.Message, certificate.Subject, key);
            throw;
        }
    }

    /// <summary>The peer of a certificate this verifier has already accepted, if still valid (and its unique id still allowed).</summary>
    public bool TryGetVerified(X509Certificate2 certificate, out AttestedPeer? peer)
    {
        peer = _verified.TryGetValue(Convert.ToHexString(SHA256.HashData(certificate.RawData)), out AttestedPeer? known) && known.ValidUntil > Now && IsAllowed(known) ? known : null;
        return peer is not null;
    }

    /// <summary>The peers verified and not yet expired (e.g. to find the token that vouches for another key of a peer).</summary>
    public IEnumerable<AttestedPeer> VerifiedPeers => _verified.Values.Where(p => p.ValidUntil > Now && IsAllowed(p));

    /// <summary>
    /// True when a verified token-mode peer lists <paramref name="publicKey"/> among its
    /// <c>x-ms-runtime.keys</c>: the same attested enclave holds that RSA key too.
    /// </summary>
    public bool IsKeyOfVerifiedPeer(RSAParameters publicKey)
    {
        string n = Base64UrlEncoder.Encode(publicKey.Modulus), e = Base64UrlEncoder.Encode(publicKey.Exponent);
        return VerifiedPeers.Any(peer => peer.TokenClaims is { } claims && RuntimeKeys(claims).Any(k =>
            k.TryGetProperty("kty", out JsonElement kty) && kty.GetString() == "RSA"
            && k.TryGetProperty("n", out JsonElement kn) && kn.GetString() == n
            && k.TryGetProperty("e", out JsonElement ke) && ke.GetString() == e));
    }

    /// <summary>Forgets every verified certificate (e.g. after a policy change or a TCB recovery).</summary>
    public void ClearCache() => _verified.Clear();

    private async Task<AttestedPeer> VerifyUncachedAsync(X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        CheckSignedAndValid(certificate);
        byte[] spki = PublicKeyBinding.SubjectPublicKeyInfo(certificate);
        DateTimeOffset notAfter = new(certificate.NotAfter.ToUniversalTime());

        // The policy's own collateral source wins; the certificate's copy is read only without one.
        byte[]? collateral = _policy.Collateral is null ? Extension(certificate, AttestedTlsOids.Collateral, _policy.MaxCollateralBytes) : null;

        AttestedPeer peer;
        if (Extension(certificate, AttestedTlsOids.DiceTaggedEvidence) is { } dice)
        {
            peer = await VerifyDiceAsync(spki, dice, collateral, notAfter, cancellationToken).ConfigureAwait(false);
        }
        else if (Extension(certificate, AttestedTlsOids.OpenEnclaveReport) is { } report)
        {
            if (!OpenEnclaveReport.TryUnwrap(report, out ReadOnlySpan<byte> quote))
            {
                throw new AttestedTlsException(AttestedTlsError.MalformedEvidence, "The Open Enclave extension is not a remote report (16-byte header, version 1, type 2, then the quote).");
            }

            peer = await VerifyQuoteAsync(quote.ToArray(), AttestedCertificateKind.OpenEnclaveReport, reportData => PublicKeyBinding.IsBound(reportData, spki), collateral, notAfter, cancellationToken).ConfigureAwait(false);
        }
        else if (RawQuoteOids.Select(oid => Extension(certificate, oid)).FirstOrDefault(value => value is not null) is { } raw)
        {
            byte[] quote = OpenEnclaveReport.TryUnwrap(raw, out ReadOnlySpan<byte> inner) ? inner.ToArray() : raw;
            peer = await VerifyQuoteAsync(quote, AttestedCertificateKind.LegacyQuote, reportData => PublicKeyBinding.IsBound(reportData, spki), collateral, notAfter, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new AttestedTlsException(AttestedTlsError.NoEvidence, "The certificate carries no attestation evidence (none of the DICE, Open Enclave, Intel or Gramine extensions).");
        }

        CheckIdentity(peer);
        return peer;
    }

    /// <summary>
    /// Verifies a bare public key (no certificate) with its evidence in the DICE extension's
    /// encodings — tagged evidence whose <c>pubkey-hash</c> is the key's, or a token record listing
    /// it — against this verifier's policy. For keys an enclave publishes besides its TLS key
    /// (end-to-end encryption). Cached like certificates, for at most <paramref name="validFor"/>.
    /// </summary>
    /// <exception cref="AttestedTlsException">Refused, with the reason.</exception>
    public async Task<AttestedPeer> VerifyKeyAsync(byte[] subjectPublicKeyInfo, byte[] evidence, TimeSpan validFor, CancellationToken cancellationToken = default)
    {
        if (evidence.Length > _policy.MaxEvidenceBytes)
        {
            throw new AttestedTlsException(AttestedTlsError.EvidenceTooLarge, $"The key's evidence is {evidence.Length} bytes; at most {_policy.MaxEvidenceBytes} are accepted.");
        }

        string key = "key:" + Convert.ToHexString(SHA256.HashData([.. subjectPublicKeyInfo, .. evidence]));
        try
        {
            if (_verified.TryGetValue(key, out AttestedPeer? known) && known.ValidUntil > Now)
            {
                CheckAllowed(known);
                return known;
            }

            AttestedPeer peer = await VerifyDiceAsync(subjectPublicKeyInfo, evidence, carriedCollateral: null, Now + validFor, cancellationToken).ConfigureAwait(false);
            CheckIdentity(peer);
            Remember(key, peer);
            return peer;
        }
        catch (AttestedTlsException ex)
        {
            _policy.Logger?.LogWarning("Attested key refused ({Error}): {Reason}", ex.Error, ex.Message);
            throw;
        }
    }

    private async Task<AttestedPeer> VerifyDiceAsync(byte[] spki, byte[] dice, byte[]? carriedCollateral, DateTimeOffset notAfter, CancellationToken cancellationToken)
    {
        if (TaggedEvidence.IsRecord(dice))
        {
            return await VerifyTokenRecordAsync(spki, dice, notAfter, cancellationToken).ConfigureAwait(false);
        }

        (byte[] quote, byte[] claims) = TaggedEvidence.Decode(dice);
        (int algorithm, byte[] hash) = TaggedEvidence.ReadPublicKeyHash(claims);
        byte[] expected = algorithm switch
        {
            TaggedEvidence.Sha384 => SHA384.HashData(spki),
            TaggedEvidence.Sha512 => SHA512.HashData(spki),
            _ => SHA256.HashData(spki),
        };
        if (!CryptographicOperations.FixedTimeEquals(hash, expected))
        {
            throw new AttestedTlsException(AttestedTlsError.KeyNotBound, "The evidence's pubkey-hash is not the hash of this public key.");
        }

        return await VerifyQuoteAsync(quote, AttestedCertificateKind.DiceEvidence, reportData => reportData.Length >= 32 && CryptographicOperations.FixedTimeEquals(reportData.AsSpan(0, 32), SHA256.HashData(claims)), carriedCollateral, notAfter, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AttestedPeer> VerifyQuoteAsync(byte[] quote, AttestedCertificateKind kind, Func<byte[], bool> isBound, byte[]? carriedCollateral, DateTimeOffset notAfter, CancellationToken cancellationToken)
    {
        var verification = new VerificationPolicy
        {
            AcceptedTcbStatuses = _policy.AcceptedTcbStatuses,
            AllowDebug = _policy.AllowDebug,
            AllowSimulation = _policy.AllowSimulation,
        };
        QuoteVerificationResult result;
        if (_policy.Collateral is { } provider)
        {
            result = await _quotes.VerifyAsync(quote, provider, verification, cancellationToken).ConfigureAwait(false);
        }
        else if (carriedCollateral is not null)
        {
            // Signed by Intel (or the simulation root) and verified like any collateral, so the
            // peer's copy is as good as a fetched one.
            result = _quotes.Verify(quote, ParseCollateral(carriedCollateral), verification);
        }
        else
        {
            throw new AttestedTlsException(AttestedTlsError.EvidenceRejected, $"The certificate carries evidence but no collateral (extension {AttestedTlsOids.Collateral}), and the policy has no collateral provider to verify it with.");
        }

        if (!result.Verified)
        {
            AttestedTlsError error = result.Error is VerificationError.MalformedQuote or VerificationError.UnsupportedQuote ? AttestedTlsError.MalformedEvidence : AttestedTlsError.EvidenceRejected;
            throw new AttestedTlsException(error, $"The evidence did not verify: {result.Error}: {result.ErrorMessage}");
        }

        Quote parsed = result.Quote!;
        if (!isBound(parsed.ReportData))
        {
            throw new AttestedTlsException(AttestedTlsError.KeyNotBound, "The evidence is genuine but its report data does not bind this certificate's public key.");
        }

        // Remembered no longer than the collateral it was verified with is current.
        DateTimeOffset validUntil = result.CollateralValidUntil is { } until && until < notAfter ? until : notAfter;
        return parsed.SgxBody is { } sgx
            ? new AttestedPeer(kind, sgx.MrEnclave, sgx.MrSigner, sgx.IsvProdId, sgx.IsvSvn, sgx.IsDebug, result.IsSimulated, result.TcbStatus, validUntil)
            : new AttestedPeer(kind, parsed.TdBody!.MrTd, [], 0, 0, parsed.TdBody.IsDebug, result.IsSimulated, result.TcbStatus, validUntil);
    }

    /// <summary>The collateral extension's content: a DER UTF8String of collateral JSON, checked strictly.</summary>
    private static QuoteCollateral ParseCollateral(byte[] extension)
    {
        try
        {
            var reader = new AsnReader(extension, AsnEncodingRules.DER);
            string json = reader.ReadCharacterString(UniversalTagNumber.UTF8String);
            reader.ThrowIfNotEmpty();
            return CollateralJson.Parse(json);
        }
        catch (Exception ex) when (ex is AsnContentException or CollateralException)
        {
            throw new AttestedTlsException(AttestedTlsError.MalformedEvidence, $"The collateral extension {AttestedTlsOids.Collateral} is not a UTF8String of collateral JSON: {ex.Message}", ex);
        }
    }

    private async Task<AttestedPeer> VerifyTokenRecordAsync(byte[] spki, byte[] extension, DateTimeOffset notAfter, CancellationToken cancellationToken)
    {
        (string mediaType, byte[] value) = TaggedEvidence.DecodeRecord(extension);
        if (mediaType != AttestedCertificate.TokenMediaType)
        {
            throw new AttestedTlsException(AttestedTlsError.MalformedEvidence, $"The evidence record is '{mediaType}'; only '{AttestedCertificate.TokenMediaType}' (an attestation token) is understood.");
        }

        string token = Encoding.ASCII.GetString(value);
        string? issuer = null;
        try
        {
            issuer = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).Issuer;
        }
        catch (ArgumentException ex)
        {
            throw new AttestedTlsException(AttestedTlsError.MalformedEvidence, $"The certificate's attestation token is not a JWT: {ex.Message}");
        }

        AttestationClient service = _policy.TrustedAttestationServices.FirstOrDefault(s => s.Issuer == issuer?.TrimEnd('/'))
            ?? throw new AttestedTlsException(AttestedTlsError.EvidenceRejected, $"The certificate's attestation token is from '{issuer}', which is not a trusted attestation service.");
        AttestationResult result;
        try
        {
            result = await service.ValidateAsync(token, allowUnsigned: false, cancellationToken).ConfigureAwait(false);
        }
        catch (AttestationClientException ex)
        {
            throw new AttestedTlsException(AttestedTlsError.EvidenceRejected, $"The certificate's attestation token did not validate: {ex.Message}", ex);
        }

        if (!RuntimeKeysContain(result.Claims, spki))
        {
            throw new AttestedTlsException(AttestedTlsError.KeyNotBound, "The attestation token's x-ms-runtime keys do not include this public key.");
        }

        IDictionary<string, object> claims = result.Claims;
        DateTimeOffset validUntil = new[] { notAfter, new DateTimeOffset(result.Jwt.ValidTo, TimeSpan.Zero) }.Min();
        if (claims.TryGetValue("tdx_mrtd", out object? mrtd))
        {
            TcbStatus? status = claims.TryGetValue("attester_tcb_status", out object? s) && Enum.TryParse(s?.ToString(), out TcbStatus parsed) ? parsed : null;
            return new AttestedPeer(AttestedCertificateKind.AttestationToken, Hex(mrtd), [], 0, 0, Flag(claims, "tdx_td_attributes_debug"), false, status, validUntil) { TokenClaims = claims };
        }

        if (!claims.TryGetValue("x-ms-sgx-mrenclave", out object? mrEnclave) || !claims.TryGetValue("x-ms-sgx-mrsigner", out object? mrSigner))
        {
            throw new AttestedTlsException(AttestedTlsError.EvidenceRejected, "The attestation token names neither an SGX enclave nor a TD.");
        }

        return new AttestedPeer(
            AttestedCertificateKind.AttestationToken, Hex(mrEnclave), Hex(mrSigner),
            (ushort)Number(claims, "x-ms-sgx-product-id"), (ushort)Number(claims, "x-ms-sgx-svn"), Flag(claims, "x-ms-sgx-is-debuggable"),
            Simulated: false, TcbStatus: null, validUntil) { TokenClaims = claims };
    }

    private void CheckIdentity(AttestedPeer peer)
    {
        if (peer.Debug && !_policy.AllowDebug)
        {
            throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, "The peer is a debug enclave, which the policy does not allow.");
        }

        if (peer.TcbStatus is { } status && !_policy.AcceptedTcbStatuses.Contains(status))
        {
            throw new AttestedTlsException(AttestedTlsError.EvidenceRejected, $"The peer's TCB status {status} is not accepted.");
        }

        if (_policy.UniqueId is { } uniqueId)
        {
            if (!uniqueId.AsSpan().SequenceEqual(peer.UniqueId))
            {
                throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, $"The peer's unique id {peer.UniqueIdHex} is not the expected {Convert.ToHexStringLower(uniqueId)}.");
            }
        }
        else if (_policy.SignerId is not null)
        {
            if (!_policy.SignerId!.AsSpan().SequenceEqual(peer.SignerId))
            {
                throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, $"The peer's signer id {peer.SignerIdHex} is not the expected {Convert.ToHexStringLower(_policy.SignerId!)}.");
            }

            if (peer.ProductId != _policy.ProductId)
            {
                throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, $"The peer's product id {peer.ProductId} is not the expected {_policy.ProductId}.");
            }

            if (peer.SecurityVersion < _policy.MinimumSecurityVersion)
            {
                throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, $"The peer's security version {peer.SecurityVersion} is below the minimum {_policy.MinimumSecurityVersion}.");
            }
        }

        CheckAllowed(peer);
        if (_policy.AdditionalCheck?.Invoke(peer) is { } reason)
        {
            throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, reason);
        }
    }

    private bool IsAllowed(AttestedPeer peer) => _policy.AllowedUniqueIds is not { } allowed || allowed().Contains(peer.UniqueIdHex);

    private void CheckAllowed(AttestedPeer peer)
    {
        if (!IsAllowed(peer))
        {
            throw new AttestedTlsException(AttestedTlsError.IdentityMismatch, $"The peer's unique id {peer.UniqueIdHex} is not among the unique ids allowed now.");
        }
    }

    /// <summary>
    /// The certificate is within its validity and signed: by its own key, or, when the policy names
    /// trusted issuers, by one of them (itself within its validity).
    /// </summary>
    private void CheckSignedAndValid(X509Certificate2 certificate)
    {
        DateTimeOffset now = Now;
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            throw new AttestedTlsException(AttestedTlsError.InvalidCertificate, $"The certificate is valid from {certificate.NotBefore:u} to {certificate.NotAfter:u}, not now ({now:u}).");
        }

        if (_policy.TrustedIssuers.Count == 0)
        {
            if (!IsSignedBy(certificate, certificate))
            {
                throw new AttestedTlsException(AttestedTlsError.InvalidCertificate, "The certificate is not signed by its own key.");
            }

            return;
        }

        // Issued: the issuer's name, then its signature (a self-signed certificate fails here too).
        X509Certificate2? issuer = _policy.TrustedIssuers.FirstOrDefault(i => i.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) && IsSignedBy(certificate, i));
        if (issuer is null)
        {
            throw new AttestedTlsException(AttestedTlsError.InvalidCertificate, $"The certificate (issuer '{certificate.Issuer}') is not issued by a trusted issuer ({string.Join("; ", _policy.TrustedIssuers.Select(i => i.Subject))}).");
        }

        if (now < issuer.NotBefore.ToUniversalTime() || now > issuer.NotAfter.ToUniversalTime())
        {
            throw new AttestedTlsException(AttestedTlsError.InvalidCertificate, $"The certificate's issuer '{issuer.Subject}' is valid from {issuer.NotBefore:u} to {issuer.NotAfter:u}, not now ({now:u}).");
        }
    }

    private static bool IsSignedBy(X509Certificate2 certificate, X509Certificate2 signer)
    {
        try
        {
            return VerifySignature(certificate.RawData, signer);
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            throw new AttestedTlsException(AttestedTlsError.InvalidCertificate, $"The certificate's signature cannot be checked: {ex.Message}", ex);
        }
    }

    /// <summary>Checks the signature of <paramref name="der"/> with <paramref name="signer"/>'s public key (explicitly: OpenSSL does not check a trust anchor's own signature).</summary>
    private static bool VerifySignature(byte[] der, X509Certificate2 signer)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        AsnReader sequence = reader.ReadSequence();
        ReadOnlyMemory<byte> tbs = sequence.ReadEncodedValue();
        AsnReader algorithm = sequence.ReadSequence();
        string oid = algorithm.ReadObjectIdentifier();
        byte[] signature = sequence.ReadBitString(out _);
        HashAlgorithmName? ecdsaHash = oid switch
        {
            "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256,
            "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
            "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
            _ => null,
        };
        if (ecdsaHash is { } ec)
        {
            using ECDsa? key = signer.GetECDsaPublicKey();
            return key is not null && key.VerifyData(tbs.Span, signature, ec, DSASignatureFormat.Rfc3279DerSequence);
        }

        HashAlgorithmName rsaHash = oid switch
        {
            "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
            _ => throw new CryptographicException($"Signature algorithm {oid} is not supported (ECDSA or RSA PKCS#1 with SHA-2)."),
        };
        using RSA? rsa = signer.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(tbs.Span, signature, rsaHash, RSASignaturePadding.Pkcs1);
    }

    private byte[]? Extension(X509Certificate2 certificate, string oid) => Extension(certificate, oid, _policy.MaxEvidenceBytes);

    private static byte[]? Extension(X509Certificate2 certificate, string oid, int maxBytes)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != oid)
            {
                continue;
            }

            if (extension.RawData.Length > maxBytes)
            {
                throw new AttestedTlsException(AttestedTlsError.EvidenceTooLarge, $"The {(oid == AttestedTlsOids.Collateral ? "collateral" : "evidence")} extension {oid} is {extension.RawData.Length} bytes; at most {maxBytes} are accepted.");
            }

            return extension.RawData;
        }

        return null;
    }

    private static bool RuntimeKeysContain(IDictionary<string, object> claims, byte[] spki)
    {
        ECParameters parameters;
        try
        {
            using var key = ECDiffieHellman.Create();
            key.ImportSubjectPublicKeyInfo(spki, out _);
            parameters = key.ExportParameters(includePrivateParameters: false);
        }
        catch (CryptographicException)
        {
            return false; // token mode binds EC keys only
        }

        string x = Base64UrlEncoder.Encode(parameters.Q.X), y = Base64UrlEncoder.Encode(parameters.Q.Y);
        return RuntimeKeys(claims).Any(k =>
            k.TryGetProperty("x", out JsonElement kx) && kx.GetString() == x
            && k.TryGetProperty("y", out JsonElement ky) && ky.GetString() == y);
    }

    /// <summary>The JWK objects of a token's <c>x-ms-runtime.keys</c> (none when absent or malformed).</summary>
    private static List<JsonElement> RuntimeKeys(IDictionary<string, object> claims)
    {
        if (!claims.TryGetValue("x-ms-runtime", out object? runtime))
        {
            return [];
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(runtime is JsonElement element ? element.GetRawText() : runtime.ToString()!);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("keys", out JsonElement keys) && keys.ValueKind == JsonValueKind.Array
                ? [.. keys.EnumerateArray().Where(k => k.ValueKind == JsonValueKind.Object).Select(k => k.Clone())]
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static byte[] Hex(object? value)
    {
        try
        {
            return Convert.FromHexString(value?.ToString() ?? string.Empty);
        }
        catch (FormatException)
        {
            throw new AttestedTlsException(AttestedTlsError.EvidenceRejected, "The attestation token's measurement claims are not hex.");
        }
    }

    private static long Number(IDictionary<string, object> claims, string name) =>
        claims.TryGetValue(name, out object? value) && long.TryParse(value?.ToString(), out long number) ? number : 0;

    private static bool Flag(IDictionary<string, object> claims, string name) =>
        !claims.TryGetValue(name, out object? value) || value is not bool flag || flag; // absent or odd: treat as debug, refuse by default

    private void Remember(string key, AttestedPeer peer)
    {
        if (_verified.Count >= MaxCacheEntries)
        {
            DateTimeOffset now = Now;
            foreach ((string stale, AttestedPeer old) in _verified)
            {
                if (old.ValidUntil <= now)
                {
                    _verified.TryRemove(stale, out _);
                }
            }

            if (_verified.Count >= MaxCacheEntries)
            {
                _verified.Clear();
            }
        }

        _verified[key] = peer;
    }
}
