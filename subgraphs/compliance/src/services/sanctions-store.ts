import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ASSET_CODES, SanctionsList, type SanctionsMeta, assetListSchema } from '../domain/sanctions';

const metaSchema = z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), source: z.string().min(1) });
const FILE = /^sanctioned_addresses_([A-Z0-9]+)\.json$/;

/**
 * Loads every `sanctioned_addresses_<ASSET>.json` of `dir`. The date comes from META.json (written
 * by the update command) or, for the snapshots shipped in the repository, from the folder name's
 * `_YYYY-MM-DD` suffix. A missing or malformed list stops the start: screening without the list
 * would allow sanctioned senders.
 */
export async function loadSanctions(dir: string): Promise<SanctionsList> {
  const names = await fs.readdir(dir);
  const lists: Record<string, string[]> = {};
  for (const n of names) {
    const m = FILE.exec(n);
    if (!m) continue;
    const parsed = assetListSchema.safeParse(JSON.parse(await fs.readFile(path.join(dir, n), 'utf8')));
    if (!parsed.success) throw new Error(`sanctions list ${n} is not a JSON array of addresses`);
    lists[m[1]!] = parsed.data;
  }
  if (!Object.keys(lists).length) throw new Error(`no sanctioned_addresses_<ASSET>.json in ${dir}`);
  let meta: SanctionsMeta;
  try {
    meta = metaSchema.parse(JSON.parse(await fs.readFile(path.join(dir, 'META.json'), 'utf8')));
  } catch {
    const d = /(\d{4}-\d{2}-\d{2})$/.exec(path.basename(dir));
    if (!d) throw new Error(`sanctions list in ${dir} has no date: add META.json {date, source}`);
    meta = { date: d[1]!, source: path.basename(dir) };
  }
  return new SanctionsList(lists, meta);
}

export interface UpdateResult {
  dir: string;
  assets: Record<string, number>;
  meta: SanctionsMeta;
}

/**
 * Downloads the per-asset lists from `baseUrl` into `dir` (written to a temporary folder first and
 * swapped in whole, so a failed download leaves the previous list in place). An asset answering
 * 404 is skipped (not every mirror has every asset); any other failure, or a body that is not a
 * JSON array of addresses, aborts. ETH and XBT must be present.
 */
export async function updateSanctions(opts: {
  baseUrl: string;
  dir: string;
  fetch?: typeof globalThis.fetch;
  now?: Date;
  assets?: readonly string[];
}): Promise<UpdateResult> {
  const f = opts.fetch ?? globalThis.fetch;
  const base = opts.baseUrl.replace(/\/+$/, '');
  const tmp = `${opts.dir}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp, { recursive: true });
  try {
    const counts: Record<string, number> = {};
    for (const asset of opts.assets ?? ASSET_CODES) {
      const url = `${base}/sanctioned_addresses_${asset}.json`;
      const res = await f(url, { signal: AbortSignal.timeout(30_000) });
      if (res.status === 404) continue;
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      let body: unknown;
      try {
        body = JSON.parse(await res.text());
      } catch {
        throw new Error(`${url}: not JSON`);
      }
      const parsed = assetListSchema.safeParse(body);
      if (!parsed.success) throw new Error(`${url}: not a JSON array of addresses`);
      counts[asset] = parsed.data.length;
      await fs.writeFile(path.join(tmp, `sanctioned_addresses_${asset}.json`), `${JSON.stringify(parsed.data, null, 2)}\n`);
    }
    for (const required of ['ETH', 'XBT']) if (!(required in counts)) throw new Error(`the list has no ${required} addresses; refusing it`);
    const meta: SanctionsMeta = { date: (opts.now ?? new Date()).toISOString().slice(0, 10), source: base };
    await fs.writeFile(path.join(tmp, 'META.json'), `${JSON.stringify({ ...meta, fetchedAt: (opts.now ?? new Date()).toISOString(), counts }, null, 2)}\n`);
    const old = `${opts.dir}.old-${process.pid}-${Date.now()}`;
    const existed = await fs.stat(opts.dir).then(
      () => true,
      () => false,
    );
    if (existed) await fs.rename(opts.dir, old);
    await fs.rename(tmp, opts.dir);
    if (existed) await fs.rm(old, { recursive: true, force: true });
    return { dir: opts.dir, assets: counts, meta };
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
