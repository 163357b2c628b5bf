// Validators built from ebaysync's own OpenAPI document (docs/openapi.json):
// an answer of `ebaysync serve` is checked against the operation of its
// method and path, for its status: the status must be documented, its
// content type declared, and a JSON body must match the schema (JSON Schema
// 2020-12, as OpenAPI 3.1 has it). Every checked operation and status is
// recorded, so a test can demand that each operation was exercised.
import Ajv2020 from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const DOC_PATH = join(here, '..', '..', 'docs', 'openapi.json');
export const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'));

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ $id: 'api', components: doc.components });

// '#/components/...' -> 'api#/components/...' in a copy of schema.
function rebase(schema) {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"api#/components/'));
}

const compiled = new Map();
export function validator(schema, key) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rebase(schema)));
  return compiled.get(key);
}

export const seen = new Set(); // "get /ebay/me 200"

// The document's path template for a concrete path, e.g.
// "/ebay/sync/runs/x/stop" -> "/ebay/sync/runs/{run_id}/stop".
export function templateOf(path) {
  const segs = path.split('?')[0].split('/');
  // As the server routes: a literal segment wins over a parameter.
  let best = null;
  let literals = -1;
  for (const t of Object.keys(doc.paths)) {
    const ts = t.split('/');
    if (ts.length !== segs.length || !ts.every((s, i) => s.startsWith('{') || s === segs[i])) continue;
    const n = ts.filter((s) => !s.startsWith('{')).length;
    if (n > literals) { best = t; literals = n; }
  }
  return best;
}

function resolveResponse(r) {
  if (r?.$ref) return doc.components.responses[r.$ref.split('/').pop()];
  return r;
}

// Throws unless the answer (status, content type, parsed JSON body or text)
// is what the document says method path answers.
export function checkAnswer(method, path, { status, headers, body, text }) {
  const m = method.toLowerCase();
  const t = templateOf(path);
  if (!t) throw new Error(`${method} ${path}: no such path in docs/openapi.json`);
  const op = doc.paths[t][m];
  let resp;
  if (op) {
    resp = resolveResponse(op.responses[String(status)]);
  } else {
    // Another method on a documented path: 405, Allow naming the documented ones.
    if (status !== 405) throw new Error(`${method} ${t}: no such operation in docs/openapi.json, yet answered ${status}`);
    const allow = (headers.get('allow') || '').split(/,\s*/).filter((x) => x !== 'HEAD').map((x) => x.toLowerCase()).sort();
    const documented = Object.keys(doc.paths[t]).filter((x) => x !== 'parameters').sort();
    if (allow.join() !== documented.join()) throw new Error(`${method} ${t}: Allow is ${allow}, the document has ${documented}`);
    resp = doc.components.responses.MethodNotAllowed;
  }
  if (!resp) throw new Error(`${method} ${t} answered ${status}, which docs/openapi.json does not list: ${text?.slice(0, 300)}`);
  seen.add(`${m} ${t} ${status}`);
  if (!resp.content) {
    if (text) throw new Error(`${method} ${t} ${status}: documented without a body, sent ${text.slice(0, 200)}`);
    return;
  }
  const type = (headers.get('content-type') || '').split(';')[0].trim();
  const media = resp.content[type];
  if (!media) throw new Error(`${method} ${t} ${status}: content type '${type}' is not one of ${Object.keys(resp.content)}`);
  if (type !== 'application/json') return;
  const v = validator(media.schema, `${m} ${t} ${status}`);
  if (!v(body)) {
    throw new Error(`${method} ${path} ${status} does not match docs/openapi.json:\n  ` +
      `${ajv.errorsText(v.errors, { separator: '\n  ' })}\n  body: ${text.slice(0, 500)}`);
  }
}

// Throws unless data is one event of a run's stream as documented.
export function checkEventData(event, data) {
  const name = event === 'end' ? 'SyncEnd' : 'SyncEvent';
  const v = validator({ $ref: `#/components/schemas/${name}` }, `event ${name}`);
  if (!v(data)) throw new Error(`event ${event} does not match ${name}:\n  ${ajv.errorsText(v.errors)}\n  ${JSON.stringify(data)}`);
  if (event !== 'end' && data.type !== event) throw new Error(`event ${event} carries type ${data.type}`);
}

// Every (method, path) of the document.
export function operations() {
  const out = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const m of Object.keys(item)) if (['get', 'post', 'put', 'patch', 'delete'].includes(m)) out.push(`${m} ${p}`);
  return out;
}
