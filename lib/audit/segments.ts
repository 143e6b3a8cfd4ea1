/** Dir mode's file names: `segment-<first seq, 16 digits>.jsonl`, oldest first by name. */
import fs from 'node:fs';
import path from 'node:path';

const SEGMENT_NAME = /^segment-(\d{16})\.jsonl$/;

export function segmentName(firstSeq: number): string {
  return `segment-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

/** The segment files of a directory, oldest first, with the seq each one's name says it starts at. */
export function listSegments(dir: string): { name: string; path: string; firstSeq: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((name) => ({ name, m: SEGMENT_NAME.exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ name: x.name, path: path.join(dir, x.name), firstSeq: Number((x.m as RegExpExecArray)[1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}
