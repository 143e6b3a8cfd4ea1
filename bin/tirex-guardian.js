#!/usr/bin/env node
'use strict';
try {
  process.exitCode = require('../dist/cjs/cli.js').main(process.argv.slice(2));
} catch (err) {
  const code = err && err.code ? ` [${err.code}]` : '';
  process.stderr.write(`tirex-guardian: ${err && err.message ? err.message : String(err)}${code}\n`);
  process.exitCode = 1;
}
