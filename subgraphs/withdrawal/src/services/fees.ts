import type { CoinConfig, NetworkConfig, NetworkFamily, RpcTransport } from '@cpg/chains';
import { feeAtRate, p2wpkhSpendVsize } from '@cpg/chains/bitcoin/fees';
import { createRpcPool } from '@cpg/chains/rpc';

export interface FeeQuote {
  /** Base units of `feeCoin`, the network's native coin. */
  fee: bigint;
  feeCoin: CoinConfig;
}

/** A fee estimate for one withdrawal of `coin`, paid in the network's native coin. */
export interface FeeEstimator {
  /** Called by estimateWithdrawalFee; read-only. One payout's fee does not depend on its amount. */
  estimate(network: NetworkConfig, coin: CoinConfig): Promise<FeeQuote>;
}

/** Units one withdrawal costs: Bitcoin family vbytes (1 input, 2 outputs P2WPKH), EVM gas, Tron sun. */
const BTC_VBYTES = BigInt(p2wpkhSpendVsize(1, 2));
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

/** One pooled transport per network (failover, timeouts, auth: the chain layer's RPC pool), made on first use. */
function pooledTransports(): (network: NetworkConfig) => Pick<RpcTransport, 'call'> {
  const pools = new Map<string, RpcTransport>();
  return (network) => {
    let pool = pools.get(network.id);
    if (!pool) pools.set(network.id, (pool = createRpcPool(network.rpc, { name: `fees ${network.id}`, timeoutMs: 2000, maxAttempts: 1 })));
    return pool;
  };
}

/**
 * Asks the network's node: EVM `eth_gasPrice` times the transfer's gas, Bitcoin family
 * `estimatesmartfee` times the spend's size. Tron, a node that fails or a chain with no estimate
 * (a fresh regtest) fall back to the static table, so an estimate is always given.
 */
export class ChainFeeEstimator implements FeeEstimator {
  private readonly fallback = new StaticFeeEstimator();
  constructor(private readonly transportFor: (network: NetworkConfig) => Pick<RpcTransport, 'call'> = pooledTransports()) {}

  async estimate(network: NetworkConfig, coin: CoinConfig): Promise<FeeQuote> {
    const isToken = coin.id !== network.nativeCoin.id;
    try {
      const fee = await this.ask(network, isToken);
      if (fee !== null && fee > 0n) return { fee, feeCoin: network.nativeCoin };
    } catch {
      // The static estimate below.
    }
    return this.fallback.estimate(network, coin);
  }

  private async ask(network: NetworkConfig, isToken: boolean): Promise<bigint | null> {
    if (!network.rpc.length) return null;
    if (network.family === 'EVM') {
      const price = await this.transportFor(network).call<string>('eth_gasPrice', []);
      return BigInt(price) * (isToken ? EVM_GAS_TOKEN : EVM_GAS_NATIVE);
    }
    if (network.family === 'BITCOIN') {
      const r = await this.transportFor(network).call<{ feerate?: number }>('estimatesmartfee', [6]);
      if (typeof r.feerate !== 'number' || !(r.feerate > 0)) return null;
      // coins per kvB -> base units per kvB, exactly enough for an estimate (8 decimals).
      const perKvB = BigInt(Math.round(r.feerate * 1e8));
      return feeAtRate(Number(BTC_VBYTES), perKvB);
    }
    return null;
  }
}
