namespace Confide.Ledger.Tests.Receipts;

/// <summary>Receipts produced by real CCF services, published with CCF and its client SDKs.</summary>
internal static class KnownVectors
{
    /// <summary>
    /// The receipt for transaction 2.662 shown in CCF's documentation (microsoft/CCF,
    /// doc/use_apps/verify_tx.rst "Check for transaction inclusion"): P-384 node key, certificate issued
    /// by "CCF Network" (the service certificate itself is not published with it).
    /// </summary>
    public const string CcfDocumentationReceipt = """
        {"cert": "-----BEGIN CERTIFICATE-----\nMIIB0DCCAVWgAwIBAgIRAKut43pNWfrRFqoU3CiDwQMwCgYIKoZIzj0EAwMwFjEU\nMBIGA1UEAwwLQ0NGIE5ldHdvcmswHhcNMjIwNjIzMTI1NDMwWhcNMjIwNjI0MTI1\nNDI5WjATMREwDwYDVQQDDAhDQ0YgTm9kZTB2MBAGByqGSM49AgEGBSuBBAAiA2IA\nBEbyEIuw666ZinL2V1hRrP5MCLL2rUoM/BLyz7sECnwJKMPr8NL9zm1QawkuSjoG\nOBLBr1E+M74q0RgJFcc/r4M0NKyqgy3MG2JskXsFsZx4IlsEw1h8dAeeGoQ5zbPM\n46NqMGgwCQYDVR0TBAIwADAdBgNVHQ4EFgQUPAUVdR+vSnLqMrEMrCHbWI7XTXEw\nHwYDVR0jBBgwFoAU5947gxFF/Fe+60BAT/fxl/l2eFkwGwYDVR0RBBQwEocEfwAA\nAYcEfw55KocEfwAAAjAKBggqhkjOPQQDAwNpADBmAjEA2404WF4g1GRfcwXzB74b\ns+DRtsjalqkGVbjCTcSPWxZMRDnCgAfLp8FvjnoWFURQAjEArKvzYoZ71r+Lejdr\nptMmANqMma9fh8eYSAwRgyM+DTlsvcjHqamnbqdp4xcQBqBb\n-----END CERTIFICATE-----\n",
         "leaf_components": {"claims_digest": "0000000000000000000000000000000000000000000000000000000000000000",
                             "commit_evidence": "ce:2.662:e423779b5314e92b79852c7b17888752d5e61e4f1ef3e79d9a06ef25cbfe2744",
                             "write_set_digest": "89145f455cb3e0854052232078989faf083237dae354180ca9942b1821f60c5d"},
         "node_id": "c5f66bbdca022af31050e104615ff0eaabd633b472bfda6650e8bee09a632ca3",
         "proof": [{"right": "3cd7b9c512371e411884917617462eacbeaf27988546a0c87fc7da89aec5b77d"},
                   {"left": "6f5a6d0613488ac942af045b64782d4a14bb7466b9ad64619c7c50f335ac0ed3"},
                   {"left": "d6401bf622794ae4d50b2f736cb2b6d590f42faa76cf0796ba05a57e9fb153fe"},
                   {"right": "24032f6c4b57233a9ff30478b6c209ac2a7ac27c136899618fcf1d54cdcd6313"},
                   {"left": "e16c5aa89b950b6ae23ff6eb297d330e7e4a239f2958d1e09d671bd8e72974ec"},
                   {"left": "6058b0e8cfe37550f2feec7ae8e89905df6b7e67c2e4aff227fcb5ea0a9100cd"},
                   {"left": "b582e168cd35dff37794d0f0fbac3de6dcb9271bcebc4a654f1e74be592370f3"}],
         "signature": "MGQCMBQz7qIuHxc512Prg9NjKWDYwg0i6myQ/LCm6APVYRxlLdi1gng3/CmQ6bEE2Siy7QIwRWGOVobolhrWOavwr8WPm+YqdB6LsxQhOqqU/diZ/mU9gE6NavufIKPHA6zsl46h"}
        """;

