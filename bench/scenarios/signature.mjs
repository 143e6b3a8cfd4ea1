// What a signed-model check adds to loading a model (issue 16, lib/model/signature.ts): reading
// the trusted keys, reading and canonicalizing the manifest, one Ed25519 verification, against
// loading the same model into a session (ModelSession.load: the bytes read, hashed and handed to
// ONNX Runtime) in the same run. Target: at most 1 ms added.
import path from 'node:path';

import { emit, lib, machine, measure, require } from '../harness.mjs';

const { verifyModelSignature, loadTrustedKeys, defaultTrustedKeysFile } = require('../dist/cjs/model/signature.js');

const manifest = path.resolve('models/tirex-guardian-default.json');
const check = await measure('verify the shipped model signature (trusted keys read, manifest canonicalized, Ed25519)', () => verifyModelSignature(manifest, loadTrustedKeys(defaultTrustedKeysFile())), { reps: 20 });
const load = await measure('ModelSession.load + close of the shipped model', () => lib.ModelSession.load(manifest, { intraOpThreads: 1 }).close(), { time: 4000 });
if (verifyModelSignature(manifest, loadTrustedKeys(defaultTrustedKeysFile())).keyId !== 'f89d2536a7016496') throw new Error('not the project key');
emit({
  scenario: 'signature-check',
  machine: machine(),
  tasks: [check, load],
  ratios: { signatureVsSessionLoad: check.p50Ns / load.p50Ns },
  figures: { signatureCheckUs: check.p50Ns / 1000 },
});
