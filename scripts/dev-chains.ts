// Dev chains for `npm start` and `npm test`: anvil (dev-evm) and litecoind regtest (dev-ltc).
// A chain that cannot start degrades only that chain: start and test go on and say why.
import path from 'node:path';
import { LitecoinDevControls, ensureDevLtc } from '@cpg/devkit/chains/bitcoin/dev';
import { getNetwork } from '@cpg/chains/networks';
import { ensureDevEvm } from '@cpg/devkit/chains/evm/dev';
import { aptInstall, findBinary } from '@cpg/devkit/services';

export interface DevChain {
  name: string;
  stop(): Promise<void>;
}

/** litecoind from Debian (installed with apt when we are root); null when it cannot be had. */
export async function ensureLitecoindInstalled(log: (line: string) => void): Promise<boolean> {
  if (findBinary('litecoind', process.env.LITECOIND)) return true;
  if (await aptInstall('litecoind', log)) return Boolean(findBinary('litecoind'));
  log('dev-ltc: litecoind is not installed (Debian/Ubuntu: sudo apt-get install -y litecoind); the dev-ltc chain stays off');
  return false;
}

/**
 * Seconds between regtest blocks under `npm start` (DEV_LTC_BLOCK_SECONDS, default 5, 0 = off):
 * litecoind regtest never mines by itself, so without this a payout sits at BROADCAST until
 * someone mines by hand. Tests mine by hand and never set `autoMine`.
 */
function ltcBlockSeconds(): number {
  const raw = process.env.DEV_LTC_BLOCK_SECONDS;
  const n = raw === undefined || raw === '' ? 5 : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new Error(`DEV_LTC_BLOCK_SECONDS must be 0-3600 seconds, not "${raw}"`);
  return n;
}

export async function startDevChains(dataDir: string, log: (line: string) => void, opts: { autoMine?: boolean } = {}): Promise<DevChain[]> {
  const chains: DevChain[] = [];
  try {
    const evm = await ensureDevEvm({ log, statePath: path.join(dataDir, 'anvil-state.json') });
    chains.push({ name: 'dev-evm', stop: evm.stop });
  } catch (err) {
    log(`dev-evm: unavailable: ${(err as Error).message}`);
  }
  if (await ensureLitecoindInstalled(log)) {
    try {
      const ltc = await ensureDevLtc({ dataDir: path.join(dataDir, 'ltc'), log });
      const seconds = opts.autoMine ? ltcBlockSeconds() : 0;
      let timer: NodeJS.Timeout | undefined;
      if (seconds > 0) {
        const controls = new LitecoinDevControls(getNetwork('dev-ltc', { ...process.env, DEV_CHAINS: '1' }), ltc.transport, ltc.walletTransport);
        let mining = false;
        timer = setInterval(() => {
          if (mining) return;
          mining = true;
          controls
            .mine(1)
            .catch((err: Error) => log(`dev-ltc: could not mine a block: ${err.message}`))
            .finally(() => (mining = false));
        }, seconds * 1000);
        timer.unref();
        log(`dev-ltc: mining a block every ${seconds} s (DEV_LTC_BLOCK_SECONDS; 0 turns it off)`);
      }
      chains.push({
        name: 'dev-ltc',
        stop: async () => {
          clearInterval(timer);
          await ltc.stop();
        },
      });
    } catch (err) {
      log(`dev-ltc: unavailable: ${(err as Error).message}`);
    }
  }
  return chains;
}

/** Debian's chromium for the real-browser checkout test (playwright-core drives /usr/bin/chromium). */
export async function ensureChromiumInstalled(log: (line: string) => void): Promise<boolean> {
  if (findBinary('chromium', process.env.CHROMIUM_PATH)) return true;
  if (await aptInstall('chromium', log)) return Boolean(findBinary('chromium'));
  log('chromium is not installed (Debian/Ubuntu: sudo apt-get install -y chromium); the browser test will fail');
  return false;
}
