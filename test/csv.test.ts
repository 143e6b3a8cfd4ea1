import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { readCsvColumn, splitCsvLine } from '../lib/index';

function write(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tg-csv-')), 'x.csv');
  fs.writeFileSync(file, text);
  return file;
}

describe('readCsvColumn', () => {
  it('keeps an empty line inside the file as a missing row, drops trailing ones', () => {
    const col = readCsvColumn(write('price\n1\n\n3\n\n'), 'price');
    expect(Array.from(col.values)).toEqual([1, NaN, 3]);
    expect(col.missing).toBe(1);
  });

  it('reads by name, by index, the last column by default, and files without a header', () => {
    const file = write('a,b\n1,2\n3,x\n');
    expect(Array.from(readCsvColumn(file, 'a').values)).toEqual([1, 3]);
    expect(Array.from(readCsvColumn(file, 1).values)).toEqual([2, NaN]);
    expect(readCsvColumn(file).name).toBe('b');
    expect(Array.from(readCsvColumn(write('1,2\n3,4\n'), 0).values)).toEqual([1, 3]);
  });

  it('splits quoted cells', () => {
    expect(splitCsvLine('"a,b",2,"say ""hi"""')).toEqual(['a,b', '2', 'say "hi"']);
  });

  it('refuses an unknown column with a typed error naming the columns', () => {
    expect(() => readCsvColumn(write('a,b\n1,2\n'), 'c')).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
  });
});
