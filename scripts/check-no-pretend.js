#!/usr/bin/env node
'use strict';
// Fails when lib/ or native/ contain words that mark a pretend code path (simulated, dummy,
// mock, stub, fake, placeholder, not implemented, TODO): production code must be real. Tests
// may use such words; the shipped code may not, not even in comments.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const PATTERN = /\b(dummy|simulat(e|ed|es|ion|ions|ing)|mock(s|ed|ing)?|stub(s|bed)?|fake(s|d)?|placeholders?|not implemented|TODO|FIXME)\b/i;

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else if (/\.(ts|js|mjs|cjs|cc|h|hpp|cpp)$/.test(entry.name)) yield p;
  }
}

const hits = [];
for (const top of ['lib', 'native']) {
  for (const file of files(path.join(ROOT, top))) {
    fs.readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = PATTERN.exec(line);
        if (m) hits.push(`${path.relative(ROOT, file)}:${i + 1}: "${m[0]}": ${line.trim()}`);
      });
  }
}
if (hits.length) {
  process.stderr.write(`pretend-code check failed: ${hits.length} line(s) in lib/ or native/\n${hits.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('pretend-code check passed: no simulated, dummy, mock, stub, fake or placeholder paths in lib/ or native/\n');
