/**
 * Downloads the OFAC per-asset lists into SANCTIONS_DIR from SANCTIONS_LIST_URL:
 *   SANCTIONS_DIR=/var/lib/cpg/sanctions npm run sanctions:update -w @cpg/subgraph-compliance
 * Running subgraphs read the list at start; restart them to pick up the new one.
 */
import { loadComplianceConfig } from '../config';
import { loadSanctions, updateSanctions } from '../services/sanctions-store';

async function main(): Promise<void> {
  const config = loadComplianceConfig();
  const result = await updateSanctions({ baseUrl: config.SANCTIONS_LIST_URL, dir: config.SANCTIONS_DIR });
  const list = await loadSanctions(result.dir);
  process.stdout.write(`sanctions list of ${result.meta.date} from ${result.meta.source}: ${list.size} addresses in ${result.dir}\n`);
  process.stdout.write(
    `${Object.entries(result.assets)
      .map(([a, n]) => `${a} ${n}`)
      .join(', ')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`sanctions update failed: ${(err as Error).message}\n`);
  process.exit(1);
});
