using System.Text;
using System.Text.Json.Nodes;
using Confide.Attestation.Collateral;
using Confide.Attestation.Collateral.Tests.Support;

namespace Confide.Attestation.Collateral.Tests;

public sealed class CollateralJsonTests
{
    public static TheoryData<string> FieldNames => new(CollateralJson.FieldNames);

    public static TheoryData<string> HexFields => new("root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature");

    public static TheoryData<string> ChainFields => new("pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain");

    [Theory]
    [MemberData(nameof(DcapVectors.All), MemberType = typeof(DcapVectors))]
    public void Every_vector_collateral_parses_to_the_same_record_as_FromJson(string vector)
    {
        VectorInfo info = VectorInfo.Of(vector);
        string json = File.ReadAllText(Path.Combine(DcapVectors.Directory, info.CollateralFile));

        QuoteCollateral parsed = CollateralJson.Parse(json);

        Assert.Equal(QuoteCollateral.FromJson(json), parsed);
        Assert.Equal(parsed, CollateralJson.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Same(parsed, CollateralJson.Validate(parsed));
    }

    [Fact]
    public void Round_trips_through_ToJson()
    {
        QuoteCollateral collateral = VectorInfo.Of("tdx_v4_phala").Collateral;
        Assert.Equal(collateral, CollateralJson.Parse(collateral.ToJson()));
    }

    [Theory]
    [MemberData(nameof(FieldNames))]
    public void A_missing_field_is_named(string field)
    {
        JsonObject json = Sample();
        json.Remove(field);
        AssertRejected(json.ToJsonString(), field, "missing");
    }

    [Theory]
    [MemberData(nameof(FieldNames))]
    public void An_empty_field_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = "  ";
        AssertRejected(json.ToJsonString(), field, "empty");
    }

    [Theory]
    [MemberData(nameof(FieldNames))]
    public void A_non_string_field_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = 42;
        AssertRejected(json.ToJsonString(), field, "string");
    }

    [Theory]
    [MemberData(nameof(FieldNames))]
    public void A_null_field_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = null;
        AssertRejected(json.ToJsonString(), field);
    }

    [Theory]
    [MemberData(nameof(HexFields))]
    public void Bad_hex_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = "zz" + json[field]!.GetValue<string>()[2..];
        AssertRejected(json.ToJsonString(), field, "hex");

        json[field] = json[field]!.GetValue<string>()[3..]; // odd length
        AssertRejected(json.ToJsonString(), field);
    }

    [Theory]
    [InlineData("tcb_info_signature")]
    [InlineData("qe_identity_signature")]
    public void A_signature_of_the_wrong_length_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = json[field]!.GetValue<string>() + "00";
        AssertRejected(json.ToJsonString(), field, "65 bytes");
    }

    [Theory]
    [InlineData("root_ca_crl")]
    [InlineData("pck_crl")]
    public void A_crl_that_is_not_a_crl_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = "3003020101";
        AssertRejected(json.ToJsonString(), field, "CRL");
    }

    [Theory]
    [MemberData(nameof(ChainFields))]
    public void A_chain_without_certificates_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = "not a PEM chain";
        AssertRejected(json.ToJsonString(), field, "certificate");

        json[field] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        AssertRejected(json.ToJsonString(), field, "certificate");
    }

    [Theory]
    [InlineData("tcb_info")]
    [InlineData("qe_identity")]
    public void Signed_json_that_is_not_json_is_named(string field)
    {
        JsonObject json = Sample();
        json[field] = "{\"id\":";
        AssertRejected(json.ToJsonString(), field, "JSON");

        json[field] = "[1,2]";
        AssertRejected(json.ToJsonString(), field, "object");
    }

    [Theory]
    [InlineData("tcb_info", "nextUpdate")]
    [InlineData("qe_identity", "nextUpdate")]
    [InlineData("tcb_info", "fmspc")]
    public void Signed_json_without_a_needed_member_is_named(string field, string member)
    {
        JsonObject json = Sample();
        JsonObject inner = JsonNode.Parse(json[field]!.GetValue<string>())!.AsObject();
        inner.Remove(member);
        json[field] = inner.ToJsonString();
        AssertRejected(json.ToJsonString(), field, member);
    }

    [Fact]
    public void A_bad_timestamp_is_named()
    {
        JsonObject json = Sample();
        json["tcb_info"] = json["tcb_info"]!.GetValue<string>().Replace("\"nextUpdate\":\"2025-", "\"nextUpdate\":\"tomorrow-", StringComparison.Ordinal);
        AssertRejected(json.ToJsonString(), "tcb_info", "nextUpdate");
    }

    [Fact]
    public void A_duplicated_field_is_rejected()
    {
        string json = Sample().ToJsonString();
        string duplicated = json.Insert(1, "\"pck_crl\":\"00\",");
        AssertRejected(duplicated, "pck_crl", "more than once");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"pck_crl\":")]
    [InlineData("not json")]
    [InlineData("{} trailing")]
    public void Malformed_json_is_a_CollateralException(string json)
    {
        CollateralException ex = Assert.Throws<CollateralException>(() => CollateralJson.Parse(json));
        Assert.Contains("malformed", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    public void A_non_object_is_a_CollateralException(string json) =>
        Assert.Contains("object", Assert.Throws<CollateralException>(() => CollateralJson.Parse(json)).Message, StringComparison.Ordinal);

    [Fact]
    public void Oversized_input_is_rejected_before_parsing()
    {
        JsonObject json = Sample();
        json["padding"] = new string('a', CollateralJson.MaxInputBytes);
        string text = json.ToJsonString();

        Assert.Contains("larger than", Assert.Throws<CollateralException>(() => CollateralJson.Parse(text)).Message, StringComparison.Ordinal);
        Assert.Contains("larger than", Assert.Throws<CollateralException>(() => CollateralJson.Parse(Encoding.UTF8.GetBytes(text))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fields_and_a_byte_order_mark_are_accepted()
    {
        JsonObject json = Sample();
        json["pck_certificate_chain"] = "ignored";
        byte[] utf8 = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json.ToJsonString())];

        Assert.Equal(CollateralJson.Parse(Sample().ToJsonString()), CollateralJson.Parse(utf8));
    }

    [Fact]
    public void Validate_names_the_field_of_collateral_built_in_code()
    {
        QuoteCollateral collateral = VectorInfo.Of("sgx_v3_phala").Collateral with { QeIdentitySignature = "" };
        Assert.Contains("'qe_identity_signature'", Assert.Throws<CollateralException>(() => CollateralJson.Validate(collateral)).Message, StringComparison.Ordinal);
    }

    private static JsonObject Sample() => JsonNode.Parse(DcapVectors.CollateralJson("sgx_v3_phala"))!.AsObject();

    private static void AssertRejected(string json, string field, string? alsoContains = null)
    {
        CollateralException ex = Assert.Throws<CollateralException>(() => CollateralJson.Parse(json));
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
        if (alsoContains is not null)
        {
            Assert.Contains(alsoContains, ex.Message, StringComparison.Ordinal);
        }
    }
}
