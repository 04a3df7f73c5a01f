import { z } from 'zod';
import { ConfigError } from '@cpg/core/config';
import type { BitcoinParams, CoinConfig, NetworkConfig, RpcEndpointConfig } from './types';

/**
 * The network catalogue. Adding a Bitcoin-like coin or an EVM chain is an entry here, not code.
 * Mainnets are configured but off until their RPC endpoints are given in the environment
 * (`CHAIN_RPC_<ID>`, comma-separated; `CHAIN_RPC_<ID>_TRACING=1` when they support tracing).
 */

export const BITCOIN_PARAMS: Record<string, BitcoinParams> = {
  bitcoin: {
    messagePrefix: '\x18Bitcoin Signed Message:\n',
    bech32: 'bc',
    bip32: { public: 0x0488b21e, private: 0x0488ade4 },
    pubKeyHash: 0x00,
    scriptHash: 0x05,
    wif: 0x80,
  },
  'bitcoin-testnet': {
    messagePrefix: '\x18Bitcoin Signed Message:\n',
    bech32: 'tb',
    bip32: { public: 0x043587cf, private: 0x04358394 },
    pubKeyHash: 0x6f,
    scriptHash: 0xc4,
    wif: 0xef,
  },
  litecoin: {
    messagePrefix: '\x19Litecoin Signed Message:\n',
    bech32: 'ltc',
    bip32: { public: 0x0488b21e, private: 0x0488ade4 },
    pubKeyHash: 0x30,
    scriptHash: 0x32,
    wif: 0xb0,
  },
  'litecoin-testnet': {
    messagePrefix: '\x19Litecoin Signed Message:\n',
    bech32: 'tltc',
    bip32: { public: 0x043587cf, private: 0x04358394 },
    pubKeyHash: 0x6f,
    scriptHash: 0x3a,
    wif: 0xef,
  },
  'dev-ltc': {
    messagePrefix: '\x19Litecoin Signed Message:\n',
    bech32: 'rltc',
    bip32: { public: 0x043587cf, private: 0x04358394 },
    pubKeyHash: 0x6f,
    scriptHash: 0x3a,
    wif: 0xef,
  },
};

/** Deployed by anvil's first default account as its first transaction, so the address is fixed. */
export const DEV_EVM_USDT_ADDRESS = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
export const DEV_LTC_RPC = { url: 'http://127.0.0.1:19443', username: 'cpg', password: 'cpg' };
export const DEV_EVM_RPC = 'http://127.0.0.1:8545';

const coin = (network: string, symbol: string, name: string, decimals: number, minDeposit: bigint, contract?: string): CoinConfig => ({
  id: `${network}:${symbol}`,
  symbol,
  name,
  decimals,
  minDeposit,
  ...(contract ? { contract } : {}),
});

type Base = Omit<NetworkConfig, 'rpc' | 'nativeCoin' | 'coins'> & { coins: CoinConfig[] };

function evm(
  id: string,
  name: string,
  chainId: number,
  symbol: string,
  coinName: string,
  confirmations: number,
  blockTimeSeconds: number,
  tokens: [string, string, number, string][],
  testnet = false,
): Base {
  return {
    id,
    name,
    family: 'EVM',
    testnet,
    chainId,
    confirmations,
    maxReorgDepth: Math.max(confirmations * 2, 12),
    blockTimeSeconds,
    coinType: 60,
    uriScheme: 'ethereum',
    coins: [coin(id, symbol, coinName, 18, 10n ** 14n), ...tokens.map(([s, n, d, c]) => coin(id, s, n, d, 10n ** BigInt(Math.max(0, d - 2)), c))],
  };
}

function btc(
  id: string,
  name: string,
  symbol: string,
  coinName: string,
  testnet: boolean,
  confirmations: number,
  blockTimeSeconds: number,
  coinType: number,
  uriScheme: string,
  dev = false,
): Base {
  return {
    id,
    name,
    family: 'BITCOIN',
    testnet,
    chainId: 0,
    confirmations,
    maxReorgDepth: dev ? 20 : 10,
    blockTimeSeconds,
    coinType,
    uriScheme,
    bitcoin: BITCOIN_PARAMS[id],
    ...(dev ? { dev: true } : {}),
    coins: [coin(id, symbol, coinName, 8, 10_000n)],
  };
}

