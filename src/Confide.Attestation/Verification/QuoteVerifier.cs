using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;

namespace Confide.Attestation.Verification;

/// <summary>
/// Verifies Intel SGX and TDX ECDSA (DCAP) quotes as Intel's Quote Verification Library does:
/// the PCK chain to a trusted root, the CRLs, the QE report and its binding to the attestation
/// key, the quote signature, the signed TCB info and QE identity, the TCB level the PCK
/// certificate's SVNs reach, and every collateral item's validity at the verification time. A
/// <see cref="VerificationPolicy"/> then decides what is accepted.
/// </summary>
/// <remarks>
/// Every failure is a <see cref="QuoteVerificationResult"/> with <see cref="VerificationError"/>,
/// never another exception: the input is hostile by assumption.
/// </remarks>
public sealed class QuoteVerifier
{
    private const string PckCertificateName = "SGX PCK Certificate";

    private readonly QuoteVerifierOptions _options;
    private readonly byte[][] _trustedRootHashes;
    private readonly byte[][] _simulationRootHashes;
    private readonly ConcurrentDictionary<string, VerifiedPckChain> _pckChains = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VerifiedCollateral> _collateral = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EcdsaKeyPool> _attestationKeys = new(StringComparer.Ordinal);
    private const int MaxCacheEntries = 4096;

    public QuoteVerifier(QuoteVerifierOptions? options = null)
    {
        _options = options ?? new QuoteVerifierOptions();
        _trustedRootHashes = _options.TrustedRoots.Select(r => SHA256.HashData(r.RawData)).ToArray();
        _simulationRootHashes = _options.SimulationRoots.Select(r => SHA256.HashData(r.RawData)).ToArray();
    }

    /// <summary>Verifies <paramref name="evidence"/> (a quote, or Open Enclave evidence) with collateral from <paramref name="provider"/>.</summary>
    public async Task<QuoteVerificationResult> VerifyAsync(ReadOnlyMemory<byte> evidence, ICollateralProvider provider, VerificationPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        QuoteCollateral? collateral = null;
        if (Quote.TryParseEvidence(evidence.Span, out Quote? quote, out _) && TryDescribe(quote!, out CollateralRequest? request))
        {
            try
            {
                collateral = await provider.GetCollateralAsync(request!, cancellationToken).ConfigureAwait(false);
            }
            catch (CollateralException ex)
            {
                return Failure(VerificationError.MissingCollateral, $"No collateral: {ex.Message}", quote, _options.TimeProvider.GetUtcNow());
            }
        }

        return Verify(evidence.Span, collateral, policy);
    }

    /// <summary>Verifies <paramref name="evidence"/> with the given collateral (null: only what needs no collateral is checked, and the result says collateral is missing).</summary>
    public QuoteVerificationResult Verify(ReadOnlySpan<byte> evidence, QuoteCollateral? collateral, VerificationPolicy? policy = null)
    {
        DateTimeOffset at = _options.TimeProvider.GetUtcNow();
        if (!Quote.TryParseEvidence(evidence, out Quote? parsed, out QuoteFormatException? formatError))
        {
            return Failure(VerificationError.MalformedQuote, formatError!.Message, null, at);
        }

        Quote quote = parsed!;
        try
        {
            return VerifyParsed(quote, collateral, policy ?? VerificationPolicy.Default, at);
        }
        catch (QuoteVerificationException ex)
        {
            return Failure(ex.Error, ex.Message, quote, at);
        }
    }

    /// <summary>The collateral request (TEE, FMSPC, PCK CA) for a quote, from its PCK certificate.</summary>
    public static bool TryDescribe(Quote quote, out CollateralRequest? request)
    {
        request = null;
        try
        {
            X509Certificate2[] chain = PemChain(quote.PckCertificateChainPem, "PCK certificate chain in the quote", 3);
            SgxPckExtensions extensions = SgxPckExtensions.FromCertificate(chain[0]);
            PckCaType ca = chain[0].IssuerName.Name.Contains("Processor", StringComparison.Ordinal) ? PckCaType.Processor : PckCaType.Platform;
            request = new CollateralRequest(quote.TeeType, extensions.Fmspc, ca);
            return true;
        }
        catch (Exception ex) when (ex is QuoteVerificationException or QuoteFormatException or CryptographicException)
        {
            return false;
        }
    }

