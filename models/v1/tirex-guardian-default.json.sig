{
  "v": 1,
  "alg": "Ed25519",
  "keyId": "f89d2536a7016496",
  "manifestSha256": "ce3144ffb82c221858cb3cc72346fed3e40cd741d1379e2230415b61cdfa9664",
  "modelSha256": "8bd5d3c39f38fc804de21ed955fd9a972f209db7d391ab1f3b6d2ec2a90b6681",
  "signedAt": "2026-11-30T13:38:09.327Z",
  "signature": "TJSxi1dRsAiyWD+mUrWIPTCsFeds+dkhosK+UnaL3Sce1W80lemcwupmpGR1P7T8IQ37hoTXFGiCoz1y5JPKBg=="
}
