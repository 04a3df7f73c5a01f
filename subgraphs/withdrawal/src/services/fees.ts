import type { CoinConfig, NetworkConfig, NetworkFamily } from '@cpg/shared/chains';

export interface FeeQuote {
  /** Base units of `feeCoin`, the network's native coin. */
  fee: bigint;
  feeCoin: CoinConfig;
}

/** A fee estimate for one withdrawal of `coin`, paid in the network's native coin. */
export interface FeeEstimator {
  estimate(network: NetworkConfig, coin: CoinConfig, amount: bigint): Promise<FeeQuote>;
}

/** Units one withdrawal costs: Bitcoin family vbytes (1 input, 2 outputs P2WPKH), EVM gas, Tron sun. */
const BTC_VBYTES = 141n;
const EVM_GAS_NATIVE = 21_000n;
const EVM_GAS_TOKEN = 65_000n;

/**
 * The static fallback per family, used when the chain cannot be asked: 10 sat/vB for a
 * 141 vB spend; 20 gwei for a transfer (21k gas) or a token transfer (65k gas); Tron 1.1 TRX of
 * bandwidth for TRX, 30 TRX of energy for a TRC-20 transfer.
 */
export function staticFee(family: NetworkFamily, isToken: boolean): bigint {
  switch (family) {
    case 'BITCOIN':
      return BTC_VBYTES * 10n;
    case 'EVM':
      return (isToken ? EVM_GAS_TOKEN : EVM_GAS_NATIVE) * 20_000_000_000n;
    case 'TRON':
      return isToken ? 30_000_000n : 1_100_000n;
  }
}

export class StaticFeeEstimator implements FeeEstimator {
  async estimate(network: NetworkConfig, coin: CoinConfig): Promise<FeeQuote> {
    return { fee: staticFee(network.family, coin.id !== network.nativeCoin.id), feeCoin: network.nativeCoin };
  }
}

type Fetch = typeof fetch;

/**
 * Asks the network's first RPC endpoint: EVM `eth_gasPrice` times the transfer's gas, Bitcoin
 * family `estimatesmartfee` times the spend's size. Tron, an endpoint that fails or a chain with
 * no estimate (a fresh regtest) fall back to the static table, so an estimate is always given.
 */
export class ChainFeeEstimator implements FeeEstimator {
  private readonly fallback = new StaticFeeEstimator();
  constructor(
    private readonly fetchImpl: Fetch = fetch,
    private readonly timeoutMs = 2000,
  ) {}

  async estimate(network: NetworkConfig, coin: CoinConfig, amount: bigint): Promise<FeeQuote> {
    const isToken = coin.id !== network.nativeCoin.id;
    try {
      const fee = await this.ask(network, isToken);
      if (fee !== null && fee > 0n) return { fee, feeCoin: network.nativeCoin };
    } catch {
      // The static estimate below.
    }
    void amount;
    return this.fallback.estimate(network, coin);
  }

  private async ask(network: NetworkConfig, isToken: boolean): Promise<bigint | null> {
    const endpoint = network.rpc[0];
    if (!endpoint) return null;
    if (network.family === 'EVM') {
      const price = await this.call<string>(endpoint, 'eth_gasPrice', []);
      return BigInt(price) * (isToken ? EVM_GAS_TOKEN : EVM_GAS_NATIVE);
    }
    if (network.family === 'BITCOIN') {
      const r = await this.call<{ feerate?: number }>(endpoint, 'estimatesmartfee', [6]);
      if (typeof r.feerate !== 'number' || !(r.feerate > 0)) return null;
      // coins per kvB -> base units per kvB, exactly enough for an estimate (8 decimals).
      const perKvB = BigInt(Math.round(r.feerate * 1e8));
      return (perKvB * BTC_VBYTES + 999n) / 1000n;
    }
    return null;
  }

  private async call<T>(endpoint: NetworkConfig['rpc'][number], method: string, params: unknown[]): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(endpoint.headers ?? {}) };
    if (endpoint.username) headers.authorization = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password ?? ''}`).toString('base64')}`;
    const res = await this.fetchImpl(endpoint.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await res.json()) as { result?: T; error?: unknown };
    if (body.error || body.result === undefined) throw new Error(`${method} failed`);
    return body.result;
  }
}
