#!/usr/bin/env node
'use strict';
function fail(err) {
  const code = err && err.code ? ` [${err.code}]` : '';
  process.stderr.write(`tirex-guardian: ${err && err.message ? err.message : String(err)}${code}\n`);
  process.exitCode = 1;
}
try {
  Promise.resolve(require('../dist/cjs/cli.js').main(process.argv.slice(2))).then((status) => {
    process.exitCode = status;
  }, fail);
} catch (err) {
  fail(err);
}