const CATALOGUE: Base[] = [
  btc('bitcoin', 'Bitcoin', 'BTC', 'Bitcoin', false, 2, 600, 0, 'bitcoin'),
  btc('bitcoin-testnet', 'Bitcoin Testnet', 'BTC', 'Test Bitcoin', true, 1, 600, 1, 'bitcoin'),
  btc('litecoin', 'Litecoin', 'LTC', 'Litecoin', false, 6, 150, 2, 'litecoin'),
  btc('litecoin-testnet', 'Litecoin Testnet', 'LTC', 'Test Litecoin', true, 1, 150, 1, 'litecoin'),
  btc('dev-ltc', 'Dev Litecoin (regtest)', 'LTC', 'Litecoin (regtest)', true, 1, 1, 1, 'litecoin', true),
  evm('ethereum', 'Ethereum', 1, 'ETH', 'Ether', 12, 12, [
    ['USDT', 'Tether USD', 6, '0xdAC17F958D2ee523a2206206994597C13D831ec7'],
    ['USDC', 'USD Coin', 6, '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48'],
  ]),
  evm('bsc', 'BNB Smart Chain', 56, 'BNB', 'BNB', 15, 3, [
    ['USDT', 'Tether USD (BEP-20)', 18, '0x55d398326f99059fF775485246999027B3197955'],
    ['USDC', 'USD Coin (BEP-20)', 18, '0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d'],
  ]),
  evm('polygon', 'Polygon PoS', 137, 'POL', 'POL', 64, 2, [
    ['USDT', 'Tether USD (PoS)', 6, '0xc2132D05D31c914a87C6611C10748AEb04B58e8F'],
    ['USDC', 'USD Coin', 6, '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359'],
  ]),
  evm('arbitrum', 'Arbitrum One', 42161, 'ETH', 'Ether', 20, 1, [
    ['USDT', 'Tether USD', 6, '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9'],
    ['USDC', 'USD Coin', 6, '0xaf88d065e77c8cC2239327C5EDb3A432268e5831'],
  ]),
  {
    ...evm('dev-evm', 'Dev EVM (anvil)', 31337, 'ETH', 'Ether (anvil)', 1, 1, [['USDT', 'Dev Tether USD', 6, DEV_EVM_USDT_ADDRESS]], true),
    dev: true,
    maxReorgDepth: 20,
  },
  {
    id: 'tron',
    name: 'Tron',
    family: 'TRON',
    testnet: false,
    chainId: 728126428,
    confirmations: 19,
    maxReorgDepth: 27,
    blockTimeSeconds: 3,
    coinType: 195,
    uriScheme: 'tron',
    coins: [coin('tron', 'TRX', 'Tronix', 6, 1_000_000n), coin('tron', 'USDT', 'Tether USD (TRC-20)', 6, 1_000_000n, 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t')],
  },
  {
    id: 'tron-shasta',
    name: 'Tron Shasta Testnet',
    family: 'TRON',
    testnet: true,
    chainId: 2494104990,
    confirmations: 19,
    maxReorgDepth: 27,
    blockTimeSeconds: 3,
    coinType: 195,
    uriScheme: 'tron',
    coins: [coin('tron-shasta', 'TRX', 'Test Tronix', 6, 1_000_000n)],
  },
];

const envModel = z.object({
  DEV_CHAINS: z.enum(['0', '1', 'true', 'false']).default('1'),
  DEV_CONFIRMATIONS: z.coerce.number().int().min(0).max(100).default(1),
});

function envKey(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

/** Every configured network, enabled or not (the API lists them all, with availability). */
export function allNetworks(env: Record<string, string | undefined> = process.env): (NetworkConfig & { enabled: boolean })[] {
  const parsed = envModel.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const devOn = parsed.data.DEV_CHAINS === '1' || parsed.data.DEV_CHAINS === 'true';
  return CATALOGUE.map((base) => {
    const key = envKey(base.id);
    let rpc: RpcEndpointConfig[] = [];
    if (base.dev) {
      const evmUrl = env.DEV_EVM_RPC_URL ?? DEV_EVM_RPC;
      // anvil answers websockets on its HTTP port: new heads are pushed, not polled.
      rpc =
        base.family === 'EVM'
          ? [{ url: evmUrl, wsUrl: evmUrl.replace(/^http/, 'ws'), supportsTracing: true, supportsBlockReceipts: true }]
          : [{ ...DEV_LTC_RPC, url: env.DEV_LTC_RPC_URL ?? DEV_LTC_RPC.url }];
    } else if (env[`CHAIN_RPC_${key}`]) {
      const urls = env[`CHAIN_RPC_${key}`]!.split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      for (const u of urls) {
        try {
          new URL(u);
        } catch {
          throw new ConfigError([`CHAIN_RPC_${key}: "${u}" is not a URL`]);
        }
      }
      const tracing = env[`CHAIN_RPC_${key}_TRACING`] === '1';
      rpc = urls.map((url) => ({ url, supportsTracing: tracing }));
    }
    const confOverride = env[`CHAIN_CONFIRMATIONS_${key}`];
    const confirmations = base.dev ? parsed.data.DEV_CONFIRMATIONS : confOverride ? Number(confOverride) : base.confirmations;
    if (!Number.isInteger(confirmations) || confirmations < 0) throw new ConfigError([`CHAIN_CONFIRMATIONS_${key}: must be a whole number`]);
    const enabled = base.dev ? devOn : rpc.length > 0;
    return { ...base, confirmations, rpc, nativeCoin: base.coins[0]!, coins: base.coins, enabled };
  });
}

export function getNetwork(id: string, env: Record<string, string | undefined> = process.env): NetworkConfig {
  const n = allNetworks(env).find((x) => x.id === id);
  if (!n) throw new Error(`unknown network ${id}`);
  return n;
}
