namespace Confide.Cli.Commands;

/// <summary>
/// The demo's ONNX model, written in code so that nothing is downloaded: <c>y = Relu(x · W + b)</c>
/// with x [N, 4], W [4, 3], b [3] (fixed weights).
/// </summary>
internal static class DemoModel
{
    public const int Inputs = 4;
    public const int Outputs = 3;

    public static readonly float[] Weights = [0.5f, -1.0f, 0.25f, 1.5f, 0.75f, -0.5f, -0.25f, 2.0f, 1.0f, 0.125f, -0.75f, 0.5f];
    public static readonly float[] Bias = [0.1f, -0.2f, 0.3f];

    public static byte[] Build() => Confide.Inference.Samples.DenseModel.Build(Inputs, [(Weights, Bias)]);

    /// <summary>What the model computes, in plain C#, to compare the server's answer with.</summary>
    public static float[] Evaluate(float[] x)
    {
        int rows = x.Length / Inputs;
        float[] y = new float[rows * Outputs];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < Outputs; o++)
            {
                float sum = 0;
                for (int i = 0; i < Inputs; i++)
                {
                    sum += x[r * Inputs + i] * Weights[i * Outputs + o];
                }

                y[r * Outputs + o] = MathF.Max(0, sum + Bias[o]);
            }
        }

        return y;
    }
}
