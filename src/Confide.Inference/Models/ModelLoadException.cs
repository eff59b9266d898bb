using Confide.Inference.Encryption;

namespace Confide.Inference.Models;

/// <summary>Why a model version could not be loaded.</summary>
public enum ModelLoadError
{
    /// <summary>The model file does not exist or cannot be read.</summary>
    NotFound,

    /// <summary>The file is larger than <see cref="ModelRepositoryOptions.MaxModelBytes"/>.</summary>
    TooLarge,

    /// <summary>The file is not a CONFIDE-MODEL file, and plaintext models are not allowed.</summary>
    PlaintextNotAllowed,

    /// <summary>The file is encrypted and no key provider is configured.</summary>
    NoKeyProvider,

    /// <summary>The key provider could not supply the key.</summary>
    KeyUnavailable,

    /// <summary>The file could not be decrypted; <see cref="ModelLoadException.EncryptionError"/> says why (WrongKey, Tampered, ...).</summary>
    Decryption,

    /// <summary>ONNX Runtime refused the (decrypted) model.</summary>
    InvalidModel,

    /// <summary>The model loads but has an input or output this server cannot carry (a sequence, a map, or an unsupported element type).</summary>
    UnsupportedModel,
}

/// <summary>A model version that was refused at load, naming the model and the reason.</summary>
public sealed class ModelLoadException(ModelDescriptor model, ModelLoadError error, string message, Exception? inner = null)
    : Exception($"Model {model} ({model.Path}): {message}", inner)
{
    public ModelDescriptor Model { get; } = model;

    public ModelLoadError Error { get; } = error;

    /// <summary>For <see cref="ModelLoadError.Decryption"/>: the format's reason.</summary>
    public ModelEncryptionError? EncryptionError { get; } = (inner as ModelEncryptionException)?.Error;
}