    private QuoteVerificationResult VerifyParsed(Quote quote, QuoteCollateral? collateral, VerificationPolicy policy, DateTimeOffset at)
    {
        // 1. The quote's own shape: ECDSA P-256 from Intel's quoting enclave, with a PCK chain.
        if (quote.Header.AttestationKeyType != QuoteHeader.EcdsaP256KeyType || !quote.Header.IsIntelQe)
        {
            throw Fail(VerificationError.UnsupportedQuote, "Only ECDSA P-256 quotes from Intel's quoting enclave are supported.");
        }

        if (quote.CertificationDataType != 5 || quote.PckCertificateChainPem is null)
        {
            throw Fail(VerificationError.UnsupportedQuote, $"The quote carries certification data type {quote.CertificationDataType}; verification needs the PCK certificate chain (type 5).");
        }

        // 2. PCK chain: leaf → PCK CA → a trusted root (Intel's, or a simulation root if allowed).
        var window = new ValidityWindow();
        VerifiedPckChain pckChain = VerifyPckChain(quote.PckCertificateChainPem, policy, window);
        bool simulated = CheckRoot(pckChain.Root, policy);
        SgxPckExtensions platform = pckChain.Extensions;

        // 3. The quoting enclave's report, signed by the PCK key, binds the attestation key.
        if (!pckChain.PublicKey.Verify(quote.QeReportRaw, quote.QeReportSignature))
        {
            throw Fail(VerificationError.InvalidQeReportSignature, "The QE report is not signed by the PCK certificate's key.");
        }

        byte[] expectedBinding = new byte[64];
        SHA256.HashData([.. quote.AttestationKey, .. quote.QeAuthData]).CopyTo(expectedBinding, 0);
        if (!CryptographicOperations.FixedTimeEquals(expectedBinding, quote.QeReport.ReportData))
        {
            throw Fail(VerificationError.QeReportDataMismatch, "The QE report data is not SHA-256(attestation key ‖ QE authentication data): the attestation key is not the QE's.");
        }

        // 4. The quote itself, signed by the attestation key over header ‖ [descriptor] ‖ body.
        VerifyQuoteSignature(quote, AttestationKey(quote.AttestationKey));

        // 5. Collateral: signatures, chains, CRLs, windows.
        if (collateral is null)
        {
            throw Fail(VerificationError.MissingCollateral, "The quote's signatures and PCK chain verify, but no collateral (TCB info, QE identity, CRLs) was given: its TCB status is unknown.");
        }

        VerifiedCollateral verified = VerifyCollateral(collateral, pckChain.Certificates, policy, window);
        if (verified.PckCrl.Revokes(pckChain.Certificates[0]))
        {
            throw Fail(VerificationError.CertificateRevoked, "The PCK certificate is revoked.");
        }

        // 6. Collateral matches this quote: TEE, FMSPC, PCE-ID; QE identity matches the QE report.
        TcbInfo tcbInfo = verified.TcbInfo;
        string expectedId = quote.TeeType == TeeType.Tdx ? "TDX" : "SGX";
        if (tcbInfo.Id != expectedId || (quote.TeeType == TeeType.Tdx && tcbInfo.Version < 3))
        {
            throw Fail(VerificationError.TcbInfoMismatch, $"The TCB info is for {tcbInfo.Id} (v{tcbInfo.Version}); the quote is {expectedId}.");
        }

        if (!tcbInfo.Fmspc.AsSpan().SequenceEqual(platform.Fmspc) || !tcbInfo.PceId.AsSpan().SequenceEqual(platform.PceId))
        {
            throw Fail(VerificationError.TcbInfoMismatch,
                $"The TCB info is for FMSPC {Convert.ToHexString(tcbInfo.Fmspc)} / PCE-ID {Convert.ToHexString(tcbInfo.PceId)}; the PCK certificate says {Convert.ToHexString(platform.Fmspc)} / {Convert.ToHexString(platform.PceId)}.");
        }

        (TcbStatus qeStatus, string[] qeAdvisories) = MatchQeIdentity(quote, verified.QeIdentity);

        // 7. TDX module identity, then the platform TCB level from the PCK certificate's SVNs.
        (TcbStatus Status, string[] Advisories)? module = quote.TdBody is { } td ? MatchTdxModule(td, tcbInfo) : null;
        TcbLevel level = MatchTcbLevel(quote, platform, tcbInfo);
        TcbStatus status = level.Status;
        if (module is { } moduleStatus)
        {
            status = TcbStatuses.ConvergeWithTdxModule(status, moduleStatus.Status);
        }

        status = TcbStatuses.ConvergeWithQe(status, qeStatus);
        string[] advisories = level.AdvisoryIds.Concat(qeAdvisories).Concat(module?.Advisories ?? []).Distinct(StringComparer.Ordinal).ToArray();

        window.Require(at);
        var result = new QuoteVerificationResult
        {
            Verified = true,
            Quote = quote,
            TcbStatus = status,
            QeTcbStatus = qeStatus,
            AdvisoryIds = advisories,
            IsSimulated = simulated,
            TcbEvaluationDataNumber = tcbInfo.TcbEvaluationDataNumber,
            CollateralValidFrom = window.From,
            CollateralValidUntil = window.Until,
            VerifiedAt = at,
        };

        // 8. Policy.
        string? refusal = ApplyPolicy(quote, status, policy, out VerificationError error);
        return refusal is null ? result : result with { Verified = false, Error = error, ErrorMessage = refusal };
    }