    /// <summary>
    /// A service identity certificate and a receipt it endorses, from the Azure Confidential Ledger
    /// receipt-verification tests (Azure/azure-sdk-for-python, azure-confidentialledger
    /// tests/receipt/_shared/receipt_constants.py): P-256, a CCF service of 2022.
    /// </summary>
    public const string AzureServiceCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBejCCASCgAwIBAgIQcmv2rRjksVYvqdOOHxp5UjAKBggqhkjOPQQDAjAWMRQw
        EgYDVQQDDAtDQ0YgTmV0d29yazAeFw0yMjExMDExODU0MzNaFw0yMzAxMzAxODU0
        MzJaMBYxFDASBgNVBAMMC0NDRiBOZXR3b3JrMFkwEwYHKoZIzj0CAQYIKoZIzj0D
        AQcDQgAEEFi2//FtAFoJvS+4jzQte+hjhhtBee8yjZ28ntukjeqWbG8XCncx4e0j
        eoQbFmGC9BnMb+t3t6FskQZkvgobrqNQME4wDAYDVR0TBAUwAwEB/zAdBgNVHQ4E
        FgQUQgzYFOQLy0vDkm3wqLSlcJsbQm8wHwYDVR0jBBgwFoAUQgzYFOQLy0vDkm3w
        qLSlcJsbQm8wCgYIKoZIzj0EAwIDSAAwRQIhAN/DrvHLpwRa7PeuN7q4ZztPjEY6
        R8r2IuT+wd5lMe7UAiAu7FftNooRjWIJ6pVFQO1xPtjCI5/JyvBUcJqfWT+Q2g==
        -----END CERTIFICATE-----
        """;

    /// <summary>The receipt endorsed by <see cref="AzureServiceCertificate"/> (transaction 2.35).</summary>
    public const string AzureReceipt = """
        {"cert": "-----BEGIN CERTIFICATE-----\nMIIB0zCCAXqgAwIBAgIRALXhnOIN/WoLnD69pfR2rvQwCgYIKoZIzj0EAwIwFjEU\nMBIGA1UEAwwLQ0NGIE5ldHdvcmswHhcNMjIxMTAxMTg1NDM2WhcNMjMwMTMwMTg1\nNDM1WjATMREwDwYDVQQDDAhDQ0YgTm9kZTBZMBMGByqGSM49AgEGCCqGSM49AwEH\nA0IABAUkp7vj54d1qr51leVMEwn/GXFozJQ1Ycx+AYoCb++0a6lrekGEgN91dR6D\nYdaBRKbYPMphAf4vDQEcVIjpFwKjgaswgagwCQYDVR0TBAIwADAdBgNVHQ4EFgQU\n54/ExTbNk7ZnZWImu6xq+8vOngEwHwYDVR0jBBgwFoAUQgzYFOQLy0vDkm3wqLSl\ncJsbQm8wWwYDVR0RBFQwUocECvACNYIRYXAtc3RhZ2luZy1sZWRnZXKCN2FwLXN0\nYWdpbmctbGVkZ2VyLmNvbmZpZGVudGlhbC1sZWRnZXItc3RhZ2luZy5henVyZS5j\nb20wCgYIKoZIzj0EAwIDRwAwRAIgBkB5XGxiiB5hhyWuHrM5TDlLfDUNR4GV1vie\ntpmGmLsCIF76tqizqk+s5Wuoa8ePLvGxUXIy3Q+H2rfRFi2LIB0B\n-----END CERTIFICATE-----\n",
         "node_id": "708c2e71b2533e5eb38e05cc344390d133c8fb336cb80481ab4e5e902e6131a5",
         "service_endorsements": [],
         "leaf_components": {"claims_digest": "0000000000000000000000000000000000000000000000000000000000000000",
                             "commit_evidence": "ce:2.35:fa08b4eae4a034971b97f0b21810951ec64b06fb2f4b5a1e80f6f4b83a23c719",
                             "write_set_digest": "fef1aa22972daba05864a7e986c1bb94aa6b8fea43781cb48907c972e9761e71"},
         "proof": [{"left": "5e949d6d17b88900aeb8fb292f041075272d3b58108f2016a3ceea2a47ffad8f"},
                   {"left": "fb199f029ed1e7886ca95f8ecb4f9a56edede5f15fb425874c2a34861a9765ee"},
                   {"left": "efe9c61961fc189e292edeadb4317040ea4a6e5abc8cf349dc74295930ed7435"}],
         "signature": "MEYCIQC05OyTn/a5ZKphfY4AsnnBF2Rfj0j0pNrfPtHHO5JvnwIhAPItujuzkC8enmxIsG2X82hBgHCaNoFHL9GC3XfejOUI"}
        """;

    /// <summary>
    /// A COSE receipt made by a CCF service (microsoft/CCF, the "Decode CCF COSE receipt" unit test
    /// of its COSE code), with what CCF's decoder asserts: ES384 (alg -35), kid = the hex SHA-256 of the
    /// service key, iat 1764259187, iss "service.example.com", sub "ledger.signature", ccf.v1 txid
    /// "2.17", vds 2, and the Merkle root its single proof leads to. The service key is not published
    /// with it, so its signature is not checked here.
    /// </summary>
    public const string CcfCoseReceiptHex =
        "d284588ca50138220458403464393230653531646339303636373336653433333738636131" +
        "34323863656165306435343335326634306535316232306564633863366237633536316430" +
        "3519018b020fa3061a692875730173736572766963652e6578616d706c652e636f6d02706c" +
        "65646765722e7369676e6174757265666363662e7631a1647478696464322e3137a119018c" +
        "a1208158b7a201835820e2a97fad0c69119d6e216158b762b19277a579d7a89047d98aa37f" +
        "152f194a92784863653a322e31363a38633765646230386135323963613237326166623062" +
        "31653664613939306233636137336665313064336535663462356633663231613561346638" +
        "37663637635820000000000000000000000000000000000000000000000000000000000000" +
        "0000028182f55820d774c9dfeec96478a0797f8ce3d78464767833d052fb78d72b2b8eeda5" +
        "21215af658604568ff2c93350fa181bf02186b26d3f04728a61fd2ef2c9388a55268ed8bf7" +
        "88a6bd06bfa195c78676bebeef5560a87980e8dd13725a87ef0b00ac0b78ff07ab7eb4646a" +
        "4a54b421456d14e90b7dea1f0b32044bf93116d85ef0834f493681d5";

    public const string CcfCoseReceiptRoot = "209f5aefb0f45d7647c917337044c44a1b848fe833fa2869d016bea797d79a9e";
}
