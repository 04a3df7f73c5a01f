import { sha256Hex, type TronAccountResourceJson, type TronBlockJson, type TronTransactionJson, type TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { ZERO32 } from './wire';

/** Network-wide energy totals the fake reports (mainnet-like): energy per staked sun follows from them. */
export const FAKE_TOTAL_ENERGY_LIMIT = 180_000_000_000;
export const FAKE_TOTAL_ENERGY_WEIGHT = 2_411_528_185;

/** Energy `sun` of TRX staked for energy gives (java-tron: frozen TRX x TotalEnergyLimit / TotalEnergyWeight). */
export function fakeEnergyOfStake(sun: bigint): number {
  return Number(((sun / 1_000_000n) * BigInt(FAKE_TOTAL_ENERGY_LIMIT)) / BigInt(FAKE_TOTAL_ENERGY_WEIGHT));
}

// Mainnet-like values of the keys a wallet needs; the real answer has ~90 keys in this shape.
const DEFAULT_CHAIN_PARAMETERS: Record<string, number> = {
  getMaintenanceTimeInterval: 21_600_000,
  getCreateAccountFee: 100_000,
  getTransactionFee: 1_000,
  getFreeNetLimit: 600,
  getTotalEnergyLimit: 180_000_000_000,
  getCreateNewAccountFeeInSystemContract: 1_000_000,
  getCreateNewAccountBandwidthRate: 1,
  getEnergyFee: 100,
  getMaxFeeLimit: 15_000_000_000,
  getAllowTvmTransferTrc10: 1,
};

export interface ChainStateOptions {
  chainParameters?: Record<string, number>;
  transferEnergy?: { newHolder: number; holder: number };
  resourceModel?: boolean;
}

/**
 * What the fake node knows: blocks and receipts, the pending pool, and the accounts (TRX, TRC-20
 * balances, activation, staking, delegations, resources used). Accounts are keyed by 41-hex
 * address in lower case, as transactions carry them with `visible: false`. The HTTP routes read
 * it, broadcast checks and mining (execution.ts) change it.
 */
export class ChainState {
  readonly blocks = new Map<number, TronBlockJson>();
  readonly infos = new Map<string, TronTxInfoJson>();
  readonly txBlock = new Map<string, number>();
  pending: TronTransactionJson[] = [];
  readonly revertOnMine = new Set<string>();
  readonly trx = new Map<string, bigint>();
  readonly tokens = new Map<string, bigint>();
  readonly activated = new Set<string>();
  readonly resources = new Map<string, TronAccountResourceJson>();
  readonly params: Record<string, number>;
  readonly transferEnergy: { newHolder: number; holder: number };
  readonly resourceModel: boolean;
  headNumber = 0;
  /** triggerconstantcontract answers as if every simulated call reverted. */
  simulateRevert = false;
  /** Own TRX staked for energy (FreezeBalanceV2, resource ENERGY), sun. */
  readonly stakedEnergy = new Map<string, bigint>();
  /** Staked sun delegated for energy, by `owner:receiver` (hex). */
  readonly delegations = new Map<string, bigint>();
  readonly energyUsed = new Map<string, number>();
  readonly freeNetUsed = new Map<string, number>();

  constructor(opts: ChainStateOptions) {
    this.params = { ...DEFAULT_CHAIN_PARAMETERS, ...(opts.chainParameters ?? {}) };
    this.transferEnergy = opts.transferEnergy ?? { newHolder: 130_285, holder: 64_285 };
    this.resourceModel = opts.resourceModel ?? false;
  }

  head(): TronBlockJson {
    return this.blocks.get(this.headNumber)!;
  }

  /**
   * A block in the recorded shape. Its id is sha256 of the header JSON with the height in the
   * first 8 bytes, as Tron block ids carry it; the Merkle root is a stand-in.
   */
  assemble(number: number, parentHash: string, timestamp: number, transactions: TronTransactionJson[], witness: string): TronBlockJson {
    const raw = {
      number,
      txTrieRoot: transactions.length ? sha256Hex(transactions.map((t) => t.txID).join('')) : ZERO32,
      witness_address: witness,
      parentHash,
      version: 30,
      timestamp,
    };
    const blockID = number.toString(16).padStart(16, '0') + sha256Hex(Buffer.from(JSON.stringify(raw)).toString('hex')).slice(16);
    const block: TronBlockJson = { blockID, block_header: { raw_data: raw, witness_signature: '00'.repeat(65) } };
    if (transactions.length) block.transactions = transactions;
    return block;
  }

  /** Stores a block and its receipts (the head does not move). */
  put(block: TronBlockJson, infos: TronTxInfoJson[]): void {
    const n = block.block_header!.raw_data.number ?? 0;
    this.blocks.set(n, block);
    for (const tx of block.transactions ?? []) this.txBlock.set(tx.txID, n);
    for (const info of infos) if (info.id) this.infos.set(info.id, info);
  }

  /**
   * Appends a block holding `transactions` verbatim with their receipts on top of the head;
   * blockNumber and blockTimeStamp of the receipts are set to the new block's.
   */
  appendBlock(transactions: TronTransactionJson[], infos: TronTxInfoJson[], timestamp?: number): TronBlockJson {
    const parent = this.head();
    const number = this.headNumber + 1;
    const ts = timestamp ?? (parent.block_header!.raw_data.timestamp ?? 0) + 3_000;
    const block = this.assemble(number, parent.blockID!, ts, transactions, parent.block_header!.raw_data.witness_address);
    this.put(
      block,
      infos.map((i) => ({ ...i, blockNumber: number, blockTimeStamp: ts })),
    );
    this.headNumber = number;
    return block;
  }

  delegatedOut(hex: string): bigint {
    let sum = 0n;
    for (const [k, v] of this.delegations) if (k.startsWith(`${hex}:`)) sum += v;
    return sum;
  }

  delegatedIn(hex: string): bigint {
    let sum = 0n;
    for (const [k, v] of this.delegations) if (k.endsWith(`:${hex}`)) sum += v;
    return sum;
  }

  /** Energy the account may use now: from its own stake not delegated away, and from stake delegated to it. */
  energyLimit(hex: string): number {
    return fakeEnergyOfStake((this.stakedEnergy.get(hex) ?? 0n) - this.delegatedOut(hex) + this.delegatedIn(hex));
  }

  /** Bandwidth of one transaction under the resource model: free bandwidth, else TRX burnt. Returns the sun burnt. */
  chargeBandwidth(ownerHex: string, bytes: number): number {
    const used = this.freeNetUsed.get(ownerHex) ?? 0;
    if (used + bytes <= (this.params.getFreeNetLimit ?? 600)) {
      this.freeNetUsed.set(ownerHex, used + bytes);
      return 0;
    }
    const fee = bytes * (this.params.getTransactionFee ?? 0);
    this.trx.set(ownerHex, (this.trx.get(ownerHex) ?? 0n) - BigInt(fee));
    return fee;
  }

  tokenKey(contractBody: string, holderBody: string): string {
    return `${contractBody.toLowerCase()}:${holderBody.toLowerCase()}`;
  }

  /** TRC-20 balance, by contract and holder as 40-hex bodies (no 41 prefix). */
  tokenBalance(contractBody: string, holderBody: string): bigint {
    return this.tokens.get(this.tokenKey(contractBody, holderBody)) ?? 0n;
  }

  /** Energy a TRC-20 transfer to `toBody` uses: less when the recipient already holds the token. */
  transferEnergyTo(contractBody: string, toBody: string): number {
    return this.tokenBalance(contractBody, toBody) > 0n ? this.transferEnergy.holder : this.transferEnergy.newHolder;
  }
}
