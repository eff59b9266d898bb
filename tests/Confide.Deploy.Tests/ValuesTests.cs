using Confide.Deploy.Values;

namespace Confide.Deploy.Tests;

public sealed class ValuesTests
{
    [Fact]
    public void TheDocumentedExampleReads()
    {
        DeployValues values = ValuesReader.Parse(TestValues.Sgx());
        Assert.Equal("confide", values.Namespace);
        Assert.False(values.Simulation);
        Assert.Equal(SgxProvider.Azure, values.Sgx.Provider);
        Assert.Equal(4, values.Services.Count);
        ServiceValues inference = values.Services[ServiceKind.Inference];
        Assert.Equal(1024, inference.EpcMiB);
        Assert.Equal(2, inference.Replicas);
        Assert.Equal("myregistry.azurecr.io/confide-inference:0.1.0", inference.Image);
        Assert.Equal("myregistry.azurecr.io/confide:0.1.0", values.Services[ServiceKind.Ledger].Image);
        Assert.Equal(3, values.Services[ServiceKind.Ledger].Replicas);
        Assert.Equal(new StorageValues("20Gi", "managed-csi-premium"), values.Services[ServiceKind.Ledger].Storage);
        Assert.Equal(64, values.Services[ServiceKind.KeyBroker].EpcMiB);
    }

