// The entries of a journal (or audit) directory of segments, parsed, oldest first: what the tests
// read back to check what was written.
import fs from 'node:fs';
import path from 'node:path';

export function segmentEntries(dir: string, types: readonly string[] | null = null): Array<Record<string, any>> {
  return fs
    .readdirSync(dir)
    .filter((f) => /^segment-\d{16}\.jsonl$/.test(f))
    .sort()
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>))
    .filter((e) => types === null || types.includes(e.type));
}
