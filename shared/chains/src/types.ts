/**
 * The chain layer's shared vocabulary. A network is configuration (NetworkConfig), not code:
 * each family (BITCOIN, EVM, TRON) has one codec (pure), one watcher (tracker only) and one
 * signer (signer/collector only). Amounts are bigint base units everywhere in here.
 */

export type NetworkFamily = 'BITCOIN' | 'EVM' | 'TRON';

/**
 * Longest address any codec considers (the longest real one, a bech32 P2WSH/P2TR on a long
 * prefix, is 90). Every codec refuses longer input before decoding it, so validation is linear
 * in the input and bounded in work whatever an API caller sends.
 */
export const MAX_ADDRESS_LENGTH = 128;
/** Longest extended public key text a codec parses (xpub/tpub are 111 characters). */
export const MAX_XPUB_LENGTH = 120;

export interface RpcEndpointConfig {
  url: string;
  /** Bitcoin Core RPC credentials, when the URL carries none. */
  username?: string;
  password?: string;
  /** EVM: the endpoint answers debug_traceBlockByNumber (callTracer) or trace_block. */
  supportsTracing?: boolean;
  /** EVM: the endpoint answers eth_getBlockReceipts. */
  supportsBlockReceipts?: boolean;
  /** EVM: websocket URL for newHeads subscriptions, when the provider offers one. */
  wsUrl?: string;
  /** Tron: extra headers such as TRON-PRO-API-KEY. */
  headers?: Record<string, string>;
}

export interface CoinConfig {
  /** "<network>:<symbol>", e.g. "ethereum:USDT". */
  id: string;
  symbol: string;
  name: string;
  decimals: number;
  /** Token contract (EVM: 0x checksummed; Tron: base58 T...). Absent for the native coin. */
  contract?: string;
  /** Smaller deposits are recorded but neither credited nor swept (base units). */
  minDeposit: bigint;
}

export interface BitcoinParams {
  messagePrefix: string;
  bech32: string;
  bip32: { public: number; private: number };
  pubKeyHash: number;
  scriptHash: number;
  wif: number;
}

export interface NetworkConfig {
  /** Slug: "bitcoin", "litecoin", "ethereum", "bsc", "polygon", "arbitrum", "tron", "dev-evm", "dev-ltc"... */
  id: string;
  name: string;
  family: NetworkFamily;
  testnet: boolean;
  /** EVM chain id (EIP-155); for Bitcoin-family and Tron, an informative constant. */
  chainId: number;
  /** Depth at which a transfer counts as final for crediting. */
  confirmations: number;
  /** Deepest reorg the tracker will walk back before it stops and alerts. */
  maxReorgDepth: number;
  /** Expected seconds between blocks: paces polling and estimates. */
  blockTimeSeconds: number;
  nativeCoin: CoinConfig;
  /** Every coin on the network, native first. */
  coins: CoinConfig[];
  rpc: RpcEndpointConfig[];
  /** Bitcoin family: bitcoinjs network parameters. */
  bitcoin?: BitcoinParams;
  /** BIP44 coin type used in derivation paths (0 BTC, 1 testnets, 2 LTC, 60 EVM, 195 TRX). */
  coinType: number;
  /** URI scheme for payment links: "bitcoin", "litecoin", "ethereum", "tron". */
  uriScheme: string;
  /** A dev chain started by `npm start` and the tests (fund/mine/reorg available). */
  dev?: boolean;
}

/** One value movement to an address, normalised across families. */
export interface Transfer {
  network: string;
  txHash: string;
  /**
   * Position inside the transaction, unique per (txHash, coin): Bitcoin vout; EVM native value
   * 0 for the top-level call, log index for ERC-20 logs (+1_000_000 for internal traces: see
   * the EVM watcher); Tron: 0 for TRX, log index for TRC-20.
   */
  index: number;
  from: string | null;
  to: string;
  coinId: string;
  amount: bigint;
  /** Null while in the mempool. */
  blockHeight: number | null;
  blockHash: string | null;
}

export interface BlockRef {
  height: number;
  hash: string;
  parentHash: string;
  /** Seconds since epoch. */
  timestamp: number;
}

export interface BlockWithTransfers extends BlockRef {
  transfers: Transfer[];
}

