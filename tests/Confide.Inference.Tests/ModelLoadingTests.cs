using System.Net;
using Confide.Inference.Encryption;
using Confide.Inference.Hosting;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.Inference.Tests.Onnx;
using Confide.Inference.Tests.Support;
using Confide.Tee;

namespace Confide.Inference.Tests;

/// <summary>Models load only decrypted with the right key; tampered, wrongly keyed and plaintext models are refused at load with the model named.</summary>
public sealed class ModelLoadingTests(InferenceFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_encrypted_model_loads_with_its_sealed_key_and_matches_onnx_runtime()
    {
        string root = fixture.Scratch("roundtrip");
        fixture.WriteModel("mlp", "3", fixture.Mlp1, root);

        using ModelRepository repository = await ModelRepository.LoadAsync(ModelRepository.Scan(root), new ModelRepositoryOptions { KeyProvider = fixture.Keys }, Ct);

        LoadedModel model = repository.Resolve("mlp", null);
        Assert.Equal("3", model.Version);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(root, "mlp", "3", ModelRepository.EncryptedFileName)))), model.FileSha256);
        Assert.True(repository.AllReady);
    }

    [Fact]
    public async Task A_tampered_model_is_refused_at_load()
    {
        string root = fixture.Scratch("tampered");
        fixture.WriteModel("cnn", "1", fixture.Cnn, root);
        string path = Path.Combine(root, "cnn", "1", ModelRepository.EncryptedFileName);
        byte[] file = File.ReadAllBytes(path);
        file[ModelEncryption.HeaderSize + 100] ^= 0x80;
        File.WriteAllBytes(path, file);

        ModelLoadException ex = await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync(ModelRepository.Scan(root), new ModelRepositoryOptions { KeyProvider = fixture.Keys }, Ct));

        Assert.Equal(ModelLoadError.Decryption, ex.Error);
        Assert.Equal(ModelEncryptionError.Tampered, ex.EncryptionError);
        Assert.Contains("Model cnn version 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Tampered", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_under_a_key_the_enclave_does_not_hold_is_refused_at_load()
    {
        string root = fixture.Scratch("foreign-key");
        byte[] otherKey = ModelEncryption.GenerateKey();
        Directory.CreateDirectory(Path.Combine(root, "mlp", "1"));
        File.WriteAllBytes(Path.Combine(root, "mlp", "1", ModelRepository.EncryptedFileName), ModelEncryption.Encrypt(fixture.Mlp1, otherKey));

        ModelLoadException ex = await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync(ModelRepository.Scan(root), new ModelRepositoryOptions { KeyProvider = fixture.Keys }, Ct));

        Assert.Equal(ModelLoadError.KeyUnavailable, ex.Error);
        Assert.Contains($"No sealed key with id {ModelEncryption.KeyIdHex(otherKey)}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_returns_the_wrong_key_is_caught_before_decryption()
    {
        string root = fixture.Scratch("wrong-key");
        fixture.WriteModel("mlp", "1", fixture.Mlp1, root);
        byte[] wrong = ModelEncryption.GenerateKey();

        ModelLoadException ex = await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync(ModelRepository.Scan(root), new ModelRepositoryOptions { KeyProvider = new FixedKeyProvider(wrong) }, Ct));

        Assert.Equal(ModelLoadError.Decryption, ex.Error);
        Assert.Equal(ModelEncryptionError.WrongKey, ex.EncryptionError);
        Assert.Contains(ModelEncryption.KeyIdHex(fixture.ModelKey), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plaintext_models_load_only_when_allowed()
    {
        string root = fixture.Scratch("plaintext");
        Directory.CreateDirectory(Path.Combine(root, "mlp", "1"));
        File.WriteAllBytes(Path.Combine(root, "mlp", "1", ModelRepository.PlaintextFileName), fixture.Mlp1);

        ModelLoadException refused = await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync(ModelRepository.Scan(root), new ModelRepositoryOptions(), Ct));
        Assert.Equal(ModelLoadError.PlaintextNotAllowed, refused.Error);
        Assert.Contains("confide model encrypt", refused.Message, StringComparison.Ordinal);

        using ModelRepository allowed = await ModelRepository.LoadAsync(ModelRepository.Scan(root), new ModelRepositoryOptions { AllowPlaintextModels = true }, Ct);
        Assert.True(allowed.AllReady);
    }

    [Fact]
    public async Task Other_load_failures_are_typed()
    {
        string root = fixture.Scratch("failures");
        var missing = new ModelDescriptor("gone", "1", Path.Combine(root, "missing.confide"));
        Assert.Equal(ModelLoadError.NotFound, (await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync([missing], null, Ct))).Error);

        string encrypted = Path.Combine(root, "encrypted.confide");
        File.WriteAllBytes(encrypted, ModelEncryption.Encrypt(fixture.Mlp1, fixture.ModelKey));
        Assert.Equal(ModelLoadError.NoKeyProvider, (await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync([new ModelDescriptor("m", "1", encrypted)], null, Ct))).Error);
        Assert.Equal(ModelLoadError.TooLarge, (await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync([new ModelDescriptor("m", "1", encrypted)], new ModelRepositoryOptions { KeyProvider = fixture.Keys, MaxModelBytes = 100 }, Ct))).Error);

        string garbage = Path.Combine(root, "garbage.confide");
        File.WriteAllBytes(garbage, ModelEncryption.Encrypt("not an onnx model"u8, fixture.ModelKey));
        ModelLoadException invalid = await Assert.ThrowsAsync<ModelLoadException>(() => ModelRepository.LoadAsync([new ModelDescriptor("m", "1", garbage)], new ModelRepositoryOptions { KeyProvider = fixture.Keys }, Ct));
        Assert.Equal(ModelLoadError.InvalidModel, invalid.Error);
        Assert.Contains("ONNX Runtime refused the model", invalid.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => new ModelDescriptor("../etc", "1", "x"));
        Assert.Throws<ArgumentException>(() => new ModelDescriptor("m", "0", "x"));
        Assert.Throws<ArgumentException>(() => new ModelDescriptor("m", "v1", "x"));
        await Assert.ThrowsAsync<ArgumentException>(() => ModelRepository.LoadAsync([new ModelDescriptor("m", "1", encrypted), new ModelDescriptor("m", "1", encrypted)], null, Ct));
    }

    [Fact]
    public void Repository_layout_errors_are_named()
    {
        string root = fixture.Scratch("layout");
        Directory.CreateDirectory(Path.Combine(root, "m", "latest"));
        Assert.Contains("is not a model version", Assert.Throws<InvalidDataException>(() => ModelRepository.Scan(root)).Message, StringComparison.Ordinal);

        string empty = fixture.Scratch("layout-empty");
        Directory.CreateDirectory(Path.Combine(empty, "m", "1"));
        Assert.Contains("holds neither model.confide nor model.onnx", Assert.Throws<InvalidDataException>(() => ModelRepository.Scan(empty)).Message, StringComparison.Ordinal);

        string both = fixture.Scratch("layout-both");
        Directory.CreateDirectory(Path.Combine(both, "m", "1"));
        File.WriteAllBytes(Path.Combine(both, "m", "1", ModelRepository.PlaintextFileName), [1]);
        File.WriteAllBytes(Path.Combine(both, "m", "1", ModelRepository.EncryptedFileName), [1]);
        Assert.Contains("holds both", Assert.Throws<InvalidDataException>(() => ModelRepository.Scan(both)).Message, StringComparison.Ordinal);

        Assert.Throws<DirectoryNotFoundException>(() => ModelRepository.Scan(Path.Combine(root, "nothing-here")));
    }

    [Fact]
    public async Task A_server_refuses_to_start_on_a_bad_model_unless_lenient_and_then_reports_it_not_ready()
    {
        string root = fixture.Scratch("lenient");
        fixture.WriteModel("mlp", "1", fixture.Mlp1, root);
        fixture.WriteModel("mlp", "2", fixture.Mlp2, root);
        string path = Path.Combine(root, "mlp", "2", ModelRepository.EncryptedFileName);
        byte[] file = File.ReadAllBytes(path);
        file[^1] ^= 1;
        File.WriteAllBytes(path, file);

        await Assert.ThrowsAsync<ModelLoadException>(() => InferenceServer.StartAsync(new InferenceServerOptions { ModelDirectory = root, Repository = new ModelRepositoryOptions { KeyProvider = fixture.Keys }, MetricsUrl = null }, Ct));

        await using InferenceServer server = await InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelDirectory = root,
            Repository = new ModelRepositoryOptions { KeyProvider = fixture.Keys, FailOnLoadError = false },
            MetricsUrl = null,
        }, Ct);
        using var http = new HttpClient { BaseAddress = server.RestUrl };
        Assert.Equal("{\"name\":\"mlp\",\"ready\":false}", await (await http.GetAsync("/v2/models/mlp/versions/2/ready", Ct)).Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v2/models/mlp/versions/2/ready", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/mlp/ready", Ct)).StatusCode);
        Assert.Contains("version 2 is not ready: it failed to load", await Rest.ErrorAsync(await http.GetAsync("/v2/models/mlp/versions/2", Ct), HttpStatusCode.ServiceUnavailable), StringComparison.Ordinal);

        // The default version is the highest that loaded.
        TestTensor x = TestData.Floats("x", [1, TestModels.MlpInputs], seed: 30);
        (System.Text.Json.JsonElement json, var outputs) = await Rest.ReadResponseAsync(await Rest.PostJsonAsync(http, "/v2/models/mlp/infer", Rest.Request(Rest.JsonInput(x))));
        Assert.Equal("1", json.GetProperty("model_version").GetString());
        Same.Outputs(Reference.Run(fixture.Mlp1, [x]), outputs);
        Assert.Contains("not ready", await Rest.ErrorAsync(await Rest.PostJsonAsync(http, "/v2/models/mlp/versions/2/infer", Rest.Request(Rest.JsonInput(x))), HttpStatusCode.ServiceUnavailable), StringComparison.Ordinal);
        ModelVersionState failed = server.Repository.VersionsOf("mlp").Single(v => !v.IsReady);
        Assert.Equal(ModelEncryptionError.Tampered, failed.Failure!.EncryptionError);
    }

    [Fact]
    public async Task Sealed_keys_open_only_in_the_enclave_that_sealed_them_and_under_their_own_id()
    {
        string directory = fixture.Scratch("sealed");
        string id;
        using (var tee = fixture.NewTee("enclave-a"))
        {
            id = new SealedModelKeyProvider(tee, directory, allowSimulation: true).Import(fixture.ModelKey);
            Assert.Equal(ModelEncryption.KeyIdHex(fixture.ModelKey), id);
        }

        var descriptor = new ModelDescriptor("m", "1", "unused") { KeyId = id };
        using (var sameSigner = fixture.NewTee("enclave-b"))
        {
            // Product policy: another build from the same signer and product opens it (an upgrade).
            byte[] key = await new SealedModelKeyProvider(sameSigner, directory, allowSimulation: true).GetKeyAsync(descriptor, Ct);
            Assert.Equal(fixture.ModelKey, key);
        }

        using (var tee = fixture.NewTee("enclave-a"))
        {
            var provider = new SealedModelKeyProvider(tee, directory, allowSimulation: true, SealPolicy.Unique);
            string uniqueId = provider.Import(ModelEncryption.GenerateKey());
            using var other = fixture.NewTee("enclave-c");
            ModelKeyUnavailableException refused = await Assert.ThrowsAsync<ModelKeyUnavailableException>(async () =>
                await new SealedModelKeyProvider(other, directory, allowSimulation: true).GetKeyAsync(descriptor with { KeyId = uniqueId }, Ct));
            Assert.Contains("WrongIdentity", refused.Message, StringComparison.Ordinal);

            // A blob renamed to another key's id does not open: the id is its associated data.
            File.Copy(Path.Combine(directory, uniqueId + ".sealed"), Path.Combine(directory, id + ".sealed"), overwrite: true);
            ModelKeyUnavailableException renamed = await Assert.ThrowsAsync<ModelKeyUnavailableException>(async () => await provider.GetKeyAsync(descriptor, Ct));
            Assert.Contains("Tampered", renamed.Message, StringComparison.Ordinal);
            Assert.True(provider.Remove(id));
            Assert.False(provider.Remove(id));
        }

        using var simulated = fixture.NewTee();
        Assert.Throws<ArgumentException>(() => new SealedModelKeyProvider(simulated, directory));
    }

    private sealed class FixedKeyProvider(byte[] key) : IModelKeyProvider
    {
        public ValueTask<byte[]> GetKeyAsync(ModelDescriptor model, CancellationToken cancellationToken) => ValueTask.FromResult(key.ToArray());
    }
}
