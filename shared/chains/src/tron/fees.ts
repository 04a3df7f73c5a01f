import { ChainError, type FeeQuote, type RpcTransport } from '../types';
import { type TronAccountResourceJson, type TronChainParametersJson, type TronConstantCallJson, chainParameter, isMissingPath, tronPost } from './protocol';

/**
 * The Tron fee estimator, the one both the signer (withdrawals, delegations) and the collector
 * (sweep planning) use. Tron has no gas price: a transaction pays with resources. Bandwidth (its
 * size in bytes) is paid from staked bandwidth, else from the daily free bandwidth, else burnt
 * whole at getTransactionFee sun per byte; energy comes from staked (or delegated) energy and the
 * shortfall is burnt at getEnergyFee sun per unit; a TRX transfer that creates the recipient's
 * account pays the activation fees instead of bandwidth. The reads here only read.
 */

/**
 * Energy of a USDT-style transfer when /wallet/triggerconstantcontract cannot tell (simulation
 * reverted, e.g. the hot wallet is not funded yet). The often quoted ~65,000 (recipient holds no
 * token yet: a new storage slot) and ~32,000 (recipient already holds some) predate USDT's
 * dynamic-energy penalty: the recorded mainnet receipts in shared/fixtures/tron show
 * energy_usage_total 130,285 and 64,285 for those two cases. We assume the recorded figures
 * because an estimate that is too low makes the transfer run out of energy and still burn fees.
 */
export const DEFAULT_TOKEN_ENERGY = { newHolder: 130_285, holder: 64_285 };

/**
 * Bandwidth of a signed USDT transfer and of a signed TRX transfer or (un)delegation, as the
 * recorded mainnet receipts show (345 and 266 bytes); a little over, so estimates are upper bounds.
 */
export const TOKEN_TRANSFER_BYTES = 350n;
export const SYSTEM_TX_BYTES = 280n;

// Mainnet values at the time of writing; used only when /wallet/getchainparameters omits a key.
const DEFAULT_PRICES = {
  getTransactionFee: 1_000,
  getEnergyFee: 100,
  getCreateAccountFee: 100_000,
  getCreateNewAccountFeeInSystemContract: 1_000_000,
  getFreeNetLimit: 600,
};

export interface TronPrices {
  /** Sun burnt per byte of bandwidth (getTransactionFee). */
  txFee: number;
  /** Sun burnt per unit of energy (getEnergyFee). */
  energyFee: number;
  /** Bandwidth fee of a transaction that creates an account (getCreateAccountFee). */
  createAccountFee: number;
  /** Activation fee of a new account (getCreateNewAccountFeeInSystemContract). */
  newAccountFee: number;
  /** Free bandwidth an account gets per day (getFreeNetLimit). */
  freeNetPerDay: number;
}

/** Called by estimates, signatures and sweep planning; read-only. The prices change only by committee proposals. */
export async function readTronPrices(transport: Pick<RpcTransport, 'post'>): Promise<TronPrices> {
  const json = await tronPost<TronChainParametersJson>(transport, '/wallet/getchainparameters', {});
  const get = (k: keyof typeof DEFAULT_PRICES) => chainParameter(json, k) ?? DEFAULT_PRICES[k];
  return {
    txFee: get('getTransactionFee'),
    energyFee: get('getEnergyFee'),
    createAccountFee: get('getCreateAccountFee'),
    newAccountFee: get('getCreateNewAccountFeeInSystemContract'),
    freeNetPerDay: get('getFreeNetLimit'),
  };
}

export interface TronResources {
  /** Free bandwidth (bytes) left today. */
  freeNet: number;
  /** Staked bandwidth (bytes) left. */
  stakedNet: number;
  /** Energy the account can use now: its own stake or stake delegated to it, less what it used. */
  energy: number;
  /** The network's totals: the energy one staked TRX gives is TotalEnergyLimit / TotalEnergyWeight. */
  totalEnergyLimit: number;
  totalEnergyWeight: number;
}