export class ChainError extends Error {
  constructor(
    message: string,
    /** Transient errors (timeouts, 5xx, node syncing) are retried; others are not. */
    readonly transient: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

export interface AddressValidation {
  valid: boolean;
  /** Canonical form to store and compare (EIP-55 checksum, lower-case bech32, base58 as is). */
  normalized?: string;
  reason?: string;
}

export interface DerivedAddress {
  address: string;
  /** Derivation path relative to the account node, e.g. "0/17". */
  path: string;
  index: number;
  /** Hex compressed public key (33 bytes); never a private key. */
  publicKey: string;
}

export interface PaymentUriRequest {
  address: string;
  coin: CoinConfig;
  /** Base units; absent for an open amount. */
  amount?: bigint;
  label?: string;
  message?: string;
}

/**
 * Pure functions for one family: no I/O, no keys. Subgraphs, the tracker and the widget's server
 * side may import it.
 */
export interface ChainCodec {
  readonly family: NetworkFamily;
  /** Called on every address a user types or an API receives. Pure, idempotent. */
  validateAddress(network: NetworkConfig, address: string): AddressValidation;
  /**
   * Derives the receive address at `index` from an account-level extended public key (BIP84 zpub
   * or xpub/tpub for Bitcoin family; BIP44 xpub for EVM and Tron). Called when a USER address
   * is allocated; pure and idempotent: the same (xpub, index) always gives the same address.
   */
  deriveAddress(network: NetworkConfig, accountXpub: string, index: number): DerivedAddress;
  /** Builds the BIP21 / EIP-681 / TRON URI shown as a QR code. Pure. */
  paymentUri(network: NetworkConfig, req: PaymentUriRequest): string;
}

/**
 * Reads one network. Only the tracker imports watchers. Every method is read-only and therefore
 * idempotent; each may throw ChainError (transient when retrying could help).
 */
export interface ChainWatcher {
  readonly network: NetworkConfig;
  /** Called every poll / on each new-head notification: the current best height. */
  getTipHeight(): Promise<number>;
  /** Called by the scan loop to check continuity (parent hash) before reading a block. */
  getBlockRef(height: number): Promise<BlockRef | null>;
  /**
   * Called once per block the scan loop advances over: every transfer in the block to any
   * address (filtering to watched addresses happens in the tracker), only of registered coins,
   * only of successful transactions.
   */
  getBlockTransfers(height: number): Promise<BlockWithTransfers>;
  /**
   * Called on every poll where the node has a mempool (Bitcoin family): unconfirmed transfers.
   * Families without a usable mempool return [].
   */
  getMempoolTransfers(): Promise<Transfer[]>;
  /**
   * Called for a mempool transfer that has not confirmed after a while: 'confirmed' with its
   * block, 'pending', or 'dropped' (evicted or replaced: RBF / double spend).
   */
  getTransactionStatus(txHash: string): Promise<{ state: 'pending' | 'dropped' } | { state: 'confirmed'; blockHeight: number; blockHash: string }>;
  /**
   * Optional, for families whose blocks do not name the payer (Bitcoin: inputs point at earlier
   * outputs). Called by the tracker for each matched transfer with `from` null: the address that
   * funded the transaction's first input, so transfers between our own addresses (sweeps,
   * withdrawal change) are told internal and compliance screens a sender. Null when it cannot be
   * told (coinbase, non-standard script). Read-only, idempotent; throws only on transient errors.
   */
  senderOf?(txHash: string): Promise<string | null>;
  /**
   * Optional push of new heads (EVM websockets, Bitcoin ZMQ). The callback may fire more than
   * once per height; the scan loop treats it only as a wake-up. Returns an unsubscribe function.
   */
  onNewHead?(callback: (height: number) => void): () => void;
  close?(): Promise<void>;
}

export interface TransferOrder {
  to: string;
  coinId: string;
  amount: bigint;
}

/** A private key handed to a signer by shared/keys for one call; never logged or stored here. */
export interface SigningKey {
  /** 32-byte secp256k1 private key. */
  privateKey: Uint8Array;
  /** The address this key controls on the network (checked before signing). */
  address: string;
}

export interface FeeQuote {
  /** Total fee in the native coin's base units. */
  fee: bigint;
  /** Family detail: sat/vB, maxFeePerGas/maxPriorityFeePerGas, Tron energy/bandwidth. */
  detail: Record<string, string>;
}

export interface SignedTransaction {
  txHash: string;
  /** Hex or JSON (Tron) ready to broadcast. */
  raw: string;
  fee: FeeQuote;
}

/**
 * Builds, signs and broadcasts. Only workers/signer and workers/collector import signers.
 */
export interface ChainSigner {
  readonly network: NetworkConfig;
  /** Called before a withdrawal is queued and for estimates; read-only, idempotent. */
  estimateFee(from: string, orders: TransferOrder[]): Promise<FeeQuote>;
  /**
   * Called once per batch attempt. Not idempotent by itself: the caller stores the signed tx
   * (its hash is the idempotency anchor) before broadcasting, and re-broadcasts the same raw tx
   * on retry instead of signing anew.
   */
  sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedTransaction>;
  /** Idempotent: broadcasting an already known transaction succeeds and returns its hash. */
  broadcast(tx: SignedTransaction): Promise<string>;
}

/** Test and demo controls of a dev chain. Never available on real networks. */
export interface DevChainControls {
  /** Sends `amount` base units of `coinId` to `address` from the dev faucet; returns the tx hash. Not idempotent. */
  fund(address: string, coinId: string, amount: bigint): Promise<string>;
  /** Mines `blocks` blocks; returns the new tip height. */
  mine(blocks?: number): Promise<number>;
  /** Replaces the last `depth` blocks with an equally long or longer other branch; returns the new tip. */
  reorg(depth: number): Promise<number>;
}

/**
 * How watchers and signers talk to nodes. The implementation (shared/chains/rpc) pools several
 * endpoints with timeouts, retries and failover; watchers never see which endpoint answered.
 */
export interface RpcTransport {
  /** JSON-RPC 2.0 call (EVM nodes, Bitcoin Core). Throws ChainError; transient ones after retries. */
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** JSON POST to a path of the node's HTTP API (Tron full node: /wallet/getblockbynum ...). */
  post<T = unknown>(path: string, body: unknown): Promise<T>;
  close?(): Promise<void>;
}
