namespace Confide.Ledger.Recovery;

/// <summary>
/// A recovery member: an id (in CCF, the hex SHA-256 of the member certificate) and the RSA public key,
/// in PEM (<c>PUBLIC KEY</c> or <c>RSA PUBLIC KEY</c>), its share is encrypted to.
/// </summary>
public sealed record RecoveryMember(string Id, string EncryptionPublicKeyPem);
