using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Confide.Attestation.Collateral;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Certificates;
using Confide.Tls.Verification;

namespace Confide.Tls.Tests;

/// <summary>
/// Attested certificates for a given key, issued by another certificate and carrying their
/// collateral; policies that require an issuer and admit a changing set of unique ids.
/// </summary>
public sealed class IssuedCertificateTests : IDisposable
{
    private readonly SimulatedEnclaves _enclaves = new();
    private readonly TeeIdentity _node = SimulatedEnclaves.Identity("node");
    private readonly ECDsa _nodeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _issuer = Authority("CN=Test service", ECDsa.Create(ECCurve.NamedCurves.nistP384));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("ecdsa-p384", "1.2.840.10045.4.3.3")]
    [InlineData("rsa", "1.2.840.113549.1.1.11")]
    public async Task A_certificate_for_a_given_key_issued_by_an_authority_carries_its_collateral_and_verifies_without_a_collateral_source(string issuerKind, string signatureAlgorithm)
    {
        using X509Certificate2 issuer = issuerKind == "rsa" ? Authority("CN=RSA service", RSA.Create(2048)) : X509CertificateLoader.LoadPkcs12(_issuer.Export(X509ContentType.Pkcs12), null);
        using SimulationTee tee = _enclaves.Tee(_node);
        var options = new AttestedCertificateOptions { Subject = "CN=node-7", Issuer = issuer, IncludeCollateral = true, Formats = AttestedCertificateFormats.Dice };
        options.DnsNames.Clear();
        options.DnsNames.Add("127.0.0.1");
        options.DnsNames.Add("node-7.ledger");
        using X509Certificate2 certificate = await AttestedCertificate.CreateAsync(tee, _nodeKey, options, Ct);

        // The given key (with its private half), the issuer's name and signature, an end entity.
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(_nodeKey.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(issuer.Subject, certificate.Issuer);
        Assert.Equal("CN=node-7", certificate.Subject);
        Assert.Equal(signatureAlgorithm, certificate.SignatureAlgorithm.Value);
        Assert.False(Assert.IsType<X509BasicConstraintsExtension>(certificate.Extensions["2.5.29.19"]).CertificateAuthority);
        var names = Assert.IsType<X509SubjectAlternativeNameExtension>(certificate.Extensions["2.5.29.17"]);
        Assert.Equal(new[] { IPAddress.Loopback }, names.EnumerateIPAddresses());
        Assert.Equal(new[] { "node-7.ledger" }, names.EnumerateDnsNames());
        Assert.True(certificate.NotAfter <= issuer.NotAfter);

        // The collateral extension: non-critical, a DER UTF8String of the TEE's collateral JSON.
        X509Extension collateral = certificate.Extensions[AttestedTlsOids.Collateral]!;
        Assert.False(collateral.Critical);
        var reader = new AsnReader(collateral.RawData, AsnEncodingRules.DER);
        CollateralJson.Parse(reader.ReadCharacterString(UniversalTagNumber.UTF8String));
        Assert.False(reader.HasData);

        using X509Certificate2 issuerPublic = X509CertificateLoader.LoadCertificate(issuer.RawData);
        AttestedPeer peer = await new AttestedCertificateVerifier(IssuedPolicy(p => p.TrustedIssuers.Add(issuerPublic))).VerifyAsync(certificate, Ct);
        Assert.Equal(AttestedCertificateKind.DiceEvidence, peer.Kind);
        Assert.Equal(_node.UniqueId, peer.UniqueId);
        Assert.True(peer.ValidUntil <= new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));

        // A chain builder trusting the issuer accepts it too (it is an ordinary issued certificate).
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(issuerPublic);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(certificate), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    [Fact]
    public async Task A_policy_with_trusted_issuers_refuses_other_issuers_self_signed_certificates_and_issued_ones_without_evidence()
    {
        using SimulationTee tee = _enclaves.Tee(_node);
        var verifier = new AttestedCertificateVerifier(IssuedPolicy(p => p.TrustedIssuers.Add(_issuer)));

        using X509Certificate2 other = Authority("CN=Test service", ECDsa.Create(ECCurve.NamedCurves.nistP384));
        using X509Certificate2 wrongIssuer = await AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { Issuer = other, IncludeCollateral = true }, Ct);
        await CertificateVerificationTests.AssertRefusedAsync(verifier, wrongIssuer, AttestedTlsError.InvalidCertificate, "not issued by a trusted issuer");

        using X509Certificate2 selfSigned = await AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { IncludeCollateral = true }, Ct);
        await CertificateVerificationTests.AssertRefusedAsync(verifier, selfSigned, AttestedTlsError.InvalidCertificate, "not issued by a trusted issuer");

        // Endorsed, but no evidence: issuance alone admits nobody.
        using X509Certificate2 endorsedOnly = Issue(_issuer, _nodeKey, "CN=endorsed only", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        await CertificateVerificationTests.AssertRefusedAsync(verifier, endorsedOnly, AttestedTlsError.NoEvidence);

        // Issued by a trusted issuer that is itself outside its validity.
        using X509Certificate2 expiredIssuer = Authority("CN=Expired service", ECDsa.Create(ECCurve.NamedCurves.nistP384), DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(-1));
        using X509Certificate2 good = await AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { Formats = AttestedCertificateFormats.Dice, IncludeCollateral = true }, Ct);
        using X509Certificate2 underExpired = Issue(expiredIssuer, _nodeKey, "CN=late", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), good.Extensions[AttestedTlsOids.DiceTaggedEvidence]!, good.Extensions[AttestedTlsOids.Collateral]!);
        await CertificateVerificationTests.AssertRefusedAsync(new AttestedCertificateVerifier(IssuedPolicy(p => p.TrustedIssuers.Add(expiredIssuer))), underExpired, AttestedTlsError.InvalidCertificate, "issuer");

        // The issuer must come with its private key; and it can issue nothing once expired.
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(_issuer.RawData);
        await Assert.ThrowsAsync<ArgumentException>(() => AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { Issuer = publicOnly }, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { Issuer = expiredIssuer }, Ct));
    }

    [Fact]
    public async Task Collateral_comes_from_the_policy_first_then_the_certificate_and_a_bad_extension_is_refused_with_its_reason()
    {
        using SimulationTee tee = _enclaves.Tee(_node);
        var verifier = new AttestedCertificateVerifier(IssuedPolicy());
        using X509Certificate2 good = await AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { Formats = AttestedCertificateFormats.Dice, IncludeCollateral = true }, Ct);
        X509Extension dice = good.Extensions[AttestedTlsOids.DiceTaggedEvidence]!;
        string json = new AsnReader(good.Extensions[AttestedTlsOids.Collateral]!.RawData, AsnEncodingRules.DER).ReadCharacterString(UniversalTagNumber.UTF8String);
        await verifier.VerifyAsync(good, Ct);

        // Without the extension and without a provider: nothing to verify the quote with.
        using X509Certificate2 none = await AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { Formats = AttestedCertificateFormats.Dice }, Ct);
        Assert.Null(none.Extensions[AttestedTlsOids.Collateral]);
        await CertificateVerificationTests.AssertRefusedAsync(verifier, none, AttestedTlsError.EvidenceRejected, "no collateral");

        // Not a UTF8String; a UTF8String of something else than collateral JSON.
        using X509Certificate2 notAsn = CertificateVerificationTests.SelfSigned(_nodeKey, "CN=garbage", dice, new X509Extension(AttestedTlsOids.Collateral, "{}"u8.ToArray(), false));
        await CertificateVerificationTests.AssertRefusedAsync(verifier, notAsn, AttestedTlsError.MalformedEvidence, AttestedTlsOids.Collateral);
        using X509Certificate2 notJson = CertificateVerificationTests.SelfSigned(_nodeKey, "CN=garbage", dice, AttestedCertificate.CollateralExtension("{\"tcb_info\": 1}"));
        await CertificateVerificationTests.AssertRefusedAsync(verifier, notJson, AttestedTlsError.MalformedEvidence);

        // Well formed but altered: the TCB info no longer matches Intel's (here the simulation root's) signature.
        JsonObject document = JsonNode.Parse(json)!.AsObject();
        string tcbInfo = (string)document["tcb_info"]!;
        document["tcb_info"] = tcbInfo.Replace("\"tcbType\":0", "\"tcbType\":1", StringComparison.Ordinal);
        Assert.NotEqual(tcbInfo, (string)document["tcb_info"]!);
        string altered = document.ToJsonString();
        using X509Certificate2 tampered = CertificateVerificationTests.SelfSigned(_nodeKey, "CN=tampered", dice, AttestedCertificate.CollateralExtension(altered));
        await CertificateVerificationTests.AssertRefusedAsync(verifier, tampered, AttestedTlsError.EvidenceRejected, "Signature");

        // Too large for the policy.
        await CertificateVerificationTests.AssertRefusedAsync(new AttestedCertificateVerifier(IssuedPolicy(p => p.MaxCollateralBytes = 1024)), good, AttestedTlsError.EvidenceTooLarge, "collateral");

        // A policy with its own collateral source ignores the extension, even a broken one.
        var withProvider = new AttestedCertificateVerifier(_enclaves.PolicyFor(_node));
        Assert.Equal(_node.UniqueId, (await withProvider.VerifyAsync(notAsn, Ct)).UniqueId);

        // A TEE that hands out no collateral cannot make a certificate that carries it.
        using var bare = new NoCollateralTee(_enclaves.Tee(_node));
        await Assert.ThrowsAsync<NotSupportedException>(() => AttestedCertificate.CreateAsync(bare, _nodeKey, new AttestedCertificateOptions { IncludeCollateral = true }, Ct));
    }

    [Fact]
    public async Task Allowed_unique_ids_are_asked_on_every_verification_so_a_removed_id_refuses_a_cached_certificate()
    {
        using SimulationTee tee = _enclaves.Tee(_node);
        var allowed = new HashSet<string>(StringComparer.Ordinal) { _node.UniqueIdHex };
        IReadOnlySet<string> current = allowed;
        AttestedTlsPolicy policy = IssuedPolicy(p => { p.UniqueId = null; p.AllowedUniqueIds = () => Volatile.Read(ref current); });
        var verifier = new AttestedCertificateVerifier(policy);
        using X509Certificate2 certificate = await AttestedCertificate.CreateAsync(tee, _nodeKey, new AttestedCertificateOptions { IncludeCollateral = true }, Ct);

        AttestedPeer first = await verifier.VerifyAsync(certificate, Ct);
        Assert.Same(first, await verifier.VerifyAsync(certificate, Ct));
        Assert.True(verifier.TryGetVerified(certificate, out _));

        // Governance removes the id: the cached certificate is refused from the next call on.
        Volatile.Write(ref current, new HashSet<string>(StringComparer.Ordinal) { SimulatedEnclaves.Identity("other").UniqueIdHex });
        await CertificateVerificationTests.AssertRefusedAsync(verifier, certificate, AttestedTlsError.IdentityMismatch, "allowed now");
        Assert.False(verifier.TryGetVerified(certificate, out _));
        Assert.Empty(verifier.VerifiedPeers);

        // Added back: accepted again (still cached).
        Volatile.Write(ref current, allowed);
        Assert.Same(first, await verifier.VerifyAsync(certificate, Ct));

        // A first verification is refused the same way; and with UniqueId too, the peer must pass both.
        using SimulationTee otherTee = _enclaves.Tee(SimulatedEnclaves.Identity("other"));
        using X509Certificate2 other = await AttestedCertificate.CreateAsync(otherTee, new AttestedCertificateOptions { IncludeCollateral = true }, Ct);
        await CertificateVerificationTests.AssertRefusedAsync(verifier, other, AttestedTlsError.IdentityMismatch, "allowed now");
        AttestedTlsPolicy both = IssuedPolicy(p => p.AllowedUniqueIds = () => new HashSet<string>());
        await CertificateVerificationTests.AssertRefusedAsync(new AttestedCertificateVerifier(both), certificate, AttestedTlsError.IdentityMismatch, "allowed now");

        // The set alone names an identity.
        _ = new AttestedCertificateVerifier(new AttestedTlsPolicy { AllowedUniqueIds = () => allowed });
    }

    public void Dispose()
    {
        _nodeKey.Dispose();
        _issuer.Dispose();
        _enclaves.Dispose();
    }

    /// <summary>Simulation allowed, unique id of the node, and no collateral source: the certificate's own is used.</summary>
    private AttestedTlsPolicy IssuedPolicy(Action<AttestedTlsPolicy>? configure = null) => _enclaves.PolicyFor(_node, p =>
    {
        p.Collateral = null;
        configure?.Invoke(p);
    });

    /// <summary>A self-signed CA (like a CCF service identity) with its private key.</summary>
    private static X509Certificate2 Authority(string subject, AsymmetricAlgorithm key, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using (key)
        {
            CertificateRequest request = key is ECDsa ec
                ? new CertificateRequest(subject, ec, HashAlgorithmName.SHA384)
                : new CertificateRequest(subject, (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            using X509Certificate2 created = request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-10), notAfter ?? DateTimeOffset.UtcNow.AddDays(30));
            return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        }
    }

    /// <summary>A certificate for <paramref name="key"/> signed with the issuer's key, dates as given (even outside the issuer's).</summary>
    private static X509Certificate2 Issue(X509Certificate2 issuer, ECDsa key, string subject, DateTimeOffset notBefore, DateTimeOffset notAfter, params X509Extension[] extensions)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA384);
        foreach (X509Extension extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        using ECDsa signer = issuer.GetECDsaPrivateKey()!;
        return request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(signer), notBefore, notAfter, [1, 2, 3]);
    }

    /// <summary>A TEE whose evidence comes without collateral (as Gramine's and configfs-tsm's do).</summary>
    private sealed class NoCollateralTee(ITee inner) : ITee
    {
        public TeeKind Kind => inner.Kind;

        public bool IsSimulated => inner.IsSimulated;

        public TeeIdentity Identity => inner.Identity;

        public async ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default) =>
            (await inner.GetEvidenceAsync(reportData, cancellationToken)) with { CollateralJson = null };

        public byte[] DeriveSealKey(SealKeyRequest request) => inner.DeriveSealKey(request);

        public void Dispose() => inner.Dispose();
    }
}
