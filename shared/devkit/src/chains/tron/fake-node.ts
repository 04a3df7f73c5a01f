/**
 * TEST DOUBLE of a third-party Tron full node, which cannot be reached from here; it serves
 * recorded response shapes from shared/fixtures and verifies posted signatures.
 *
 * It is NOT a Tron implementation: no protobuf block encoding, no real Merkle roots, no witness
 * signatures, no VM. What it does keep faithful, because the watcher and signer depend on it:
 * - the JSON shapes of java-tron's HTTP API with `visible: false` (hex addresses, omitted
 *   defaults, hex-encoded error messages), taken from the recorded responses;
 * - broadcast checks a real node makes: txID = sha256(raw_data_hex), raw_data_hex = protobuf of
 *   raw_data, the signer recovered from each signature (secp256k1 over the txID) equals
 *   raw_data.contract[0].parameter.value.owner_address, TaPoS reference, expiration, duplicates;
 * - TRX balances and TRC-20 token balances it was told about, so an unfunded transfer fails the
 *   way it would on chain (TRX: refused at broadcast; TRC-20: mined with a REVERT receipt).
 * Blocks it assembles from broadcast transactions use the recorded block shape; their ids are
 * sha256 of the header JSON with the height in the first 8 bytes, as Tron block ids carry it.
 * Only tests and the dev tooling use it; nothing in production imports this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { recover } from 'tiny-secp256k1';
import { utils as tronUtils } from 'tronweb';
import { tronAddressFromPublicKey, tronBase58ToHex, tronHexToBase58 } from '@cpg/chains/tron/address';
import {
  TRC20_TRANSFER_SELECTOR,
  TRC20_TRANSFER_TOPIC,
  bandwidthBytes,
  refBlockFields,
  sha256Hex,
  type TronBlockJson,
  type TronTransactionJson,
  type TronTxInfoJson,
  type TronAccountResourceJson,
} from '@cpg/chains/tron/protocol';

/** Finds shared/fixtures/tron: TRON_FIXTURES_DIR, else the nearest `shared/fixtures/tron` above this file. */
export function tronFixturesDir(): string {
  if (process.env.TRON_FIXTURES_DIR) return process.env.TRON_FIXTURES_DIR;
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'shared', 'fixtures', 'tron');
    if (existsSync(join(candidate, 'SOURCES.md'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('shared/fixtures/tron not found above ' + __dirname + '; set TRON_FIXTURES_DIR');
    dir = parent;
  }
}

export function readTronFixture<T = unknown>(relativePath: string): T {
  return JSON.parse(readFileSync(join(tronFixturesDir(), relativePath), 'utf8')) as T;
}

/** The two recorded mainnet USDT transfers: `transaction` is a gettransactionbyid answer, `info` a gettransactioninfobyid answer. */
export const MAINNET_USDT_CAPTURES = [
  'metamask-mainnet-captures/985e1025996d272399ee5dab76dcbb1ff19ea14112b747c3c2fc0510b6018d2e.json',
  'metamask-mainnet-captures/09ced8884304c13fed8642595593f6c3724173d6848e64a3f27849b055249429.json',
];

export interface FakeTronNodeOptions {
  /**
   * The chain it starts with. 'shasta': recorded blocks 200 and 46929239 (complete, verbatim),
   * head 46929239. 'mainnet': blocks 84285095 and 84286946, each ASSEMBLED around one recorded
   * USDT transfer (transaction and receipt verbatim; the rest of those blocks was not recorded),
   * head 84286946. 'empty': one assembled genesis-like block 1.
   */
  recorded?: 'shasta' | 'mainnet' | 'empty';
  /** Overrides of /wallet/getchainparameters values. */
  chainParameters?: Record<string, number>;
  /** Energy a TRC-20 transfer uses, by whether the recipient already holds the token (recorded mainnet receipts by default). */
  transferEnergy?: { newHolder: number; holder: number };
  /** Paths answered with 404, as by a node that lacks them (older java-tron, some gateways). */
  disabledPaths?: string[];
  /**
   * Charge resources as java-tron does (off by default, so older tests keep their balances): a
   * transaction from an account that does not exist is refused; bandwidth comes from the daily
   * free 600 bytes, else TRX is burnt (getTransactionFee per byte); a TRX transfer that creates an
   * account burns the activation fees from the sender; a contract call takes energy from what the
   * account holds (staked, or delegated to it) and burns TRX (getEnergyFee per unit) for the rest,
   * failing with OUT_OF_ENERGY when the TRX does not cover it.
   */
  resourceModel?: boolean;
}

/** Network-wide energy totals the fake reports (mainnet-like): energy per staked sun follows from them. */
export const FAKE_TOTAL_ENERGY_LIMIT = 180_000_000_000;
export const FAKE_TOTAL_ENERGY_WEIGHT = 2_411_528_185;

/** Energy `sun` of TRX staked for energy gives (java-tron: frozen TRX x TotalEnergyLimit / TotalEnergyWeight). */
export function fakeEnergyOfStake(sun: bigint): number {
  return Number(((sun / 1_000_000n) * BigInt(FAKE_TOTAL_ENERGY_LIMIT)) / BigInt(FAKE_TOTAL_ENERGY_WEIGHT));
}

type AccountResource = TronAccountResourceJson;

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

const hexMessage = (text: string) => Buffer.from(text, 'utf8').toString('hex');
const word = (hex: string) => hex.padStart(64, '0');
const ZERO32 = '0'.repeat(64);
const MAX_EXPIRATION_MS = 24 * 3600 * 1000;

export class FakeTronNode {
  readonly url: string;
  /** Requests served, by path: tests assert how many calls a read took. */
  readonly calls = new Map<string, number>();
  private readonly blocks = new Map<number, TronBlockJson>();
  private readonly infos = new Map<string, TronTxInfoJson>();
  private readonly txBlock = new Map<string, number>();
  private pending: TronTransactionJson[] = [];
  private readonly revertOnMine = new Set<string>();
  private readonly trx = new Map<string, bigint>();
  private readonly tokens = new Map<string, bigint>();
  private readonly activated = new Set<string>();
  private readonly resources = new Map<string, AccountResource>();
  private readonly params: Record<string, number>;
  private readonly transferEnergy: { newHolder: number; holder: number };
  private headNumber = 0;
  private simulateRevert = false;
  private readonly disabled: Set<string>;
  private readonly resourceModel: boolean;
  /** Own TRX staked for energy (FreezeBalanceV2, resource ENERGY), sun. */
  private readonly stakedEnergy = new Map<string, bigint>();
  /** Staked sun delegated for energy, by `owner:receiver` (hex). */
  private readonly delegations = new Map<string, bigint>();
  private readonly energyUsed = new Map<string, number>();
  private readonly freeNetUsed = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    opts: FakeTronNodeOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.params = { ...DEFAULT_CHAIN_PARAMETERS, ...(opts.chainParameters ?? {}) };
    this.transferEnergy = opts.transferEnergy ?? { newHolder: 130_285, holder: 64_285 };
    this.disabled = new Set(opts.disabledPaths ?? []);
    this.resourceModel = opts.resourceModel ?? false;
    this.loadRecorded(opts.recorded ?? 'shasta');
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  static async start(opts: FakeTronNodeOptions = {}): Promise<FakeTronNode> {
    let node: FakeTronNode | null = null;
    const server = createServer((req, res) => {
      void node!.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    node = new FakeTronNode(server, opts);
    return node;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get headHeight(): number {
    return this.headNumber;
  }

  block(height: number): TronBlockJson | undefined {
    return this.blocks.get(height);
  }

  /** Credits TRX (sun) to an address and activates its account. */
  fund(address: string, sun: bigint): void {
    const hex = tronBase58ToHex(address);
    this.trx.set(hex, (this.trx.get(hex) ?? 0n) + sun);
    this.activated.add(hex);
  }

  /** Sets a TRC-20 balance (base units) of `holder` on `contract`. */
  setTokenBalance(contract: string, holder: string, units: bigint): void {
    this.tokens.set(this.tokenKey(tronBase58ToHex(contract).slice(2), tronBase58ToHex(holder).slice(2)), units);
  }

  setAccountResource(address: string, resource: AccountResource): void {
    const hex = tronBase58ToHex(address);
    this.activated.add(hex);
    this.resources.set(hex, resource);
  }

  /**
   * Stakes `sun` of the account's TRX for energy, as a mined FreezeBalanceV2Contract (resource
   * ENERGY) would: the TRX leaves the balance and the account gets energy in proportion.
   */
  stake(address: string, sun: bigint): void {
    const hex = tronBase58ToHex(address);
    const have = this.trx.get(hex) ?? 0n;
    if (!this.activated.has(hex) || have < sun) throw new Error(`cannot stake ${sun} sun from ${address}: it holds ${have}`);
    this.trx.set(hex, have - sun);
    this.stakedEnergy.set(hex, (this.stakedEnergy.get(hex) ?? 0n) + sun);
  }

  /** TRX balance (sun) the node holds for an address. */
  trxBalance(address: string): bigint {
    return this.trx.get(tronBase58ToHex(address)) ?? 0n;
  }

  /** Whether the account exists on chain (activated by a TRX transfer or funded here). */
  isActivated(address: string): boolean {
    return this.activated.has(tronBase58ToHex(address));
  }

  /** Staked sun `owner` has delegated for energy to `receiver`. */
  delegated(owner: string, receiver: string): bigint {
    return this.delegations.get(`${tronBase58ToHex(owner)}:${tronBase58ToHex(receiver)}`) ?? 0n;
  }

  /** Makes triggerconstantcontract answer as if every simulated call reverted. */
  setSimulationReverts(on: boolean): void {
    this.simulateRevert = on;
  }

  /** The pending transaction `txID` will be mined with a REVERT receipt whatever the balances. */
  revertWhenMined(txID: string): void {
    this.revertOnMine.add(txID);
  }

  pendingIds(): string[] {
    return this.pending.map((t) => t.txID);
  }

  /** Mines the pending transactions into the next block; returns it. */
  mine(): TronBlockJson {
    const txs = this.pending;
    this.pending = [];
    const blockInfos: TronTxInfoJson[] = [];
    const number = this.headNumber + 1;
    const timestamp = (this.head().block_header!.raw_data.timestamp ?? 0) + 3_000;
    const mined = txs.map((tx) => {
      const { ret, info } = this.execute(tx, number, timestamp);
      blockInfos.push(info);
      return { ret: [{ contractRet: ret }], signature: tx.signature, txID: tx.txID, raw_data: tx.raw_data, raw_data_hex: tx.raw_data_hex };
    });
    return this.appendBlock(mined, blockInfos, timestamp);
  }

  /**
   * Appends a block holding `transactions` verbatim (recorded or edited copies) with their
   * receipts; blockNumber and blockTimeStamp of the receipts are set to the new block's.
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

  // --- chain state ---------------------------------------------------------------------------

  private loadRecorded(kind: 'shasta' | 'mainnet' | 'empty'): void {
    if (kind === 'shasta') {
      const early = readTronFixture<TronBlockJson>('chainlink-tron-shasta/getblockbynum.json');
      const now = readTronFixture<TronBlockJson>('chainlink-tron-shasta/getnowblock.json');
      this.put(early, []);
      this.put(now, []);
      this.headNumber = now.block_header!.raw_data.number!;
      return;
    }
    if (kind === 'mainnet') {
      const captures = MAINNET_USDT_CAPTURES.map((p) => readTronFixture<{ transaction: TronTransactionJson; info: TronTxInfoJson }>(p));
      captures.sort((a, b) => a.info.blockNumber! - b.info.blockNumber!);
      for (const c of captures) {
        const n = c.info.blockNumber!;
        // The real parent of these blocks was not recorded; a stable stand-in keeps ids deterministic.
        const parentHash = (n - 1).toString(16).padStart(16, '0') + sha256Hex(Buffer.from(`parent-of-${n}`).toString('hex')).slice(16);
        const block = this.assemble(n, parentHash, c.info.blockTimeStamp!, [c.transaction], '41d0668c49826f2ca13e3848b5eb3414fb059b7cc0');
        this.put(block, [c.info]);
        this.headNumber = n;
      }
      return;
    }
    const genesis = this.assemble(1, ZERO32, 1_700_000_000_000, [], '41d0668c49826f2ca13e3848b5eb3414fb059b7cc0');
    this.put(genesis, []);
    this.headNumber = 1;
  }

  private assemble(number: number, parentHash: string, timestamp: number, transactions: TronTransactionJson[], witness: string): TronBlockJson {
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

  private put(block: TronBlockJson, infos: TronTxInfoJson[]): void {
    const n = block.block_header!.raw_data.number ?? 0;
    this.blocks.set(n, block);
    for (const tx of block.transactions ?? []) this.txBlock.set(tx.txID, n);
    for (const info of infos) if (info.id) this.infos.set(info.id, info);
  }

  private head(): TronBlockJson {
    return this.blocks.get(this.headNumber)!;
  }

  private delegatedOut(hex: string): bigint {
    let sum = 0n;
    for (const [k, v] of this.delegations) if (k.startsWith(`${hex}:`)) sum += v;
    return sum;
  }

  private delegatedIn(hex: string): bigint {
    let sum = 0n;
    for (const [k, v] of this.delegations) if (k.endsWith(`:${hex}`)) sum += v;
    return sum;
  }

  /** Energy the account may use now: from its own stake not delegated away, and from stake delegated to it. */
  private energyLimit(hex: string): number {
    return fakeEnergyOfStake((this.stakedEnergy.get(hex) ?? 0n) - this.delegatedOut(hex) + this.delegatedIn(hex));
  }

  /** Bandwidth of one transaction under the resource model: free bandwidth, else TRX burnt. Returns the sun burnt. */
  private chargeBandwidth(ownerHex: string, bytes: number): number {
    const used = this.freeNetUsed.get(ownerHex) ?? 0;
    if (used + bytes <= (this.params.getFreeNetLimit ?? 600)) {
      this.freeNetUsed.set(ownerHex, used + bytes);
      return 0;
    }
    const fee = bytes * (this.params.getTransactionFee ?? 0);
    this.trx.set(ownerHex, (this.trx.get(ownerHex) ?? 0n) - BigInt(fee));
    return fee;
  }

  private tokenKey(contractBody: string, holderBody: string): string {
    return `${contractBody.toLowerCase()}:${holderBody.toLowerCase()}`;
  }

  private execute(tx: TronTransactionJson, blockNumber: number, blockTimeStamp: number): { ret: string; info: TronTxInfoJson } {
    const contract = tx.raw_data.contract[0]!;
    const bytes = bandwidthBytes(tx.raw_data_hex.length / 2, tx.signature?.length ?? 1);
    const base = { id: tx.txID, blockNumber, blockTimeStamp };
    if (contract.type === 'TransferContract') {
      const v = contract.parameter.value as { owner_address: string; to_address: string; amount: number };
      const amount = BigInt(v.amount);
      this.trx.set(v.owner_address, (this.trx.get(v.owner_address) ?? 0n) - amount);
      this.trx.set(v.to_address, (this.trx.get(v.to_address) ?? 0n) + amount);
      const created = !this.activated.has(v.to_address);
      this.activated.add(v.to_address);
      if (this.resourceModel) {
        if (created) {
          const fee = (this.params.getCreateNewAccountFeeInSystemContract ?? 0) + (this.params.getCreateAccountFee ?? 0);
          this.trx.set(v.owner_address, (this.trx.get(v.owner_address) ?? 0n) - BigInt(fee));
          return { ret: 'SUCCESS', info: { ...base, fee, contractResult: [''], receipt: { net_fee: this.params.getCreateAccountFee ?? 0 } } };
        }
        const netFee = this.chargeBandwidth(v.owner_address, bytes);
        return {
          ret: 'SUCCESS',
          info: netFee
            ? { ...base, fee: netFee, contractResult: [''], receipt: { net_fee: netFee } }
            : { ...base, contractResult: [''], receipt: { net_usage: bytes } },
        };
      }
      // Shapes of the recorded TRX receipts: an activation burns 1 TRX + 0.1 TRX flat bandwidth.
      const info: TronTxInfoJson = created
        ? { ...base, fee: 1_100_000, contractResult: [''], receipt: { net_fee: 100_000 } }
        : { ...base, contractResult: [''], receipt: { net_usage: bytes } };
      return { ret: 'SUCCESS', info };
    }
    if (contract.type === 'TriggerSmartContract') {
      const v = contract.parameter.value as { owner_address: string; contract_address: string; data?: string };
      const contractBody = v.contract_address.slice(2);
      const data = v.data ?? '';
      const isTransfer = data.startsWith(TRC20_TRANSFER_SELECTOR) && data.length === 8 + 128;
      const toBody = isTransfer ? data.slice(8 + 24, 8 + 64) : '';
      const amount = isTransfer ? BigInt(`0x${data.slice(8 + 64)}`) : 0n;
      const fromKey = this.tokenKey(contractBody, v.owner_address.slice(2));
      const toKey = this.tokenKey(contractBody, toBody);
      const balance = this.tokens.get(fromKey) ?? 0n;
      if (this.revertOnMine.has(tx.txID) || (isTransfer && balance < amount)) {
        this.revertOnMine.delete(tx.txID);
        // Shape of the recorded FAILED receipt (result FAILED, receipt.result, hex resMessage, no log).
        return {
          ret: 'REVERT',
          info: {
            ...base,
            fee: 0,
            contractResult: [''],
            contract_address: v.contract_address,
            receipt: { energy_usage_total: 9_000, net_usage: bytes, result: 'REVERT' },
            result: 'FAILED',
            resMessage: hexMessage('REVERT opcode executed'),
          },
        };
      }
      const energy = (this.tokens.get(toKey) ?? 0n) > 0n ? this.transferEnergy.holder : this.transferEnergy.newHolder;
      if (this.resourceModel) {
        const owner = v.owner_address;
        const netFee = this.chargeBandwidth(owner, bytes);
        const used = this.energyUsed.get(owner) ?? 0;
        const fromStake = Math.max(0, Math.min(energy, this.energyLimit(owner) - used));
        const energyFee = (energy - fromStake) * (this.params.getEnergyFee ?? 0);
        const have = this.trx.get(owner) ?? 0n;
        if (have < BigInt(energyFee)) {
          // The call runs out of energy: what the account had is burnt and nothing is transferred.
          this.trx.set(owner, 0n);
          this.energyUsed.set(owner, used + fromStake);
          return {
            ret: 'OUT_OF_ENERGY',
            info: {
              ...base,
              fee: Number(have) + netFee,
              contractResult: [''],
              contract_address: v.contract_address,
              receipt: {
                ...(fromStake ? { energy_usage: fromStake } : {}),
                ...(have > 0n ? { energy_fee: Number(have) } : {}),
                energy_usage_total: energy,
                ...(netFee ? { net_fee: netFee } : { net_usage: bytes }),
                result: 'OUT_OF_ENERGY',
              },
              result: 'FAILED',
              resMessage: hexMessage('Not enough energy'),
            },
          };
        }
        this.trx.set(owner, have - BigInt(energyFee));
        this.energyUsed.set(owner, used + fromStake);
        const fee = energyFee + netFee;
        const info: TronTxInfoJson = {
          ...base,
          ...(fee ? { fee } : {}),
          contractResult: [word('1')],
          contract_address: v.contract_address,
          receipt: {
            ...(fromStake ? { energy_usage: fromStake } : {}),
            ...(energyFee ? { energy_fee: energyFee } : {}),
            energy_usage_total: energy,
            ...(netFee ? { net_fee: netFee } : { net_usage: bytes }),
            result: 'SUCCESS',
          },
        };
        if (isTransfer) {
          this.tokens.set(fromKey, balance - amount);
          this.tokens.set(toKey, (this.tokens.get(toKey) ?? 0n) + amount);
          info.log = [{ address: contractBody, topics: [TRC20_TRANSFER_TOPIC, word(v.owner_address.slice(2)), word(toBody)], data: word(amount.toString(16)) }];
        }
        return { ret: 'SUCCESS', info };
      }
      const info: TronTxInfoJson = {
        ...base,
        fee: energy * (this.params.getEnergyFee ?? 0),
        contractResult: [word('1')],
        contract_address: v.contract_address,
        receipt: { energy_fee: energy * (this.params.getEnergyFee ?? 0), energy_usage_total: energy, net_usage: bytes, result: 'SUCCESS' },
      };
      if (isTransfer) {
        this.tokens.set(fromKey, balance - amount);
        this.tokens.set(toKey, (this.tokens.get(toKey) ?? 0n) + amount);
        info.log = [{ address: contractBody, topics: [TRC20_TRANSFER_TOPIC, word(v.owner_address.slice(2)), word(toBody)], data: word(amount.toString(16)) }];
      }
      return { ret: 'SUCCESS', info };
    }
    if (contract.type === 'DelegateResourceContract' || contract.type === 'UnDelegateResourceContract') {
      const v = contract.parameter.value as { owner_address: string; receiver_address: string; balance: number; resource?: string };
      const key = `${v.owner_address}:${v.receiver_address}`;
      const now = this.delegations.get(key) ?? 0n;
      const next = contract.type === 'DelegateResourceContract' ? now + BigInt(v.balance) : now - BigInt(v.balance);
      if (next > 0n) this.delegations.set(key, next);
      else this.delegations.delete(key);
    } else if (contract.type === 'FreezeBalanceV2Contract') {
      const v = contract.parameter.value as { owner_address: string; frozen_balance: number; resource?: string };
      if (v.resource === 'ENERGY') {
        this.trx.set(v.owner_address, (this.trx.get(v.owner_address) ?? 0n) - BigInt(v.frozen_balance));
        this.stakedEnergy.set(v.owner_address, (this.stakedEnergy.get(v.owner_address) ?? 0n) + BigInt(v.frozen_balance));
      }
    }
    if (this.resourceModel) {
      const owner = String((contract.parameter.value as { owner_address?: string }).owner_address ?? '');
      const netFee = this.chargeBandwidth(owner, bytes);
      if (netFee) return { ret: 'SUCCESS', info: { ...base, fee: netFee, contractResult: [''], receipt: { net_fee: netFee } } };
    }
    return { ret: 'SUCCESS', info: { ...base, contractResult: [''], receipt: { net_usage: bytes } } };
  }

  // --- broadcast checks ----------------------------------------------------------------------

  private broadcast(body: TronTransactionJson): Record<string, unknown> {
    const txid = typeof body?.txID === 'string' ? body.txID : '';
    const refuse = (code: string, message: string) => ({ code, txid, message: hexMessage(message) });
    const contract = body?.raw_data?.contract;
    if (!txid || typeof body.raw_data_hex !== 'string' || !Array.isArray(contract) || contract.length !== 1) {
      return { Error: 'class org.tron.core.exception.BadItemException : invalid transaction json' };
    }
    let encoded: string;
    try {
      encoded = tronUtils.transaction.txPbToRawDataHex(tronUtils.transaction.txJsonToPb(body)).toLowerCase();
    } catch (err) {
      return { Error: `class com.google.protobuf.InvalidProtocolBufferException : ${(err as Error).message}` };
    }
    // A real node hashes raw_data itself; a txID or raw_data_hex that disagrees with it means the
    // signatures were made over other bytes.
    if (encoded !== body.raw_data_hex.toLowerCase() || sha256Hex(body.raw_data_hex) !== txid) {
      return refuse('SIGERROR', 'Validate signature error: txID is not sha256 of raw_data');
    }
    if (this.txBlock.has(txid) || this.pending.some((t) => t.txID === txid)) return refuse('DUP_TRANSACTION_ERROR', 'Dup transaction.');
    const signatures = body.signature ?? [];
    if (signatures.length === 0) return refuse('SIGERROR', 'Validate signature error: miss sig or contract');
    const owner = String((contract[0]!.parameter.value as { owner_address?: string }).owner_address ?? '').toLowerCase();
    for (const sig of signatures) {
      const signer = recoverSigner(txid, sig);
      if (!signer) return refuse('SIGERROR', `Validate signature error: ${sig} is not a valid signature`);
      if (signer !== owner) {
        return refuse('SIGERROR', `Validate signature error: ${sig} is signed by ${tronHexToBase58(signer)} but it is not contained of permission.`);
      }
    }
    const head = this.head();
    const headTs = head.block_header!.raw_data.timestamp ?? 0;
    const ref = [...this.blocks.values()].some((b) => {
      const f = refBlockFields(b.blockID!);
      return f.ref_block_bytes === body.raw_data.ref_block_bytes && f.ref_block_hash === body.raw_data.ref_block_hash;
    });
    if (!ref) return refuse('TAPOS_ERROR', 'Tapos check error: the referenced block is not in this chain');
    if (body.raw_data.expiration <= headTs || body.raw_data.expiration > headTs + MAX_EXPIRATION_MS) {
      return refuse(
        'TRANSACTION_EXPIRATION_ERROR',
        `Transaction expiration, transaction expiration time is ${body.raw_data.expiration}, but latest block time is ${headTs}`,
      );
    }
    if (this.resourceModel && !this.activated.has(owner)) {
      return refuse('CONTRACT_VALIDATE_ERROR', `Contract validate error : Account[${owner}] does not exist`);
    }
    if (contract[0]!.type === 'DelegateResourceContract' || contract[0]!.type === 'UnDelegateResourceContract') {
      const v = contract[0]!.parameter.value as { owner_address: string; receiver_address: string; balance?: number; resource?: string };
      const sun = BigInt(v.balance ?? 0);
      if (v.resource !== 'ENERGY') return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : this fake node delegates ENERGY only');
      if (contract[0]!.type === 'DelegateResourceContract') {
        if (sun < 1_000_000n) return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : delegateBalance must be greater than or equal to 1 TRX');
        if (!this.activated.has(v.receiver_address))
          return refuse('CONTRACT_VALIDATE_ERROR', `Contract validate error : Account[${v.receiver_address}] does not exist`);
        const free = (this.stakedEnergy.get(v.owner_address) ?? 0n) - this.delegatedOut(v.owner_address);
        if (sun > free)
          return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : delegateBalance must be less than or equal to available FreezeEnergyV2 balance');
      } else if (sun <= 0n || sun > (this.delegations.get(`${v.owner_address}:${v.receiver_address}`) ?? 0n)) {
        return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : insufficient delegatedFrozenBalance(Energy), request=' + sun.toString());
      }
    }
    if (contract[0]!.type === 'TransferContract') {
      const v = contract[0]!.parameter.value as { owner_address: string; to_address: string; amount: number };
      if (!(v.amount > 0)) return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : Amount must be greater than 0.');
      if (v.owner_address === v.to_address) return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : Cannot transfer TRX to yourself.');
      if ((this.trx.get(v.owner_address) ?? 0n) < BigInt(v.amount)) {
        return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : Validate TransferContract error, balance is not sufficient.');
      }
    }
    this.pending.push({ visible: false, txID: txid, raw_data: body.raw_data, raw_data_hex: body.raw_data_hex, signature: signatures });
    return { result: true, txid };
  }

  private constantCall(body: {
    owner_address?: unknown;
    contract_address?: unknown;
    function_selector?: unknown;
    parameter?: unknown;
  }): Record<string, unknown> {
    const contractBody = String(body.contract_address ?? '').slice(2);
    const param = String(body.parameter ?? '');
    const tx = { ret: [{}], visible: false };
    if (body.function_selector === 'balanceOf(address)') {
      const holder = param.slice(24, 64);
      return {
        result: { result: true },
        energy_used: 541,
        constant_result: [word((this.tokens.get(this.tokenKey(contractBody, holder)) ?? 0n).toString(16))],
        transaction: tx,
      };
    }
    if (body.function_selector === 'transfer(address,uint256)') {
      const toBody = param.slice(24, 64);
      const amount = BigInt(`0x${param.slice(64) || '0'}`);
      const balance = this.tokens.get(this.tokenKey(contractBody, String(body.owner_address ?? '').slice(2))) ?? 0n;
      if (this.simulateRevert || balance < amount) {
        return {
          result: { result: true, message: hexMessage('REVERT opcode executed') },
          energy_used: 9_000,
          constant_result: [''],
          transaction: { ret: [{ ret: 'FAILED' }], visible: false },
        };
      }
      const energy = (this.tokens.get(this.tokenKey(contractBody, toBody)) ?? 0n) > 0n ? this.transferEnergy.holder : this.transferEnergy.newHolder;
      return { result: { result: true }, energy_used: energy, constant_result: [word('1')], transaction: tx };
    }
    return { result: { result: true }, energy_used: 0, constant_result: [''], transaction: tx };
  }

  // --- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return this.send(res, 200, { Error: 'class com.alibaba.fastjson.JSONException : invalid JSON' });
    }
    let answer: unknown;
    try {
      answer = this.disabled.has(path) ? undefined : this.route(path, body);
    } catch (err) {
      // java-tron reports requests it cannot process as HTTP 200 with an Error field.
      return this.send(res, 200, { Error: `class java.lang.IllegalArgumentException : ${(err as Error).message}` });
    }
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body><h2>404 Not Found</h2></body></html>');
      return;
    }
    this.send(res, 200, answer);
  }

  private send(res: ServerResponse, status: number, json: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  }

  private route(path: string, body: Record<string, unknown>): unknown {
    const num = Number(body.num);
    const value = String(body.value ?? '').toLowerCase();
    const address = String(body.address ?? '').toLowerCase();
    switch (path) {
      case '/wallet/getnowblock':
        return this.head();
      case '/wallet/getblockbynum':
        return this.blocks.get(num) ?? {};
      case '/wallet/gettransactioninfobyid':
        return this.infos.get(value) ?? {};
      case '/wallet/gettransactioninfobyblocknum': {
        const block = this.blocks.get(num);
        return (block?.transactions ?? []).map((t) => this.infos.get(t.txID)).filter((i): i is TronTxInfoJson => !!i);
      }
      case '/wallet/gettransactionbyid': {
        const n = this.txBlock.get(value);
        return (n !== undefined && this.blocks.get(n)?.transactions?.find((t) => t.txID === value)) || {};
      }
      case '/wallet/gettransactionfrompending':
        return this.pending.find((t) => t.txID === value) ?? {};
      case '/wallet/getchainparameters':
        // Zero values are omitted, as the node's protobuf JSON printer does.
        return { chainParameter: Object.entries(this.params).map(([key, v]) => (v ? { key, value: v } : { key })) };
      case '/wallet/getaccountresource': {
        if (!this.activated.has(address)) return {};
        const r: AccountResource = { ...(this.resources.get(address) ?? { freeNetLimit: this.params.getFreeNetLimit ?? 600 }) };
        // Zero values are omitted, as the node's protobuf JSON printer does.
        const energyLimit = this.energyLimit(address);
        if (energyLimit > 0) r.EnergyLimit = energyLimit;
        const energyUsed = this.energyUsed.get(address) ?? 0;
        if (energyUsed > 0) r.EnergyUsed = energyUsed;
        const netUsed = this.freeNetUsed.get(address) ?? 0;
        if (netUsed > 0) r.freeNetUsed = netUsed;
        return {
          ...r,
          TotalNetLimit: 43_200_000_000,
          TotalNetWeight: 68_305_209_098,
          TotalEnergyLimit: FAKE_TOTAL_ENERGY_LIMIT,
          TotalEnergyWeight: FAKE_TOTAL_ENERGY_WEIGHT,
        };
      }
      case '/wallet/getcandelegatedmaxsize': {
        // type 0: BANDWIDTH, 1: ENERGY; max_size in sun, omitted when 0.
        const owner = String(body.owner_address ?? '').toLowerCase();
        if (Number(body.type ?? 0) !== 1) return {};
        const free = (this.stakedEnergy.get(owner) ?? 0n) - this.delegatedOut(owner);
        return free > 0n ? { max_size: Number(free) } : {};
      }
      case '/wallet/getdelegatedresourcev2': {
        const from = String(body.fromAddress ?? '').toLowerCase();
        const to = String(body.toAddress ?? '').toLowerCase();
        const sun = this.delegations.get(`${from}:${to}`) ?? 0n;
        return sun > 0n ? { delegatedResource: [{ from, to, frozen_balance_for_energy: Number(sun) }] } : {};
      }
      case '/wallet/getaccount': {
        if (!this.activated.has(address)) return {};
        const balance = this.trx.get(address) ?? 0n;
        const staked = this.stakedEnergy.get(address) ?? 0n;
        const out = this.delegatedOut(address);
        const inn = this.delegatedIn(address);
        return {
          address,
          ...(balance > 0n ? { balance: Number(balance) } : {}),
          create_time: 1_700_000_000_000,
          ...(staked > out ? { frozenV2: [{ type: 'ENERGY', amount: Number(staked - out) }] } : {}),
          ...(out > 0n ? { delegated_frozenV2_balance_for_energy: Number(out) } : {}),
          ...(inn > 0n ? { account_resource: { acquired_delegated_frozenV2_balance_for_energy: Number(inn) } } : {}),
        };
      }
      case '/wallet/triggerconstantcontract':
        return this.constantCall(body);
      case '/wallet/broadcasttransaction':
        return this.broadcast(body as unknown as TronTransactionJson);
      default:
        return undefined;
    }
  }
}

/** Lower-case 41-hex address that produced `signatureHex` over the txID, or null when unrecoverable. */
export function recoverSigner(txID: string, signatureHex: string): string | null {
  if (!/^[0-9a-fA-F]{130}$/.test(signatureHex)) return null;
  const sig = Buffer.from(signatureHex, 'hex');
  let v = sig[64]!;
  if (v >= 27) v -= 27;
  if (v !== 0 && v !== 1) return null;
  try {
    const pub = recover(Buffer.from(txID, 'hex'), sig.subarray(0, 64), v as 0 | 1, false);
    return pub ? tronBase58ToHex(tronAddressFromPublicKey(pub)) : null;
  } catch {
    return null;
  }
}
