{
  "v": 1,
  "alg": "Ed25519",
  "keyId": "f89d2536a7016496",
  "manifestSha256": "4b32c271cca92a3f617b5774b49657216f467915e0dd85d6890d44e754406396",
  "modelSha256": "283e0898aa70a26bbc9f1f0b04cde19fb81dfd4a2de1910b4f6a534f3c31c1fa",
  "signedAt": "2026-11-30T23:28:34.123Z",
  "signature": "WcoxDCZZdCxHtuBIxFZpk/aBTTsRBS9p5iY3FZ6nkQoblOdYn91IviJhXqIwrAcTsqfkUufd3jHa1NVB52L3BA=="
}
