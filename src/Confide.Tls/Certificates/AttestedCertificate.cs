using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Confide.Attestation.Quotes;
using Confide.AttestationService.Client;
using Confide.AttestationService.Tokens;
using Confide.Tee;
using Confide.Tls.Evidence;
using Microsoft.IdentityModel.Tokens;

namespace Confide.Tls.Certificates;

/// <summary>
/// Makes attested certificates inside the enclave: a fresh P-256 key (or one the caller gives),
/// evidence whose report data binds that key, and a certificate carrying the evidence in
/// non-critical extensions — or, in token mode, an attestation token whose runtime data holds the
/// key. The certificate is self-signed unless <see cref="AttestedCertificateOptions.Issuer"/> names
/// an issuer; with <see cref="AttestedCertificateOptions.IncludeCollateral"/> it also carries the
/// quote's collateral.
/// </summary>
public static class AttestedCertificate
{
    /// <summary>The media type of a token-mode extension record.</summary>
    public const string TokenMediaType = "application/jwt";

    /// <summary>A certificate with the TEE's evidence (the formats in <paramref name="options"/>) for a fresh P-256 key.</summary>
    public static async Task<X509Certificate2> CreateAsync(ITee tee, AttestedCertificateOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return await CreateAsync(tee, key, options ?? new AttestedCertificateOptions(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A certificate with the TEE's evidence for <paramref name="key"/>, a key the caller already
    /// has (an identity other parties know, say), signed by <see cref="AttestedCertificateOptions.Issuer"/>
    /// or else by the key itself. The certificate holds a copy of the private key; the caller keeps
    /// <paramref name="key"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The TEE gives no Intel quote, or no collateral when <see cref="AttestedCertificateOptions.IncludeCollateral"/> asks for it.</exception>
    public static async Task<X509Certificate2> CreateAsync(ITee tee, ECDsa key, AttestedCertificateOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tee);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(options);
        byte[] spki = key.ExportSubjectPublicKeyInfo();
        var extensions = new List<X509Extension>();
        string? collateral = null;

        if (options.Formats.HasFlag(AttestedCertificateFormats.Dice))
        {
            byte[] claims = TaggedEvidence.CreateClaims(spki);
            TeeEvidence evidence = await tee.GetEvidenceAsync(SHA256.HashData(claims), cancellationToken).ConfigureAwait(false);
            extensions.Add(new X509Extension(AttestedTlsOids.DiceTaggedEvidence, TaggedEvidence.Encode(RequireQuote(evidence), claims), critical: false));
            collateral ??= evidence.CollateralJson;
        }

        if (options.Formats.HasFlag(AttestedCertificateFormats.OpenEnclave))
        {
            TeeEvidence evidence = await tee.GetEvidenceAsync(PublicKeyBinding.DerHash(spki), cancellationToken).ConfigureAwait(false);
            extensions.Add(new X509Extension(AttestedTlsOids.OpenEnclaveReport, OpenEnclaveReport.Wrap(RequireQuote(evidence)), critical: false));
            collateral ??= evidence.CollateralJson;
        }

        if (options.IncludeCollateral)
        {
            // Both quotes come from the same platform, so one copy of its collateral serves either.
            extensions.Add(CollateralExtension(collateral ?? throw new NotSupportedException("IncludeCollateral needs a TEE that hands out collateral with its evidence; this one gives none.")));
        }

        return Sign(key, extensions, options);
    }

    /// <summary>The <see cref="AttestedTlsOids.Collateral"/> extension for collateral JSON: a DER UTF8String.</summary>
    public static X509Extension CollateralExtension(string collateralJson)
    {
        ArgumentNullException.ThrowIfNull(collateralJson);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.UTF8String, collateralJson);
        return new X509Extension(AttestedTlsOids.Collateral, writer.Encode(), critical: false);
    }

    /// <summary>
    /// Token mode: attests the key with an attestation service (runtime data <c>{"keys":[JWK]}</c>,
    /// JSON, so the token's <c>x-ms-runtime</c> names the key) and carries the token, so that
    /// clients need to trust only the service's signing keys.
    /// </summary>
    /// <param name="additionalKeys">
    /// Other public keys of the same enclave (JWKs) to list beside the certificate's in the token's
    /// <c>x-ms-runtime.keys</c>, so that a client that verified this certificate also knows them
    /// (a key broker's response-signing key, say).
    /// </param>
    public static async Task<X509Certificate2> CreateWithTokenAsync(ITee tee, AttestationClient attestation, AttestedCertificateOptions? options = null, IEnumerable<IReadOnlyDictionary<string, string>>? additionalKeys = null, CancellationToken cancellationToken = default)
    {
        options ??= new AttestedCertificateOptions();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var runtime = new RuntimeData(RuntimeKeys(key.ExportParameters(includePrivateParameters: false), additionalKeys), RuntimeDataType.Json);
        TeeEvidence evidence = await tee.GetEvidenceAsync(SHA256.HashData(runtime.Data), cancellationToken).ConfigureAwait(false);
        AttestationResult result = evidence.Format switch
        {
            EvidenceFormat.SgxQuote => await attestation.AttestSgxEnclaveAsync(evidence.Data, runtime, cancellationToken: cancellationToken).ConfigureAwait(false),
            EvidenceFormat.TdxQuote => await attestation.AttestTdxVmAsync(evidence.Data, runtime, cancellationToken: cancellationToken).ConfigureAwait(false),
            _ => throw new NotSupportedException($"Token mode needs an SGX or TDX quote; this TEE gives {evidence.Format}."),
        };

        byte[] record = TaggedEvidence.EncodeRecord(TokenMediaType, Encoding.ASCII.GetBytes(result.Token));
        return Sign(key, [new X509Extension(AttestedTlsOids.DiceTaggedEvidence, record, critical: false)], options);
    }

    /// <summary>
    /// Evidence for a bare public key (e.g. an end-to-end encryption key), in the DICE extension's
    /// encoding: tagged evidence whose claims bind SHA-256 of <paramref name="subjectPublicKeyInfo"/>.
    /// </summary>
    public static async Task<byte[]> CreateKeyEvidenceAsync(ITee tee, byte[] subjectPublicKeyInfo, CancellationToken cancellationToken = default)
    {
        byte[] claims = TaggedEvidence.CreateClaims(subjectPublicKeyInfo);
        TeeEvidence evidence = await tee.GetEvidenceAsync(SHA256.HashData(claims), cancellationToken).ConfigureAwait(false);
        return TaggedEvidence.Encode(RequireQuote(evidence), claims);
    }

    /// <summary>The runtime data of token mode: a JWK set holding the certificate's public key first, then any others.</summary>
    public static byte[] RuntimeKeys(ECParameters publicKey, IEnumerable<IReadOnlyDictionary<string, string>>? additionalKeys = null) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        keys = new IReadOnlyDictionary<string, string>[]
        {
            new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["use"] = "sig",
                ["x"] = Base64UrlEncoder.Encode(publicKey.Q.X),
                ["y"] = Base64UrlEncoder.Encode(publicKey.Q.Y),
            },
        }.Concat(additionalKeys ?? []),
    });

    /// <summary>An RSA public key as a JWK (for <c>additionalKeys</c>).</summary>
    public static IReadOnlyDictionary<string, string> RsaJwk(RSAParameters publicKey, string use = "sig") => new Dictionary<string, string>
    {
        ["kty"] = "RSA",
        ["use"] = use,
        ["n"] = Base64UrlEncoder.Encode(publicKey.Modulus),
        ["e"] = Base64UrlEncoder.Encode(publicKey.Exponent),
    };

    private static byte[] RequireQuote(TeeEvidence evidence) =>
        evidence.Format is EvidenceFormat.SgxQuote or EvidenceFormat.TdxQuote
            ? evidence.Data
            : throw new NotSupportedException($"Attested certificates carry Intel quotes; this TEE gives {evidence.Format}.");

    private static X509Certificate2 Sign(ECDsa key, List<X509Extension> extensions, AttestedCertificateOptions options)
    {
        X509Certificate2? issuer = options.Issuer;
        var request = new CertificateRequest(new X500DistinguishedName(options.Subject), key, issuer is null ? HashAlgorithmName.SHA256 : SignatureHash(issuer));
        var names = new SubjectAlternativeNameBuilder();
        foreach (string name in options.DnsNames)
        {
            if (IPAddress.TryParse(name, out IPAddress? address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        foreach (X509Extension extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        DateTimeOffset now = options.TimeProvider.GetUtcNow();
        DateTimeOffset notBefore = now.AddMinutes(-5), notAfter = now + options.Lifetime;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), notBefore, notAfter, serial);
        }
        else
        {
            // An end entity of the issuer: not a CA, and (when the issuer has a key identifier) naming the issuer's key for chain builders.
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
            if (issuer.Extensions["2.5.29.14"] is not null)
            {
                request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
            }

            DateTimeOffset issuerFrom = new(issuer.NotBefore.ToUniversalTime()), issuerUntil = new(issuer.NotAfter.ToUniversalTime());
            notBefore = notBefore < issuerFrom ? issuerFrom : notBefore;
            notAfter = notAfter > issuerUntil ? issuerUntil : notAfter;
            if (notAfter <= now)
            {
                throw new InvalidOperationException($"The issuer '{issuer.Subject}' is valid only until {issuerUntil:u}: it can issue no certificate now.");
            }

            using ECDsa? ecdsa = issuer.GetECDsaPrivateKey();
            using RSA? rsa = ecdsa is null ? issuer.GetRSAPrivateKey() : null;
            X509SignatureGenerator generator = ecdsa is not null ? X509SignatureGenerator.CreateForECDsa(ecdsa)
                : rsa is not null ? X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1)
                : throw new ArgumentException($"The issuer '{issuer.Subject}' has no ECDSA or RSA private key.", nameof(options));
            certificate = request.Create(issuer.SubjectName, generator, notBefore, notAfter, serial);
        }

        using (certificate)
        {
            using X509Certificate2 withKey = certificate.CopyWithPrivateKey(key);

            // Through PKCS#12 so that SslStream on Linux can use the ephemeral key.
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
    }

    /// <summary>The hash an issuer signs with: matched to its curve (SHA-384 for P-384, as CCF's service identity signs), SHA-256 for RSA.</summary>
    private static HashAlgorithmName SignatureHash(X509Certificate2 issuer)
    {
        using ECDsa? key = issuer.GetECDsaPublicKey();
        return key?.KeySize switch
        {
            384 => HashAlgorithmName.SHA384,
            521 => HashAlgorithmName.SHA512,
            _ => HashAlgorithmName.SHA256,
        };
    }
}
