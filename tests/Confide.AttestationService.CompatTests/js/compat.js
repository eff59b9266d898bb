// Drives the official Azure Attestation JavaScript client (@azure/attestation) against a service.
// Usage: node compat.js job.json   — prints one JSON result per step on stdout (a JSON array).
// The job names the service URL, the PEM of its TLS certificate, an administrator's bearer token
// and the steps; every client is created with its token validation fully on.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const { AttestationClient, AttestationAdministrationClient, createAttestationPolicyToken } = require("@azure/attestation");

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const options = {
  tlsOptions: { ca: fs.readFileSync(job.ca) },
  validationOptions: {
    validateToken: true,
    validateExpirationTime: true,
    validateNotBeforeTime: true,
    validateIssuer: true,
    expectedIssuer: job.url,
    timeValidationSlack: 5,
  },
  retryOptions: { maxRetries: 0 },
};
const credential = { getToken: async () => ({ token: job.adminToken, expiresOnTimestamp: Date.now() + 3600e3 }) };
const client = new AttestationClient(job.url, options);
const admin = new AttestationAdministrationClient(job.url, credential, options);

const hex = (bytes) => (bytes ? Buffer.from(bytes).toString("hex") : null);
const read = (path) => (path ? fs.readFileSync(path) : undefined);

function attestationOptions(step) {
  const o = {};
  if (step.runTimeJson) o.runTimeJson = read(step.runTimeJson);
  if (step.runTimeData) o.runTimeData = read(step.runTimeData);
  if (step.initTimeJson) o.initTimeJson = read(step.initTimeJson);
  return o;
}

function describeAttestation(r) {
  return {
    algorithm: r.token.algorithm,
    keyId: r.token.keyId,
    issuer: r.body.issuer,
    mrEnclave: r.body.mrEnclave,
    mrSigner: r.body.mrSigner,
    productId: r.body.productId,
    svn: r.body.svn,
    isDebuggable: r.body.isDebuggable,
    verifierType: r.body.verifierType,
    version: r.body.version,
    policyHash: Buffer.from(r.body.policyHash).toString("base64url"),
    enclaveHeldData: hex(r.body.enclaveHeldData),
    runTimeClaims: r.body.runTimeClaims ?? null,
    policyClaims: r.body.policyClaims ?? null,
    sgxCollateral: r.body.sgxCollateral ?? null,
    expiresOn: r.token.expiresOn ? r.token.expiresOn.toISOString() : null,
  };
}

function describePolicyResult(r, policyToken) {
  const expected = crypto.createHash("sha256").update(policyToken.serialize()).digest();
  return {
    policyResolution: r.body.policyResolution,
    policyTokenHashMatches: Buffer.compare(Buffer.from(r.body.policyTokenHash), expected) === 0,
    policySigner: r.body.policySigner ? r.body.policySigner.certificates.length : 0,
    algorithm: r.token.algorithm,
  };
}

const operations = {
  attestSgxEnclave: async (s) => describeAttestation(await client.attestSgxEnclave(read(s.quote), attestationOptions(s))),
  attestOpenEnclave: async (s) => describeAttestation(await client.attestOpenEnclave(read(s.report), attestationOptions(s))),
  attestSgxEnclaveWithDraft: async (s) =>
    describeAttestation(await client.attestSgxEnclave(read(s.quote), { ...attestationOptions(s), draftPolicyForAttestation: s.draft })),
  getAttestationSigners: async () => (await client.getAttestationSigners()).map((x) => ({ keyId: x.keyId, certificates: x.certificates.length })),
  getOpenIdMetadata: async () => await client.getOpenIdMetadata(),
  getPolicy: async (s) => {
    const r = await admin.getPolicy(s.type);
    return { policy: r.body, algorithm: r.token.algorithm };
  },
  setPolicy: async (s) => {
    const key = s.privateKey ? fs.readFileSync(s.privateKey, "utf8") : undefined;
    const cert = s.certificate ? fs.readFileSync(s.certificate, "utf8") : undefined;
    const r = await admin.setPolicy(s.type, s.policy, key ? { privateKey: key, certificate: cert } : {});
    return describePolicyResult(r, createAttestationPolicyToken(s.policy, key, cert));
  },
  resetPolicy: async (s) => {
    const key = s.privateKey ? fs.readFileSync(s.privateKey, "utf8") : undefined;
    const cert = s.certificate ? fs.readFileSync(s.certificate, "utf8") : undefined;
    const r = await admin.resetPolicy(s.type, key ? { privateKey: key, certificate: cert } : {});
    return { policyResolution: r.body.policyResolution, algorithm: r.token.algorithm };
  },
  getPolicyManagementCertificates: async () => {
    const r = await admin.getPolicyManagementCertificates();
    return r.body.map((x) => ({ certificates: x.certificates.length }));
  },
  addPolicyManagementCertificate: async (s) => {
    const r = await admin.addPolicyManagementCertificate(fs.readFileSync(s.pem, "utf8"), fs.readFileSync(s.privateKey, "utf8"), fs.readFileSync(s.certificate, "utf8"));
    return { thumbprint: r.body.certificateThumbprint, resolution: r.body.certificateResolution };
  },
  removePolicyManagementCertificate: async (s) => {
    const r = await admin.removePolicyManagementCertificate(fs.readFileSync(s.pem, "utf8"), fs.readFileSync(s.privateKey, "utf8"), fs.readFileSync(s.certificate, "utf8"));
    return { thumbprint: r.body.certificateThumbprint, resolution: r.body.certificateResolution };
  },
};

(async () => {
  const results = [];
  for (const step of job.steps) {
    try {
      results.push({ op: step.op, ok: true, value: await operations[step.op](step) });
    } catch (e) {
      results.push({ op: step.op, ok: false, error: { statusCode: e.statusCode ?? null, code: e.code ?? null, message: String(e.message) } });
    }
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(2);
});
