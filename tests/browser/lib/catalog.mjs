// A simulator catalog with SKUs and titles worse than the generator makes:
// markup, entities, quotes and non-ASCII. The simulator writes its generated
// catalog (GET /sim/catalog, JSON lines {"sku","item","offers"}); we rename a
// few SKUs (in the item and in its offers) and load the file back with
// --catalog.

import fs from 'node:fs';
import path from 'node:path';
import { startSim } from './stack.mjs';

export const MARKUP_SKUS = [
  '<script>alert("sku")</script>',
  `Tom & Jerry's "Best" <b>deal</b>`,
  'Ünïcödé 日本 🙂 &amp; &lt;x&gt;',
];
export const MARKUP_TITLE = '<img src=x onerror="window.__xss=1"> & "quoted" <i>title</i>';

// Writes the file into dir and returns its path.
export async function writeHostileCatalog(dir, { skus, seed }) {
  const gen = await startSim({ skus, seed, token: 'catalog-maker', dir });
  let text;
  try {
    const r = await fetch(`${gen.url}/sim/catalog`);
    if (!r.ok) throw new Error(`GET /sim/catalog answered ${r.status}`);
    text = await r.text();
  } finally {
    await gen.stop();
  }
  const lines = text.split('\n').filter((l) => l.trim());
  MARKUP_SKUS.forEach((sku, i) => {
    // Spread them out: first, middle, last.
    const at = Math.floor((i * (lines.length - 1)) / (MARKUP_SKUS.length - 1));
    const o = JSON.parse(lines[at]);
    o.sku = sku;
    if (o.item) {
      o.item.sku = sku;
      if (i === 0 && o.item.product) o.item.product.title = MARKUP_TITLE;
    }
    for (const off of o.offers || []) off.sku = sku;
    lines[at] = JSON.stringify(o);
  });
  const file = path.join(dir, 'hostile-catalog.jsonl');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
