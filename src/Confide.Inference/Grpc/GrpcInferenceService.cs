using Confide.Inference.Grpc.Protocol;
using Confide.Inference.Serving;
using Grpc.Core;

namespace Confide.Inference.Grpc;

/// <summary>
/// The <c>inference.GRPCInferenceService</c> of the Open Inference Protocol over an
/// <see cref="IInferenceService"/>. Refusals are <see cref="RpcException"/>s with the status code of
/// their <see cref="InferenceError"/> (NotFound, InvalidArgument, ResourceExhausted, Unavailable, Internal).
/// </summary>
public sealed class GrpcInferenceService(IInferenceService service) : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <summary>The protocol label gRPC requests carry in metrics.</summary>
    public const string Protocol = "grpc";

    private readonly IInferenceService _service = service ?? throw new ArgumentNullException(nameof(service));

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = _service.IsLive });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = _service.IsReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Guard(() => new ModelReadyResponse { Ready = _service.IsModelReady(request.Name, Version(request.Version)) });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        ServerMetadata metadata = _service.GetServerMetadata();
        var response = new ServerMetadataResponse { Name = metadata.Name, Version = metadata.Version };
        response.Extensions.AddRange(metadata.Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Guard(() => GrpcCodec.EncodeModelMetadata(_service.GetModelMetadata(request.Name, Version(request.Version))));

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        InferenceRequest decoded;
        try
        {
            decoded = GrpcCodec.DecodeInferRequest(request, Protocol);
        }
        catch (InferenceException ex)
        {
            _service.RecordRejected(Protocol, ex.Error);
            throw ToRpc(ex);
        }

        try
        {
            InferenceResponse response = await _service.InferAsync(decoded, context.CancellationToken).ConfigureAwait(false);
            return GrpcCodec.EncodeInferResponse(response, raw: request.RawInputContents.Count > 0);
        }
        catch (InferenceException ex)
        {
            throw ToRpc(ex);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
        }
    }

    /// <summary>The gRPC status of an inference refusal.</summary>
    public static StatusCode StatusOf(InferenceError error) => error switch
    {
        InferenceError.ModelNotFound or InferenceError.VersionNotFound => StatusCode.NotFound,
        InferenceError.InvalidRequest or InferenceError.InvalidInput or InferenceError.InvalidOutput => StatusCode.InvalidArgument,
        InferenceError.RequestTooLarge => StatusCode.ResourceExhausted,
        InferenceError.ModelNotReady or InferenceError.Unavailable => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };

    private static RpcException ToRpc(InferenceException ex) => new(new Status(StatusOf(ex.Error), ex.Message));

    private static string? Version(string version) => string.IsNullOrEmpty(version) ? null : version;

    private static Task<T> Guard<T>(Func<T> call)
    {
        try
        {
            return Task.FromResult(call());
        }
        catch (InferenceException ex)
        {
            throw ToRpc(ex);
        }
    }
}