    private EcdsaKeyPool AttestationKey(byte[] point)
    {
        if (!_options.CacheVerifiedCollateral)
        {
            return EcdsaKeyPool.FromRawPoint(point);
        }

        string key = Convert.ToHexString(point);
        if (!_attestationKeys.TryGetValue(key, out EcdsaKeyPool? pool))
        {
            pool = EcdsaKeyPool.FromRawPoint(point);
            Remember(_attestationKeys, key, pool);
        }

        return pool;
    }

    private static void VerifyQuoteSignature(Quote quote, EcdsaKeyPool attestationKey)
    {
        try
        {
            if (attestationKey.Verify(quote.SignedRegion.Span, quote.Signature))
            {
                return;
            }
        }
        catch (CryptographicException ex)
        {
            throw Fail(VerificationError.InvalidQuoteSignature, $"The attestation key is not a valid P-256 point: {ex.Message}", ex);
        }

        throw Fail(VerificationError.InvalidQuoteSignature, "The quote is not signed by its attestation key (the header or report body was altered).");
    }

    private sealed record VerifiedCollateral(TcbInfo TcbInfo, QeIdentity QeIdentity, RevocationList PckCrl, IReadOnlyList<ValidityWindow.Item> Windows);

    private sealed record VerifiedPckChain(X509Certificate2[] Certificates, SgxPckExtensions Extensions, EcdsaKeyPool PublicKey, IReadOnlyList<ValidityWindow.Item> Windows)
    {
        public X509Certificate2 Root => Certificates[^1];
    }

