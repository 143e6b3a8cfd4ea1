/** A project for the security preflight that passes it wherever the tests run (its own tree
 * need not be consistent: Stryker's sandbox links node_modules in from elsewhere): no
 * dependencies, and the lockfile npm writes for that. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function cleanProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-clean-project-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'clean', version: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ name: 'clean', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'clean', version: '1.0.0' } } }));
  return dir;
}
