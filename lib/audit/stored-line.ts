/**
 * Reading back a stored line (log entries and digest lines alike): the chain commits to the
 * bytes the writer wrote, so a reader checks those bytes, not what JSON.parse makes of them.
 *
 * The writer writes `canonicalJson(body)` with `,"hash":"<hex>"` put before its closing brace
 * (chain.ts sealLine), and hashes exactly that canonical body. Parsing forgets the spelling: a
 * trailing zero (`12.50`), `1e2` for `100`, `-0`, `\u00e9` for `é`, whitespace, key order, a
 * repeated key (JSON.parse keeps the last one; another reader may keep the first) or a CRLF line
 * end all parse to the same value, so a line that is only re-parsed and re-serialized still
 * verifies after any of those edits. Here the hash is taken over the stored body itself, and a
 * line whose body is not the canonical JSON of its own content is refused: what verifies is
 * byte for byte what the writer wrote, and it means one thing to every reader.
 *
 * Lines read from a file must be valid UTF-8 before they are decoded: decoding turns each bad
 * sequence into U+FFFD, which would hide an edit that swaps one for another.
 */
import { isUtf8 } from 'node:buffer';

import { entryHash } from './chain';
import { canonicalJson } from './record';

const HASH_FIELD = ',"hash":"';
/** `,"hash":"` + 64 hex + `"}`. */
const SEAL_CHARS = HASH_FIELD.length + 64 + 2;

/** The text of a line read from a file, or null when its bytes are not valid UTF-8. */
export function decodeLine(bytes: Buffer): string | null {
  return isUtf8(bytes) ? bytes.toString('utf8') : null;
}

/** Offset of the first byte that does not start a valid UTF-8 sequence (-1: none); for the
 * message only (isUtf8 decides). */
export function firstBadUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    const more = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (more < 0) return i;
    // Overlong forms, surrogates and code points past U+10FFFF are excluded by the second byte.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= more; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += more + 1;
  }
  return -1;
}

function isLowerHex(line: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The body the writer hashed: the line less its trailing `,"hash":"<64 hex>"`, or null when it
 * does not end that way. */
export function hashedBody(line: string): string | null {
  const at = line.length - SEAL_CHARS;
  if (at < 1 || !line.startsWith(HASH_FIELD, at) || !line.endsWith('"}') || !isLowerHex(line, at + HASH_FIELD.length, line.length - 2)) return null;
  return `${line.slice(0, at)}}`;
}

function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * Why a stored line is not what the writer writes for the entry it parses to (`entry`, whose
 * `hash` field is the line's own), chained on `prevHash`; null when it is. The wording follows
 * "seq N " or "line N ".
 */
export function storedLineProblem(line: string, entry: Record<string, unknown>, prevHash: string): string | null {
  const body = hashedBody(line);
  if (body === null) return 'is not as the writer writes it: it does not end with its "hash" field';
  const { hash, ...content } = entry;
  const canonical = canonicalJson(content);
  if (canonical !== body) {
    const at = Buffer.byteLength(body.slice(0, firstDifference(canonical, body)));
    return (
      `is not in canonical form (byte ${at} differs from the canonical JSON of its content: a number, a string escape, ` +
      'whitespace or the order of keys was rewritten, or a key repeated): its bytes were altered'
    );
  }
  // `body` is the stored text (valid UTF-8, decoded without loss), so this hashes the stored bytes.
  if (entryHash(prevHash, body) !== hash) return 'does not match its hash: its content was altered';
  return null;
}
