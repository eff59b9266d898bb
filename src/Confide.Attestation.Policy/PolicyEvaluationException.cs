namespace Confide.Attestation.Policy;

/// <summary>
/// Evaluation of a (syntactically valid) policy was aborted, e.g. because it exceeded
/// <see cref="AttestationPolicy.MaxEvaluationSteps"/>. Treat as "not permitted".
/// </summary>
public sealed class PolicyEvaluationException : InvalidOperationException
{
    public PolicyEvaluationException()
    {
    }

    public PolicyEvaluationException(string message)
        : base(message)
    {
    }

    public PolicyEvaluationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
