using System.Security.Cryptography;
using Confide.Inference.Encryption;
using Confide.Inference.Grpc.Protocol;
using Confide.Inference.Hosting;
using Confide.Inference.Keys;
using Confide.Inference.Models;
using Confide.Inference.Tensors;
using Confide.Inference.Tests.Onnx;
using Confide.Tee;
using Confide.Tee.Simulation;
using Grpc.Net.Client;

[assembly: AssemblyFixture(typeof(Confide.Inference.Tests.Support.InferenceFixture))]

namespace Confide.Inference.Tests.Support;

/// <summary>
/// One inference server for the whole test run, as it would run in an enclave: a model repository of
/// encrypted models (mlp versions 1 and 2, cnn, types, typed, embedding, pair) whose key is sealed by a simulated
/// TEE; REST and gRPC on one cleartext port, metrics on another.
/// </summary>
public sealed class InferenceFixture : IAsyncLifetime
{
    public const long MaxRequestBytes = 4 * 1024 * 1024;

    private readonly TempDirectory _temp = new();
    private SimulatedPlatform? _platform;

    public byte[] Mlp1 { get; } = TestModels.Mlp(seed: 7);

    public byte[] Mlp2 { get; } = TestModels.Mlp(seed: 8);

    public byte[] Cnn { get; } = TestModels.Cnn();

    public byte[] Types { get; } = TestModels.Types();

    /// <summary>Every data type except FP16 (which has no typed gRPC contents).</summary>
    public byte[] Typed { get; } = TestModels.Types(TensorDataTypes.All.Where(t => t != TensorDataType.Fp16));

    public byte[] Embedding { get; } = TestModels.Embedding();

    public byte[] Pair { get; } = TestModels.Pair();

    public byte[] ModelKey { get; } = ModelEncryption.GenerateKey();

    public SimulationTee Tee { get; private set; } = null!;

    public SealedModelKeyProvider Keys { get; private set; } = null!;

    public InferenceServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; private set; } = null!;

    public string RepositoryDirectory => _temp.Combine("models");

    /// <summary>A scratch directory of the fixture's temp folder (not shared between tests that pass different names).</summary>
    public string Scratch(string name)
    {
        string path = _temp.Combine("scratch", name + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public SimulationTee NewTee(string enclave = "confide-inference-tests") =>
        new(_platform!, new TeeIdentity(TeeKind.Simulation, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(enclave)), SHA256.HashData("test signer"u8), 3, 1, false));

    public async ValueTask InitializeAsync()
    {
        _platform = SimulatedPlatform.OpenOrCreate(_temp.Combine("platform"));
        Tee = NewTee();
        Keys = new SealedModelKeyProvider(Tee, _temp.Combine("sealed-keys"), allowSimulation: true);
        Keys.Import(ModelKey);
        WriteModel("mlp", "1", Mlp1);
        WriteModel("mlp", "2", Mlp2);
        WriteModel("cnn", "1", Cnn);
        WriteModel("types", "1", Types);
        WriteModel("typed", "1", Typed);
        WriteModel("embedding", "1", Embedding);
        WriteModel("pair", "1", Pair);

        Server = await InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelDirectory = RepositoryDirectory,
            Repository = new ModelRepositoryOptions { KeyProvider = Keys },
            MaxRequestBytes = MaxRequestBytes,
        }, TestContext.Current.CancellationToken);
        Http = new HttpClient { BaseAddress = Server.RestUrl };
        Channel = GrpcChannel.ForAddress(Server.GrpcUrl!, new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
    }

    public void WriteModel(string name, string version, byte[] model, string? root = null)
    {
        string directory = Path.Combine(root ?? RepositoryDirectory, name, version);
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, ModelRepository.EncryptedFileName), ModelEncryption.Encrypt(model, ModelKey));
    }

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        Http?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        Tee?.Dispose();
        _platform?.Dispose();
        _temp.Dispose();
    }
}
