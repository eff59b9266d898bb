namespace Confide.Tee;

/// <summary>The rules every back-end applies to a seal key request before deriving anything.</summary>
internal static class SealKeys
{
    public static void Validate(SealKeyRequest request, TeeIdentity identity)
    {
        if (request.Policy is not (SealPolicy.Unique or SealPolicy.Product))
        {
            throw new TeeException(TeeError.InvalidRequest, $"Unknown seal policy {(byte)request.Policy}.");
        }

        if (request.KeyId.Length != SealKeyRequest.KeyIdSize)
        {
            throw new TeeException(TeeError.InvalidRequest, $"A seal key id is {SealKeyRequest.KeyIdSize} bytes, not {request.KeyId.Length}.");
        }

        // EGETKEY refuses ISVSVN above the enclave's own: older code must not derive newer keys.
        if (request.SecurityVersion > identity.SecurityVersion)
        {
            throw new TeeException(TeeError.InvalidRequest,
                $"The key is for security version {request.SecurityVersion}; this enclave is at {identity.SecurityVersion} and may only derive keys for versions up to its own.");
        }
    }
}