/** What an account (hex address) has left of each resource now; read-only. */
export async function readTronResources(transport: Pick<RpcTransport, 'post'>, addressHex: string): Promise<TronResources> {
  const r = await tronPost<TronAccountResourceJson>(transport, '/wallet/getaccountresource', { address: addressHex, visible: false });
  return {
    freeNet: Math.max(0, (r.freeNetLimit ?? 0) - (r.freeNetUsed ?? 0)),
    stakedNet: Math.max(0, (r.NetLimit ?? 0) - (r.NetUsed ?? 0)),
    energy: Math.max(0, (r.EnergyLimit ?? 0) - (r.EnergyUsed ?? 0)),
    totalEnergyLimit: r.TotalEnergyLimit ?? 0,
    totalEnergyWeight: r.TotalEnergyWeight ?? 0,
  };
}

/** Whether the account exists on chain (a TRX transfer creates it); read-only. */
export async function tronAccountExists(transport: Pick<RpcTransport, 'post'>, addressHex: string): Promise<boolean> {
  const account = await tronPost<{ address?: string }>(transport, '/wallet/getaccount', { address: addressHex, visible: false });
  return typeof account.address === 'string' && account.address.length > 0;
}

/** Sun of TRX staked for energy the account can delegate now; 0 from a node without the call. Read-only. */
export async function readDelegatableEnergySun(transport: Pick<RpcTransport, 'post'>, addressHex: string): Promise<bigint> {
  // type 1: ENERGY. max_size (sun) is omitted when 0.
  const max = await tronPost<{ max_size?: number }>(transport, '/wallet/getcandelegatedmaxsize', { owner_address: addressHex, type: 1, visible: false }).catch(
    (err: unknown) => {
      if (isMissingPath(err)) return { max_size: 0 };
      throw err;
    },
  );
  return BigInt(max.max_size ?? 0);
}

const SUN_PER_TRX = 1_000_000n;

/** Staked sun to delegate so the receiver gets at least `energy` (whole TRX, one more for rounding, at least 1 TRX). */
export function sunForEnergy(energy: bigint, energyPerTrx: { numerator: bigint; denominator: bigint }): bigint {
  if (energy <= 0n) return 0n;
  const trx = (energy * energyPerTrx.denominator + energyPerTrx.numerator - 1n) / energyPerTrx.numerator + 1n;
  return (trx < 1n ? 1n : trx) * SUN_PER_TRX;
}

/** Bandwidth a transaction of `bytes` burns (sun): none when staked or free bandwidth covers all of it. */
export function bandwidthBurn(bytes: number, left: Pick<TronResources, 'stakedNet' | 'freeNet'>, prices: Pick<TronPrices, 'txFee'>): number {
  return left.stakedNet >= bytes || left.freeNet >= bytes ? 0 : bytes * prices.txFee;
}

/**
 * The quote of one built transaction of `bytes` to `toHex`, consuming from `left` what it uses
 * (several transactions of one account are quoted in turn). A TRX transfer asks the node whether
 * the recipient exists (activation); a token transfer takes its energy from `token.energy()`.
 */
