/**
 * TEST DOUBLE of a third-party Tron full node, which cannot be reached from here; it serves
 * recorded response shapes from shared/fixtures and verifies posted signatures.
 *
 * It is NOT a Tron implementation: no protobuf block encoding, no real Merkle roots, no witness
 * signatures, no VM. What it does keep faithful, because the watcher and signer depend on it:
 * - the JSON shapes of java-tron's HTTP API with `visible: false` (hex addresses, omitted
 *   defaults, hex-encoded error messages), taken from the recorded responses (http-routes.ts);
 * - broadcast checks a real node makes: txID = sha256(raw_data_hex), raw_data_hex = protobuf of
 *   raw_data, the signer recovered from each signature (secp256k1 over the txID) equals
 *   raw_data.contract[0].parameter.value.owner_address, TaPoS reference, expiration, duplicates
 *   (broadcast-checks.ts);
 * - TRX balances and TRC-20 token balances it was told about, so an unfunded transfer fails the
 *   way it would on chain (TRX: refused at broadcast; TRC-20: mined with a REVERT receipt;
 *   chain-state.ts, execution.ts).
 * Blocks it assembles from broadcast transactions use the recorded block shape; their ids are
 * sha256 of the header JSON with the height in the first 8 bytes, as Tron block ids carry it.
 * Only tests and the dev tooling use it; nothing in production imports this file.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tronBase58ToHex } from '@cpg/chains/tron/address';
import type { TronAccountResourceJson, TronBlockJson, TronTransactionJson, TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { ChainState } from './chain-state';
import { mineBlock } from './execution';
import { loadRecorded } from './fixtures';
import { type HttpSide, handleRequest } from './http-routes';

export { recoverSigner } from './broadcast-checks';
export { FAKE_TOTAL_ENERGY_LIMIT, FAKE_TOTAL_ENERGY_WEIGHT, fakeEnergyOfStake } from './chain-state';
export { MAINNET_USDT_CAPTURES, readTronFixture, tronFixturesDir } from './fixtures';

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

export class FakeTronNode {
  readonly url: string;
  /** Requests served, by path: tests assert how many calls a read took. */
  readonly calls = new Map<string, number>();
  private readonly chain: ChainState;
  private readonly http: HttpSide;

  private constructor(
    private readonly server: Server,
    opts: FakeTronNodeOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.chain = new ChainState(opts);
    this.http = { calls: this.calls, disabled: new Set(opts.disabledPaths ?? []) };
    loadRecorded(this.chain, opts.recorded ?? 'shasta');
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  static async start(opts: FakeTronNodeOptions = {}): Promise<FakeTronNode> {
    let node: FakeTronNode | null = null;
    const server = createServer((req, res) => {
      void handleRequest(node!.chain, node!.http, req, res);
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
    return this.chain.headNumber;
  }

  block(height: number): TronBlockJson | undefined {
    return this.chain.blocks.get(height);
  }

  /** Credits TRX (sun) to an address and activates its account. */
  fund(address: string, sun: bigint): void {
    const hex = tronBase58ToHex(address);
    this.chain.trx.set(hex, (this.chain.trx.get(hex) ?? 0n) + sun);
    this.chain.activated.add(hex);
  }

  /** Sets a TRC-20 balance (base units) of `holder` on `contract`. */
  setTokenBalance(contract: string, holder: string, units: bigint): void {
    this.chain.tokens.set(this.chain.tokenKey(tronBase58ToHex(contract).slice(2), tronBase58ToHex(holder).slice(2)), units);
  }

  setAccountResource(address: string, resource: TronAccountResourceJson): void {
    const hex = tronBase58ToHex(address);
    this.chain.activated.add(hex);
    this.chain.resources.set(hex, resource);
  }

  /**
   * Stakes `sun` of the account's TRX for energy, as a mined FreezeBalanceV2Contract (resource
   * ENERGY) would: the TRX leaves the balance and the account gets energy in proportion.
   */
  stake(address: string, sun: bigint): void {
    const hex = tronBase58ToHex(address);
    const have = this.chain.trx.get(hex) ?? 0n;
    if (!this.chain.activated.has(hex) || have < sun) throw new Error(`cannot stake ${sun} sun from ${address}: it holds ${have}`);
    this.chain.trx.set(hex, have - sun);
    this.chain.stakedEnergy.set(hex, (this.chain.stakedEnergy.get(hex) ?? 0n) + sun);
  }

  /** TRX balance (sun) the node holds for an address. */
  trxBalance(address: string): bigint {
    return this.chain.trx.get(tronBase58ToHex(address)) ?? 0n;
  }

  /** Whether the account exists on chain (activated by a TRX transfer or funded here). */
  isActivated(address: string): boolean {
    return this.chain.activated.has(tronBase58ToHex(address));
  }

  /** Staked sun `owner` has delegated for energy to `receiver`. */
  delegated(owner: string, receiver: string): bigint {
    return this.chain.delegations.get(`${tronBase58ToHex(owner)}:${tronBase58ToHex(receiver)}`) ?? 0n;
  }

  /** Makes triggerconstantcontract answer as if every simulated call reverted. */
  setSimulationReverts(on: boolean): void {
    this.chain.simulateRevert = on;
  }

  /** The pending transaction `txID` will be mined with a REVERT receipt whatever the balances. */
  revertWhenMined(txID: string): void {
    this.chain.revertOnMine.add(txID);
  }

  pendingIds(): string[] {
    return this.chain.pending.map((t) => t.txID);
  }

  /** Mines the pending transactions into the next block; returns it. */
  mine(): TronBlockJson {
    return mineBlock(this.chain);
  }

  /**
   * Appends a block holding `transactions` verbatim (recorded or edited copies) with their
   * receipts; blockNumber and blockTimeStamp of the receipts are set to the new block's.
   */
  appendBlock(transactions: TronTransactionJson[], infos: TronTxInfoJson[], timestamp?: number): TronBlockJson {
    return this.chain.appendBlock(transactions, infos, timestamp);
  }
}