    [Theory]
    // The field named, and what is wrong with it.
    [InlineData("services:\n  inferrence: {}\n", "services.inferrence", "unknown service 'inferrence'")]
    [InlineData("services:\n  ledger:\n    replicas: -1\n", "services.ledger.replicas", "must be 0 or more, got -1")]
    [InlineData("services:\n  inference:\n    replicas: -3\n    models: {claimName: m}\n", "services.inference.replicas", "must be 0 or more")]
    [InlineData("services:\n  ledger:\n    replicas: 2\n", "services.ledger.replicas", "must be odd")]
    [InlineData("services:\n  keyBroker:\n    replicas: 2\n", "services.keyBroker.replicas", "at most 1")]
    [InlineData("services:\n  ledger:\n    replicas: three\n", "services.ledger.replicas", "must be an integer")]
    [InlineData("services:\n  ledger:\n    epc: 64MB\n", "services.ledger.epc", "EPC size")]
    [InlineData("services:\n  ledger:\n    epc: 0\n", "services.ledger.epc", "between 1Mi and 1024Gi")]
    [InlineData("services:\n  ledger:\n    epc: [64]\n", "services.ledger.epc", "EPC size")]
    [InlineData("services:\n  ledger:\n    enclave: {mrenclave: abc}\n", "services.ledger.enclave.mrenclave", "64 hex digits")]
    [InlineData("services:\n  ledger:\n    replica: 3\n", "services.ledger.replica", "unknown field")]
    [InlineData("services:\n  ledger:\n    resources: {requests: {cpu: 1}, limits: {memory: 1Gi}}\n", "services.ledger.resources.requests", "both cpu and memory")]
    [InlineData("services:\n  ledger:\n    resources: {requests: {cpu: 1, memory: -1Gi}, limits: {memory: 1Gi}}\n", "services.ledger.resources.requests.memory", "positive quantity")]
    [InlineData("services:\n  ledger:\n    resources: {requests: {cpu: 1, memory: 1Gi, sgx.intel.com/epc: 10Mi}, limits: {memory: 1Gi}}\n", "services.ledger.resources.requests.sgx.intel.com/epc", "set epc instead")]
    [InlineData("services:\n  ledger:\n    resources: {requests: {cpu: 1, memory: 1Gi}}\n", "services.ledger.resources.limits.memory", "required")]
    [InlineData("services:\n  ledger:\n    image: Not An Image\n", "services.ledger.image", "not an image reference")]
    [InlineData("services:\n  inference: {}\n", "services.inference.models.claimName", "required")]
    [InlineData("services:\n  inference:\n    models: {claimName: m}\n    keyBroker: true\n", "services.inference.keyBroker", "needs services.keyBroker")]
    [InlineData("services:\n  keyBroker: {}\n  attestation: {collateral: https://pccs.example/}\n  inference:\n    models: {claimName: m}\n    keyBroker: true\n", "services.keyBroker.enclave.mrenclave", "required when services.inference.keyBroker")]
    [InlineData("services:\n  attestation: {}\n", "services.attestation.collateral", "required unless simulation")]
    [InlineData("services:\n  ledger: {}\n", "services.ledger.collateral", "required unless simulation")]
    [InlineData("services:\n  ledger:\n    collateral: pccs.example\n", "services.ledger.collateral", "https URL")]
    [InlineData("services:\n  attestation:\n    collateral: http://pccs.example/\n", "services.attestation.collateral", "https URL")]
    [InlineData("services:\n  keyBroker:\n    adminIssuer: https://ops.example\n", "services.keyBroker.adminKeysSecret", "go together")]
    [InlineData("services:\n  keyBroker:\n    tls: mutual\n", "services.keyBroker.tls", "self-signed, attested or attested-token")]
    [InlineData("services:\n  inference:\n    models: {claimName: m}\n    package: enclave\n", "services.inference.package", "absolute path")]
    [InlineData("services:\n  ledger:\n    codeIds: [xyz]\n", "services.ledger.codeIds[0]", "64 hex digits")]
    [InlineData("services: {}\n", "services", "no service given")]
    [InlineData("tee: simulation\nservices:\n  ledger: {}\n", "tee", "simulation: true")]
    [InlineData("tee: sev\nservices:\n  ledger: {}\n", "tee", "sgx-gramine, tsm or auto")]
    [InlineData("sgx: {provider: amd}\nservices:\n  ledger: {}\n", "sgx.provider", "azure")]
    [InlineData("sgx: {nodePool: Conf_Pool}\nservices:\n  ledger: {}\n", "sgx.nodePool", "node pool name")]
    [InlineData("sgx: {tolerations: [{key: a, operator: Exists, value: b}]}\nservices:\n  ledger: {}\n", "sgx.tolerations[0].value", "must be empty")]
    [InlineData("simulationPlatformSecret: p\nservices:\n  ledger: {}\n", "simulationPlatformSecret", "only with simulation: true")]
    [InlineData("simulation: yes\nservices:\n  ledger: {}\n", "simulation", "true or false")]
    [InlineData("namePrefix: Confide\nservices:\n  ledger: {}\n", "namePrefix", "DNS label")]
    [InlineData("imagePullPolicy: Sometimes\nservices:\n  ledger: {}\n", "imagePullPolicy", "Always, IfNotPresent or Never")]
    [InlineData("services:\n  ledger: {}\nextra: 1\n", "extra", "unknown field")]
    public void InvalidValuesAreRefusedNamingTheField(string body, string field, string message)
    {
        string yaml = "namespace: confide\nimage: registry.example/confide:1\n" + body;
        var ex = Assert.Throws<DeployValuesException>(() => ValuesReader.Parse(yaml));
        Assert.True(ex.Errors.Any(e => e.Field == field && e.Message.Contains(message, StringComparison.Ordinal)), $"expected '{field}: ...{message}...', got:{Environment.NewLine}{ex.Message}");
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingImageNamesTheService()
    {
        var ex = Assert.Throws<DeployValuesException>(() => ValuesReader.Parse("namespace: confide\nservices:\n  ledger: {collateral: 'https://pccs.example/'}\n  keyBroker:\n    image: r.example/keys:1\n"));
        ValuesError error = Assert.Single(ex.Errors);
        Assert.Equal("services.ledger.image", error.Field);
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void EveryErrorIsReportedAtOnceWithItsLine()
    {
        const string yaml = "namespace: Bad_Namespace\nimage: registry.example/confide:1\nservices:\n  ledger:\n    replicas: -1\n    collateral: https://pccs.example/\n  gateway: {}\n";
        var ex = Assert.Throws<DeployValuesException>(() => ValuesReader.Parse(yaml));
        Assert.Equal(["namespace", "services.ledger.replicas", "services.gateway"], ex.Errors.Select(e => e.Field));
        Assert.Equal([1, 5, 7], ex.Errors.Select(e => e.Line ?? 0));
    }

    [Fact]
    public void MissingNamespaceAndBrokenYamlAreNamed()
    {
        Assert.Contains(Assert.Throws<DeployValuesException>(() => ValuesReader.Parse("image: r.example/c:1\nservices:\n  ledger: {}\n")).Errors, e => e.Field == "namespace");
        ValuesError broken = Assert.Single(Assert.Throws<DeployValuesException>(() => ValuesReader.Parse("namespace: [a\n")).Errors);
        Assert.Equal("(document)", broken.Field);
        Assert.Single(Assert.Throws<DeployValuesException>(() => ValuesReader.Parse("- a\n- b\n")).Errors, e => e.Field == "(document)");
    }

    [Fact]
    public void ADisabledServiceNeedsNoImage()
    {
        DeployValues values = ValuesReader.Parse("namespace: confide\nsimulation: true\nservices:\n  ledger: {enabled: false}\n  attestation: {image: r.example/c:1}\n");
        Assert.Null(values.Service(ServiceKind.Ledger));
        Assert.NotNull(values.Service(ServiceKind.Attestation));
    }
}
