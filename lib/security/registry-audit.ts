/**
 * The npm registry's bulk advisory endpoint (what `npm audit` asks):
 * POST <registry>/-/npm/v1/security/advisories/bulk with { name: [versions] }, answered with
 * { name: [{ id, url, title, severity, vulnerable_versions, cvss: { score, vectorString } }] }.
 * It is one of the two advisory sources; when it does not answer (offline, refused: this
 * project's build machines get 405) the report says why and the offline database decides alone.
 */
import type { Advisory } from './advisory';
import { validRange } from './advisory';
import { severityOfScore, severityOfWord } from './severity';

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org';
export const BULK_PATH = '/-/npm/v1/security/advisories/bulk';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The registry's answer as advisories; entries without a usable range are listed in `skipped`. */
export function parseBulkResponse(body: unknown): { advisories: Advisory[]; skipped: string[] } {
  if (!isObj(body)) throw new Error('the answer is not a JSON object keyed by package name');
  const advisories: Advisory[] = [];
  const skipped: string[] = [];
  for (const [name, list] of Object.entries(body)) {
    if (!Array.isArray(list)) throw new Error(`the answer for ${name} is not a list`);
    for (const e of list.filter(isObj)) {
      const vulnerable = validRange(e.vulnerable_versions);
      if (vulnerable === null) {
        skipped.push(`npm-registry ${name} ${String(e.id)}: no usable vulnerable_versions`);
        continue;
      }
      const url = typeof e.url === 'string' ? e.url : null;
      const ghsa = url !== null ? /GHSA(-[23456789cfghjmpqrvwx]{4}){3}/.exec(url)?.[0] : undefined;
      const score = isObj(e.cvss) && typeof e.cvss.score === 'number' && e.cvss.score > 0 ? e.cvss.score : null;
      const word = severityOfWord(e.severity);
      advisories.push({
        id: ghsa ?? `NPM-${String(e.id)}`,
        aliases: ghsa !== undefined ? [`NPM-${String(e.id)}`] : [],
        package: name,
        title: typeof e.title === 'string' ? e.title : `advisory ${String(e.id)}`,
        severity: word !== 'unknown' || score === null ? word : severityOfScore(score),
        cvssScore: score,
        vulnerable,
        patched: null,
        url,
        source: 'npm-registry',
      });
    }
  }
  return { advisories, skipped };
}

/** fetch's "fetch failed" says nothing: the reason is in its cause (an error with a code, or an
 * AggregateError of one per address tried). */
function fetchFailure(err: unknown): string {
  type Cause = Error & { code?: string; errors?: Cause[] };
  const cause = (err as { cause?: Cause }).cause;
  const code = cause?.code ?? cause?.errors?.find((e) => e.code !== undefined)?.code;
  return code !== undefined ? `${code}${cause?.message ? ` (${cause.message})` : ''}` : (cause?.message ?? (err as Error).message);
}

/** Asks the registry about every installed version; throws with the reason when it does not answer. */
export async function queryRegistry(registry: string, versions: ReadonlyMap<string, readonly string[]>, timeoutMs: number): Promise<{ advisories: Advisory[]; skipped: string[] }> {
  const url = `${registry.replace(/\/+$/, '')}${BULK_PATH}`;
  const body = JSON.stringify(Object.fromEntries([...versions].map(([n, v]) => [n, [...v]])));
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error((err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : fetchFailure(err));
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the answer is not JSON');
  }
  return parseBulkResponse(parsed);
}
