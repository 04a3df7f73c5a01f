// Dev chains for `npm start` and `npm test`: anvil (dev-evm) and litecoind regtest (dev-ltc).
// A chain that cannot start degrades only that chain: start and test go on and say why.
import path from 'node:path';
import { ensureDevLtc } from '../shared/src/chains/bitcoin/dev';
import { ensureDevEvm } from '../shared/src/chains/evm/dev';
import { aptInstall, findBinary } from '../shared/src/services';

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

export async function startDevChains(dataDir: string, log: (line: string) => void): Promise<DevChain[]> {
  const chains: DevChain[] = [];
  try {
    const evm = await ensureDevEvm({ log });
    chains.push({ name: 'dev-evm', stop: evm.stop });
  } catch (err) {
    log(`dev-evm: unavailable: ${(err as Error).message}`);
  }
  if (await ensureLitecoindInstalled(log)) {
    try {
      const ltc = await ensureDevLtc({ dataDir: path.join(dataDir, 'ltc'), log });
      chains.push({ name: 'dev-ltc', stop: ltc.stop });
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