    /// <summary>Parses and checks the PCK chain and extension, once per distinct chain when caching.</summary>
    private VerifiedPckChain VerifyPckChain(string pem, VerificationPolicy policy, ValidityWindow window)
    {
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(pem)));
        if (!_options.CacheVerifiedCollateral || !_pckChains.TryGetValue(key, out VerifiedPckChain? chain))
        {
            X509Certificate2[] certificates = PemChain(pem, "PCK certificate chain in the quote", 3);
            CheckRoot(certificates[^1], policy);
            var own = new ValidityWindow();
            VerifyChain(certificates, "PCK certificate chain", own);
            X509Certificate2 pck = certificates[0];
            if (!pck.GetNameInfo(X509NameType.SimpleName, forIssuer: false).Contains(PckCertificateName, StringComparison.Ordinal))
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"The PCK certificate's subject '{pck.Subject}' is not an SGX PCK Certificate.");
            }

            SgxPckExtensions extensions;
            try
            {
                extensions = SgxPckExtensions.FromCertificate(pck);
            }
            catch (QuoteFormatException ex)
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"The PCK certificate's SGX extension is invalid: {ex.Message}", ex);
            }

            using ECDsa publicKey = SignedCertificate.PublicKey(pck);
            chain = new VerifiedPckChain(certificates, extensions, new EcdsaKeyPool(publicKey.ExportParameters(includePrivateParameters: false)), own.Items);
            Remember(_pckChains, key, chain);
        }

        window.IncludeAll(chain.Windows);
        return chain;
    }

    private VerifiedCollateral VerifyCollateral(QuoteCollateral collateral, X509Certificate2[] pckChain, VerificationPolicy policy, ValidityWindow window)
    {
        string key = CollateralKey(collateral, pckChain);
        if (!_options.CacheVerifiedCollateral || !_collateral.TryGetValue(key, out VerifiedCollateral? verified))
        {
            var own = new ValidityWindow();
            verified = VerifyCollateralUncached(collateral, pckChain, policy, own) with { Windows = own.Items };
            Remember(_collateral, key, verified);
        }
        else
        {
            // The roots of the cached chains still have to be acceptable under this call's policy.
            CheckRoot(pckChain[^1], policy);
        }

        window.IncludeAll(verified.Windows);
        return verified;
    }

    private void Remember<T>(ConcurrentDictionary<string, T> cache, string key, T value)
    {
        if (!_options.CacheVerifiedCollateral)
        {
            return;
        }

        if (cache.Count >= MaxCacheEntries)
        {
            cache.Clear();
        }

        cache[key] = value;
    }

    private static string CollateralKey(QuoteCollateral collateral, X509Certificate2[] pckChain)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string part in new[] { collateral.PckCrlIssuerChain, collateral.RootCaCrl, collateral.PckCrl, collateral.TcbInfoIssuerChain, collateral.TcbInfo, collateral.TcbInfoSignature, collateral.QeIdentityIssuerChain, collateral.QeIdentity, collateral.QeIdentitySignature })
        {
            byte[] bytes = Encoding.UTF8.GetBytes(part ?? string.Empty);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }

        hash.AppendData(pckChain[1].RawData);
        hash.AppendData(pckChain[0].IssuerName.RawData);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private VerifiedCollateral VerifyCollateralUncached(QuoteCollateral collateral, X509Certificate2[] pckChain, VerificationPolicy policy, ValidityWindow window)
    {
        X509Certificate2 root = pckChain[^1];
        X509Certificate2 pckCa = pckChain[1];

        X509Certificate2[] tcbChain = PemChain(collateral.TcbInfoIssuerChain, "TCB info issuer chain", 2);
        X509Certificate2[] qeChain = PemChain(collateral.QeIdentityIssuerChain, "QE identity issuer chain", 2);
        X509Certificate2[] crlChain = PemChain(collateral.PckCrlIssuerChain, "PCK CRL issuer chain", 2);
        foreach ((X509Certificate2[] chain, string name) in new[] { (tcbChain, "TCB info issuer chain"), (qeChain, "QE identity issuer chain"), (crlChain, "PCK CRL issuer chain") })
        {
            CheckRoot(chain[^1], policy);
            if (!chain[^1].RawData.AsSpan().SequenceEqual(root.RawData))
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"The {name} ends in another root than the PCK chain.");
            }

            VerifyChain(chain, name, window);
        }

        if (!crlChain[0].RawData.AsSpan().SequenceEqual(pckCa.RawData))
        {
            throw Fail(VerificationError.InvalidCertificateChain, $"The PCK CRL issuer chain starts with '{crlChain[0].Subject}', not the quote's PCK CA '{pckCa.Subject}'.");
        }

        foreach ((X509Certificate2 signer, string name) in new[] { (tcbChain[0], "TCB info"), (qeChain[0], "QE identity") })
        {
            if (!signer.GetNameInfo(X509NameType.SimpleName, forIssuer: false).Contains("TCB Signing", StringComparison.Ordinal))
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"The {name} is signed by '{signer.Subject}', which is not a TCB Signing certificate.");
            }
        }

        RevocationList rootCrl = RevocationList.Parse(Hex(collateral.RootCaCrl, "root CA CRL"), "root CA CRL");
        RevocationList pckCrl = RevocationList.Parse(Hex(collateral.PckCrl, "PCK CRL"), "PCK CRL");
        if (!rootCrl.IsSignedBy(root))
        {
            throw Fail(VerificationError.InvalidCrl, "The root CA CRL is not issued and signed by the root CA.");
        }

        if (!pckCrl.IssuerRaw.AsSpan().SequenceEqual(pckChain[0].IssuerName.RawData) || !pckCrl.Issuer.Name.Contains("CA", StringComparison.Ordinal))
        {
            throw Fail(VerificationError.InvalidCrl, $"The PCK CRL is issued by '{pckCrl.Issuer.Name}', not by the PCK certificate's issuer '{pckChain[0].Issuer}'.");
        }

        if (!pckCrl.IsSignedBy(pckCa))
        {
            throw Fail(VerificationError.InvalidCrl, "The PCK CRL is not signed by the PCK CA.");
        }

        window.Include(rootCrl.ThisUpdate, rootCrl.NextUpdate ?? DateTimeOffset.MaxValue, "root CA CRL");
        window.Include(pckCrl.ThisUpdate, pckCrl.NextUpdate ?? DateTimeOffset.MaxValue, "PCK CRL");
        foreach (X509Certificate2 intermediate in new[] { pckCa, tcbChain[0], qeChain[0], crlChain[0] })
        {
            if (rootCrl.Revokes(intermediate))
            {
                throw Fail(VerificationError.CertificateRevoked, $"'{intermediate.Subject}' is revoked by the root CA CRL.");
            }
        }

        VerifyJsonSignature(collateral.TcbInfo, collateral.TcbInfoSignature, tcbChain[0], VerificationError.InvalidTcbInfoSignature, "TCB info");
        VerifyJsonSignature(collateral.QeIdentity, collateral.QeIdentitySignature, qeChain[0], VerificationError.InvalidQeIdentitySignature, "QE identity");
        TcbInfo tcbInfo = TcbInfo.Parse(collateral.TcbInfo);
        QeIdentity qeIdentity = QeIdentity.Parse(collateral.QeIdentity);
        window.Include(tcbInfo.IssueDate, tcbInfo.NextUpdate, "TCB info");
        window.Include(qeIdentity.IssueDate, qeIdentity.NextUpdate, "QE identity");
        return new VerifiedCollateral(tcbInfo, qeIdentity, pckCrl, []);
    }

    private static (TcbStatus, string[]) MatchQeIdentity(Quote quote, QeIdentity identity)
    {
        string expectedId = quote.TeeType == TeeType.Tdx ? "TD_QE" : "QE";
        SgxReportBody qe = quote.QeReport;
        if (identity.Id != expectedId)
        {
            throw Fail(VerificationError.QeIdentityMismatch, $"The QE identity is for '{identity.Id}'; a {quote.TeeType} quote needs '{expectedId}'.");
        }

        Span<byte> misc = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(misc, qe.MiscSelect);
        byte[] attributes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(attributes, qe.Flags);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(attributes.AsSpan(8), qe.Xfrm);
        if (!qe.MrSigner.AsSpan().SequenceEqual(identity.MrSigner) || qe.IsvProdId != identity.IsvProdId
            || !MaskedEqual(misc, identity.MiscSelect, identity.MiscSelectMask) || !MaskedEqual(attributes, identity.Attributes, identity.AttributesMask))
        {
            throw Fail(VerificationError.QeIdentityMismatch, "The quoting enclave is not the one the QE identity describes (MRSIGNER, product id, MISCSELECT or attributes differ; a debug QE never matches).");
        }

        foreach ((ushort svn, TcbStatus status, string[] advisories) in identity.Levels)
        {
            if (qe.IsvSvn >= svn)
            {
                return (status, advisories);
            }
        }

        throw Fail(VerificationError.QeTcbLevelNotFound, $"The QE's ISVSVN {qe.IsvSvn} is below every level of the QE identity.");
    }

    private static (TcbStatus, string[]) MatchTdxModule(TdReportBody td, TcbInfo tcbInfo)
    {
        byte moduleVersion = td.TeeTcbSvn[1];
        TdxModuleIdentity? identity = moduleVersion > 0
            ? tcbInfo.TdxModuleIdentities.FirstOrDefault(m => m.Id == $"TDX_{moduleVersion:X2}")
            : tcbInfo.TdxModule;
        if (identity is null)
        {
            throw Fail(VerificationError.TdxModuleMismatch, $"The TCB info has no identity for TDX module version {moduleVersion}.");
        }

        byte[] seamAttributes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(seamAttributes, td.SeamAttributes);
        if (!td.MrSignerSeam.AsSpan().SequenceEqual(identity.MrSigner) || !MaskedEqual(seamAttributes, identity.Attributes, identity.AttributesMask))
        {
            throw Fail(VerificationError.TdxModuleMismatch, "The TDX module's signer or attributes differ from the TCB info's module identity.");
        }

        if (identity.Levels.Count == 0)
        {
            return (TcbStatus.UpToDate, []);
        }

        foreach ((ushort svn, TcbStatus status, string[] advisories) in identity.Levels)
        {
            if (td.TeeTcbSvn[0] >= svn)
            {
                return (status, advisories);
            }
        }

        throw Fail(VerificationError.TcbLevelNotFound, $"The TDX module SVN {td.TeeTcbSvn[0]} is below every level of {identity.Id}.");
    }

    private static TcbLevel MatchTcbLevel(Quote quote, SgxPckExtensions platform, TcbInfo tcbInfo)
    {
        byte[]? teeTcbSvn = quote.TdBody?.TeeTcbSvn;
        foreach (TcbLevel level in tcbInfo.Levels)
        {
            bool sgx = platform.PceSvn >= level.PceSvn;
            for (int i = 0; sgx && i < 16; i++)
            {
                sgx = platform.TcbComponents[i] >= level.SgxComponents[i];
            }

            if (!sgx)
            {
                continue;
            }

            if (teeTcbSvn is null)
            {
                return level;
            }

            if (level.TdxComponents is null)
            {
                continue;
            }

            // With a module version, components 0 and 1 are judged by the module identity instead.
            bool tdx = true;
            for (int i = teeTcbSvn[1] > 0 ? 2 : 0; tdx && i < 16; i++)
            {
                tdx = teeTcbSvn[i] >= level.TdxComponents[i];
            }

            if (tdx)
            {
                return level;
            }
        }

        throw Fail(VerificationError.TcbLevelNotFound, "No TCB level of the TCB info is reached by this platform's SVNs (Intel: TCB_NOT_SUPPORTED).");
    }

    private static string? ApplyPolicy(Quote quote, TcbStatus status, VerificationPolicy policy, out VerificationError error)
    {
        error = default;
        if (quote.IsDebug && !policy.AllowDebug)
        {
            error = VerificationError.DebugEnclave;
            return quote.TeeType == TeeType.Tdx ? "The TD is debuggable (TUD.DEBUG)." : "The enclave is a debug enclave (ATTRIBUTES.DEBUG).";
        }

        if (quote.TdBody?.MrServiceTd is { } serviceTd && serviceTd.Any(b => b != 0) && !policy.AllowServiceTd)
        {
            error = VerificationError.ServiceTdNotAllowed;
            return "The TD is bound to a service TD (MRSERVICETD is not zero).";
        }

        if (status == TcbStatus.Revoked || !policy.AcceptedTcbStatuses.Contains(status))
        {
            error = VerificationError.TcbStatusNotAccepted;
            return $"The platform's TCB status is {status}; the policy accepts {string.Join(", ", policy.AcceptedTcbStatuses.Where(s => s != TcbStatus.Revoked))}.";
        }

        byte[] uniqueId = quote.SgxBody?.MrEnclave ?? quote.TdBody!.MrTd;
        if (policy.ExpectedMrEnclave is { } expectedUnique && !CryptographicOperations.FixedTimeEquals(expectedUnique, uniqueId))
        {
            error = VerificationError.IdentityMismatch;
            return $"{(quote.SgxBody is null ? "MRTD" : "MRENCLAVE")} is {Convert.ToHexStringLower(uniqueId)}, not the expected {Convert.ToHexStringLower(expectedUnique)}.";
        }

        if (quote.SgxBody is { } sgx)
        {
            if (policy.ExpectedMrSigner is { } signer && !CryptographicOperations.FixedTimeEquals(signer, sgx.MrSigner))
            {
                error = VerificationError.IdentityMismatch;
                return $"MRSIGNER is {Convert.ToHexStringLower(sgx.MrSigner)}, not the expected {Convert.ToHexStringLower(signer)}.";
            }

            if (policy.ExpectedProductId is { } product && product != sgx.IsvProdId)
            {
                error = VerificationError.IdentityMismatch;
                return $"ISVPRODID is {sgx.IsvProdId}, not the expected {product}.";
            }

            if (policy.MinimumSecurityVersion is { } minimum && sgx.IsvSvn < minimum)
            {
                error = VerificationError.IdentityMismatch;
                return $"ISVSVN is {sgx.IsvSvn}, below the minimum {minimum}.";
            }
        }

        return null;
    }

    /// <summary>True for a trusted root; for a simulation root, true only when the policy allows it.</summary>
    private bool CheckRoot(X509Certificate2 root, VerificationPolicy policy)
    {
        byte[] hash = SHA256.HashData(root.RawData);
        if (_trustedRootHashes.Any(h => h.AsSpan().SequenceEqual(hash)))
        {
            return false;
        }

        if (_simulationRootHashes.Any(h => h.AsSpan().SequenceEqual(hash)))
        {
            return policy.AllowSimulation
                ? true
                : throw Fail(VerificationError.SimulationNotAllowed, "The quote comes from a simulated platform (it chains to a simulation root); the policy does not allow simulation.");
        }

        throw Fail(VerificationError.UntrustedRoot, $"The chain ends in '{root.Subject}' (SHA-256 {Convert.ToHexStringLower(hash)}), which is not a trusted root.");
    }

    /// <summary>Each certificate signed by the next, names chained, issuers CAs, the last self-signed; windows collected.</summary>
    private static void VerifyChain(X509Certificate2[] chain, string name, ValidityWindow window)
    {
        for (int i = 0; i < chain.Length; i++)
        {
            X509Certificate2 certificate = chain[i];
            X509Certificate2 issuer = i + 1 < chain.Length ? chain[i + 1] : certificate;
            if (!certificate.IssuerName.RawData.AsSpan().SequenceEqual(issuer.SubjectName.RawData))
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"In the {name}, '{certificate.Subject}' is not issued by '{issuer.Subject}'.");
            }

            if (i > 0 && !SignedCertificate.IsCertificateAuthority(certificate))
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"In the {name}, '{certificate.Subject}' issues certificates but is not a CA.");
            }

            using ECDsa issuerKey = SignedCertificate.PublicKey(issuer);
            if (!SignedCertificate.IsSignedBy(certificate.RawData, issuerKey))
            {
                throw Fail(VerificationError.InvalidCertificateChain, $"In the {name}, the signature of '{certificate.Subject}' does not verify.");
            }

            window.Include(certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), $"certificate '{certificate.GetNameInfo(X509NameType.SimpleName, false)}'");
        }
    }

    private static void VerifyJsonSignature(string json, string signatureHex, X509Certificate2 signer, VerificationError error, string name)
    {
        byte[] signature = Hex(signatureHex, $"{name} signature");
        using ECDsa key = SignedCertificate.PublicKey(signer);
        if (signature.Length != 64 || !key.VerifyData(Encoding.UTF8.GetBytes(json), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            throw Fail(error, $"The {name} is not signed by '{signer.Subject}' (it was altered, or re-serialized: the signature covers the exact text).");
        }
    }

    private static X509Certificate2[] PemChain(string? pem, string name, int expected)
    {
        if (string.IsNullOrEmpty(pem))
        {
            throw Fail(VerificationError.MalformedCollateral, $"The {name} is missing.");
        }

        var certificates = new List<X509Certificate2>();
        try
        {
            ReadOnlySpan<char> rest = pem;
            while (PemEncoding.TryFind(rest, out PemFields fields))
            {
                if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(Convert.FromBase64String(rest[fields.Base64Data].ToString())));
                }

                rest = rest[fields.Location.End..];
            }
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            throw Fail(VerificationError.InvalidCertificateChain, $"The {name} holds a certificate that cannot be parsed: {ex.Message}", ex);
        }

        return certificates.Count == expected
            ? certificates.ToArray()
            : throw Fail(VerificationError.InvalidCertificateChain, $"The {name} has {certificates.Count} certificates; {expected} are expected.");
    }

    private static byte[] Hex(string? text, string name)
    {
        try
        {
            return Convert.FromHexString(text ?? string.Empty);
        }
        catch (FormatException ex)
        {
            throw Fail(VerificationError.MalformedCollateral, $"The {name} is not hexadecimal.", ex);
        }
    }

    private static bool MaskedEqual(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> mask)
    {
        for (int i = 0; i < mask.Length; i++)
        {
            if ((actual[i] & mask[i]) != (expected[i] & mask[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static QuoteVerificationResult Failure(VerificationError error, string message, Quote? quote, DateTimeOffset at) =>
        new() { Verified = false, Error = error, ErrorMessage = message, Quote = quote, VerifiedAt = at };

    private static QuoteVerificationException Fail(VerificationError error, string message, Exception? inner = null) => new(error, message, inner);

    /// <summary>The intersection [From, Until) of every collateral item's validity, and the check against a time.</summary>
    private sealed class ValidityWindow
    {
        private readonly List<Item> _items = [];
        private string _latestStart = "";
        private string _earliestEnd = "";

        public readonly record struct Item(DateTimeOffset From, DateTimeOffset Until, string Name);

        public DateTimeOffset From { get; private set; } = DateTimeOffset.MinValue;

        public DateTimeOffset Until { get; private set; } = DateTimeOffset.MaxValue;

        public IReadOnlyList<Item> Items => _items.ToArray();

        public void IncludeAll(IEnumerable<Item> items)
        {
            foreach (Item item in items)
            {
                Include(item.From, item.Until, item.Name);
            }
        }

        public void Include(DateTimeOffset from, DateTimeOffset until, string name)
        {
            _items.Add(new Item(from, until, name));
            if (from > From)
            {
                From = from;
                _latestStart = name;
            }

            if (until < Until)
            {
                Until = until;
                _earliestEnd = name;
            }
        }

        public void Require(DateTimeOffset at)
        {
            if (at < From)
            {
                throw Fail(VerificationError.CollateralNotYetValid, $"At {at:O} the {_latestStart} is not yet valid (from {From:O}).");
            }

            if (at >= Until)
            {
                throw Fail(VerificationError.CollateralExpired, $"At {at:O} the {_earliestEnd} has expired (valid until {Until:O}).");
            }
        }
    }
}
