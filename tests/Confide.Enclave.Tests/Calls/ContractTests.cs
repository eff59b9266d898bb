using Confide.Enclave.Calls.Contracts;

namespace Confide.Enclave.Tests.Calls;

public sealed class ContractTests
{
    public interface IWithProperty
    {
        int Value { get; }
    }

    public interface ISync
    {
        int Add(int a, int b);
    }

    public interface IOverloaded
    {
        Task RunAsync(int a);

        Task RunAsync(string a);
    }

    public interface IRefParameter
    {
        Task RunAsync(ref int a);
    }

#pragma warning disable CA1068 // the point of this contract is the misplaced token
    public interface ITokenFirst
    {
        Task RunAsync(CancellationToken token, int a);
#pragma warning restore CA1068
    }

    public interface IGenericMethod
    {
        Task<T> RunAsync<T>(T value);
    }

    public interface IBaseCalls
    {
        Task<int> BaseAsync();
    }

    public interface IDerivedCalls : IBaseCalls
    {
        Task<int> DerivedAsync();
    }

    [Theory]
    [InlineData(typeof(IWithProperty), "methods only")]
    [InlineData(typeof(ISync), "must return Task")]
    [InlineData(typeof(IOverloaded), "overloads 'RunAsync'")]
    [InlineData(typeof(IRefParameter), "ref/out")]
    [InlineData(typeof(ITokenFirst), "CancellationToken must be the last")]
    [InlineData(typeof(IGenericMethod), "is generic")]
    [InlineData(typeof(Calculator), "must be an interface")]
    public void A_contract_that_cannot_cross_a_process_boundary_is_refused_with_the_reason(Type type, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => CallContract.For(type));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Methods_are_numbered_by_name_including_inherited_ones()
    {
        CallContract contract = CallContract.For(typeof(IDerivedCalls));
        Assert.Equal(["BaseAsync", "DerivedAsync"], contract.Methods.Select(m => m.Name));
        Assert.Equal([0, 1], contract.Methods.Select(m => (int)m.Ordinal));
    }

    [Fact]
    public void Fingerprints_differ_between_contracts_and_are_stable()
    {
        Assert.Equal(CallContract.For(typeof(ICalculator)).Fingerprint, CallContract.For(typeof(ICalculator)).Fingerprint);
        Assert.NotEqual(CallContract.For(typeof(ICalculator)).Fingerprint, CallContract.For(typeof(IDerivedCalls)).Fingerprint);
        Assert.Equal(32, CallContract.For(typeof(ICalculator)).Fingerprint.Length);
    }
}
