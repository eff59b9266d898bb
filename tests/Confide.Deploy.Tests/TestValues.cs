namespace Confide.Deploy.Tests;

/// <summary>Values files used across the tests.</summary>
internal static class TestValues
{
    public const string KeyBrokerMrEnclave = "2f1c6a0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
    public const string InferenceMrEnclave = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    public const string InferenceMrSigner = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>Every service on AKS SGX nodes (the example in docs/deploy-aks.md).</summary>
    public static string Sgx(string provider = "azure", bool aesmd = true) => $$"""
        namespace: confide
        image: myregistry.azurecr.io/confide:0.1.0
        imagePullSecrets: [acr-pull]
        tee: sgx-gramine
        sgx:
          provider: {{provider}}
          aesmd: {{(aesmd ? "true" : "false")}}
          nodePool: confpool
        monitoringNamespace: monitoring
        services:
          attestation:
            collateral: https://global.acccache.azure.net/
            adminIssuer: https://ops.example
            adminKeysSecret: confide-admin
          keyBroker:
            epc: 64Mi
            enclave:
              mrenclave: {{KeyBrokerMrEnclave}}
            adminIssuer: https://ops.example
            adminKeysSecret: confide-admin
            attestationCaConfigMap: confide-attestation-tls
          inference:
            image: myregistry.azurecr.io/confide-inference:0.1.0
            package: /enclave
            replicas: 2
            epc: 1Gi
            resources:
              requests: {cpu: "1", memory: 3Gi}
              limits: {cpu: "2", memory: 4Gi}
            enclave:
              mrenclave: {{InferenceMrEnclave}}
              mrsigner: {{InferenceMrSigner}}
            models:
              claimName: models
            keyBroker: true
            attestationCaConfigMap: confide-attestation-tls
            expose: true
          ledger:
            replicas: 3
            collateral: https://global.acccache.azure.net/
            storage: {size: 20Gi, storageClass: managed-csi-premium}
            membersConfigMap: confide-ledger-members
        """;

    public const string Simulation = """
        namespace: confide-dev
        image: localhost:5000/confide:dev
        simulation: true
        simulationPlatformSecret: confide-simulated-platform
        services:
          attestation: {}
          keyBroker:
            enclave: {mrenclave: 2f1c6a0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b}
          inference:
            models: {claimName: models}
            keyBroker: true
          ledger: {}
        """;
}
