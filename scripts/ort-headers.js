#!/usr/bin/env node
'use strict';
// Finds or fetches the ONNX Runtime C API headers the addon compiles against, and prints their
// include directory on stdout (binding.gyp and build-native.js read it).
//
// Order: ORT_INCLUDE_DIR (a directory holding onnxruntime_c_api.h) -> an earlier fetch in
// deps/onnxruntime -> Debian's libonnxruntime-dev .deb through this machine's own apt mirror,
// version and sha256 pinned below -> the official release archive (machines with internet).
// Only headers are needed: the library itself is opened at run time (see native/ort/runtime.cc).
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DEST = path.join(ROOT, 'deps', 'onnxruntime');
const DEST_INCLUDE = path.join(DEST, 'include');
const STAMP = path.join(DEST, 'SOURCE.json');

// Pinned: Debian trixie's libonnxruntime-dev. Headers of API version 21 run against the 1.30
// library that onnxruntime-node ships (ORT keeps its C API backward compatible).
const DEB = {
  package: 'libonnxruntime-dev',
  version: '1.21.0+dfsg-1',
  suite: 'trixie',
  arch: 'amd64',
  sha256: '14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08',
};
const RELEASE = {
  version: '1.21.0',
  url: (arch) =>
    `https://github.com/microsoft/onnxruntime/releases/download/v1.21.0/onnxruntime-linux-${arch}-1.21.0.tgz`,
};
const MIN_API_VERSION = 21;

function log(msg) {
  process.stderr.write(`[ort-headers] ${msg}\n`);
}

function apiVersionOf(includeDir) {
  const header = path.join(includeDir, 'onnxruntime_c_api.h');
  if (!fs.existsSync(header)) return 0;
  const m = /#define ORT_API_VERSION (\d+)/.exec(fs.readFileSync(header, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function usable(includeDir) {
  return apiVersionOf(includeDir) >= MIN_API_VERSION;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// The mirror this machine already trusts, read from its apt sources (deb822 or one-line form).
function debianMirror() {
  const files = [];
  if (fs.existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const dir = '/etc/apt/sources.list.d';
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir)) if (/\.(list|sources)$/.test(f)) files.push(path.join(dir, f));
  }
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const line of text.split('\n')) {
      const l = line.trim();
      let m = /^URIs:\s*(\S+)/.exec(l);
      if (!m) m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(l);
      if (m && /\/debian\/?$/.test(m[1]) && !/security/.test(m[1])) return m[1].replace(/\/$/, '');
    }
  }
  return null;
}

function fromDebian() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
    execFileSync('dpkg-deb', ['--version'], { stdio: 'ignore' });
  } catch {
    return false;
  }
  const mirror = debianMirror();
  if (!mirror) {
    log('no Debian mirror found in /etc/apt sources');
    return false;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ort-apt-'));
  fs.chmodSync(work, 0o755);
  try {
    const lists = path.join(work, 'lists');
    const cache = path.join(work, 'cache');
    fs.mkdirSync(path.join(lists, 'partial'), { recursive: true });
    fs.mkdirSync(path.join(cache, 'archives', 'partial'), { recursive: true });
    const sources = path.join(work, 'sources.list');
    const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
    const signed = fs.existsSync(keyring) ? `[signed-by=${keyring}] ` : '';
    fs.writeFileSync(sources, `deb ${signed}${mirror} ${DEB.suite} main\n`);
    // A private sources list and lists dir: the machine's own apt state is left untouched.
    const opts = [
      '-o', `Dir::Etc::SourceList=${sources}`,
      '-o', 'Dir::Etc::SourceParts=/dev/null',
      '-o', `Dir::State::Lists=${lists}`,
      '-o', `Dir::Cache=${cache}`,
      '-o', 'APT::Sandbox::User=root',
      '-o', `APT::Architecture=${DEB.arch}`,
    ];
    log(`fetching ${DEB.package}=${DEB.version} from ${mirror} (${DEB.suite})`);
    execFileSync('apt-get', [...opts, '-qq', 'update'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('apt-get', [...opts, '-qq', 'download', `${DEB.package}=${DEB.version}`], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const deb = fs.readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no .deb');
    const got = sha256(path.join(work, deb));
    if (got !== DEB.sha256) throw new Error(`checksum mismatch for ${deb}: ${got} != pinned ${DEB.sha256}`);
    const x = path.join(work, 'x');
    execFileSync('dpkg-deb', ['-x', path.join(work, deb), x]);
    install(path.join(x, 'usr', 'include', 'onnxruntime'), {
      source: 'debian',
      package: `${DEB.package}_${DEB.version}_${DEB.arch}.deb`,
      suite: DEB.suite,
      sha256: got,
      license: 'MIT (ONNX Runtime), see usr/share/doc/libonnxruntime-dev/copyright in the .deb',
    });
    return true;
  } catch (e) {
    log(`Debian route failed: ${e.message}`);
    return false;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function fromRelease() {
  const arch = process.arch === 'x64' ? 'x64' : process.arch === 'arm64' ? 'aarch64' : null;
  if (process.platform !== 'linux' || !arch) return false;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ort-rel-'));
  try {
    const tgz = path.join(work, 'ort.tgz');
    log(`fetching ${RELEASE.url(arch)}`);
    execFileSync('curl', ['-fsSL', '--max-time', '120', '-o', tgz, RELEASE.url(arch)], { stdio: 'inherit' });
    execFileSync('tar', ['-xzf', tgz, '-C', work]);
    const top = fs.readdirSync(work).find((f) => f.startsWith('onnxruntime-'));
    // No checksum can be pinned for this route from here; the API version check below still applies.
    install(path.join(work, top, 'include'), {
      source: 'official-release',
      url: RELEASE.url(arch),
      sha256: sha256(tgz),
      license: 'MIT (ONNX Runtime)',
    });
    return true;
  } catch (e) {
    log(`release route failed: ${e.message}`);
    return false;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function install(includeDir, provenance) {
  if (!usable(includeDir)) throw new Error(`no usable onnxruntime_c_api.h in ${includeDir}`);
  fs.rmSync(DEST, { recursive: true, force: true });
  fs.mkdirSync(DEST, { recursive: true });
  fs.cpSync(includeDir, DEST_INCLUDE, { recursive: true });
  fs.writeFileSync(STAMP, JSON.stringify({ ...provenance, apiVersion: apiVersionOf(DEST_INCLUDE) }, null, 2) + '\n');
}

function main() {
  const override = process.env.ORT_INCLUDE_DIR;
  if (override) {
    if (!usable(override)) {
      log(`ORT_INCLUDE_DIR=${override} has no onnxruntime_c_api.h with ORT_API_VERSION >= ${MIN_API_VERSION}`);
      process.exit(1);
    }
    process.stdout.write(path.resolve(override));
    return;
  }
  if (!usable(DEST_INCLUDE) && !fromDebian() && !fromRelease()) {
    log(
      'could not obtain ONNX Runtime headers. Remedies: set ORT_INCLUDE_DIR to a directory with ' +
        `onnxruntime_c_api.h (API version >= ${MIN_API_VERSION}); or allow apt to reach a Debian mirror ` +
        `(package ${DEB.package} ${DEB.version}, suite ${DEB.suite}); or allow downloads of the official release.`,
    );
    process.exit(1);
  }
  process.stdout.write(DEST_INCLUDE);
}

main();