export async function quoteTronTransaction(
  transport: Pick<RpcTransport, 'post'>,
  q: {
    toHex: string;
    bytes: number;
    prices: TronPrices;
    left: TronResources;
    token: { energy: () => Promise<{ energy: number; source: string }>; feeLimitSun: bigint } | null;
  },
): Promise<FeeQuote> {
  const { bytes, prices, left } = q;
  let bandwidthFee = 0;
  let activationFee = 0;
  let energy = 0;
  let energyFee = 0;
  let energySource = 'none';
  if (!q.token && !(await tronAccountExists(transport, q.toHex))) {
    // Creating an account cannot use free bandwidth: staked bandwidth, else a flat fee.
    activationFee = prices.newAccountFee;
    if (left.stakedNet >= bytes) left.stakedNet -= bytes;
    else bandwidthFee = prices.createAccountFee;
  } else if (left.stakedNet >= bytes) left.stakedNet -= bytes;
  else if (left.freeNet >= bytes) left.freeNet -= bytes;
  else bandwidthFee = bytes * prices.txFee;
  if (q.token) {
    ({ energy, source: energySource } = await q.token.energy());
    const fromStake = Math.min(left.energy, energy);
    left.energy -= fromStake;
    energyFee = (energy - fromStake) * prices.energyFee;
  }
  const detail: Record<string, string> = {
    bandwidth: String(bytes),
    bandwidthFee: String(bandwidthFee),
    energy: String(energy),
    energyFee: String(energyFee),
    energySource,
    activationFee: String(activationFee),
    bandwidthPrice: String(prices.txFee),
    energyPrice: String(prices.energyFee),
    transactions: '1',
  };
  if (q.token) detail.feeLimit = String(q.token.feeLimitSun);
  return { fee: BigInt(bandwidthFee) + BigInt(energyFee) + BigInt(activationFee), detail };
}

/**
 * Energy of a TRC-20 `transfer(to, amount)` from `fromHex`: the node's simulation when it runs
 * through, else the default for a recipient that holds the token already or not (asked with
 * balanceOf), else the larger default. Read-only; a transient node failure is thrown.
 */
export async function tokenTransferEnergy(
  transport: Pick<RpcTransport, 'post'>,
  t: { fromHex: string; toHex: string; contractHex: string; amount: bigint },
  defaults: { newHolder: number; holder: number } = DEFAULT_TOKEN_ENERGY,
): Promise<{ energy: number; source: string }> {
  const toWord = t.toHex.slice(2).padStart(64, '0');
  try {
    const sim = await tronPost<TronConstantCallJson>(transport, '/wallet/triggerconstantcontract', {
      owner_address: t.fromHex,
      contract_address: t.contractHex,
      function_selector: 'transfer(address,uint256)',
      parameter: toWord + t.amount.toString(16).padStart(64, '0'),
      visible: false,
    });
    const returned = sim.constant_result?.[0];
    const reverted =
      sim.result?.result !== true || !!sim.result.message || sim.transaction?.ret?.[0]?.ret === 'FAILED' || (returned !== undefined && /^0*$/.test(returned));
    if (!reverted && typeof sim.energy_used === 'number' && sim.energy_used > 0) return { energy: sim.energy_used, source: 'simulated' };
    const bal = await tronPost<TronConstantCallJson>(transport, '/wallet/triggerconstantcontract', {
      owner_address: t.fromHex,
      contract_address: t.contractHex,
      function_selector: 'balanceOf(address)',
      parameter: toWord,
      visible: false,
    });
    const word = bal.result?.result === true ? bal.constant_result?.[0] : undefined;
    if (word && /^[0-9a-fA-F]{64}$/.test(word) && BigInt(`0x${word}`) > 0n) return { energy: defaults.holder, source: 'default-holder' };
    return { energy: defaults.newHolder, source: word ? 'default-new-holder' : 'default-unknown-holder' };
  } catch (err) {
    if (err instanceof ChainError && err.transient) throw err;
    return { energy: defaults.newHolder, source: 'default-unknown-holder' };
  }
}

/** Quotes of several transactions of one account as one: the sums, and every energy source seen. */
export function mergeQuotes(a: FeeQuote, b: FeeQuote): FeeQuote {
  const detail: Record<string, string> = { ...b.detail };
  for (const k of ['bandwidth', 'bandwidthFee', 'energy', 'energyFee', 'activationFee', 'transactions']) {
    detail[k] = String(BigInt(a.detail[k] ?? '0') + BigInt(b.detail[k] ?? '0'));
  }
  const sources = new Set([...(a.detail.energySource ?? '').split(','), b.detail.energySource ?? ''].filter((s) => s && s !== 'none'));
  detail.energySource = [...sources].join(',') || 'none';
  return { fee: a.fee + b.fee, detail };
}
