import type { Bus, RpcReply, RpcRequest } from '@cpg/core/bus';
import { type NetworkConfig, type RpcTransport, type SigningKey } from '@cpg/chains';
import { coinsToSats } from '@cpg/chains/bitcoin/amount';
import { paramsOf } from '@cpg/chains/bitcoin/address';
import { type ConsolidationInput, signConsolidation } from '@cpg/chains/bitcoin/consolidate';
import { codecFor } from '@cpg/chains/codecs';
import { EvmSigner, TronSigner } from '@cpg/chains/signers';
import { mapLimit } from '@cpg/chains/concurrency';
import { createRpcPool } from '@cpg/chains/rpc';
import type { EntityManager } from '@cpg/core/db';
import { countEvent } from '@cpg/core/http';
import type { KeyStore } from '@cpg/chains/keys';
import type { Logger } from '@cpg/core/logger';
import { type Owner, consolidationRefusal, transferRefusal } from '../domain/sweep-rules';
import { BatchStore } from '../withdrawals/batch-store';
import { EvmPayoutChain } from '../withdrawals/evm-chain';
import { HotWallets } from '../withdrawals/hot-wallets';
import { networkOf } from './network';

type Request = RpcRequest<'signer.collect_sign'>;
type Reply = RpcReply<'signer.collect_sign'>;
/** A verify_step claim, per kind, less the request's own ids (confirmStep adds them). */
type StepClaim<C = RpcRequest<'collector.verify_step'>> = C extends unknown ? Omit<C, 'requestId' | 'merchantId' | 'networkId'> : never;

/** Over the fee quote when sweeping a whole native balance: the base fee may rise before signing. */
const SWEEP_ALL_FEE_MARGIN_PERCENT = 10n;
/** address.lookup and collector.verify_step; well inside the collector's 20 s collect_sign timeout. */
const VERIFY_TIMEOUT_MS = 5_000;
const LOOKUPS_IN_FLIGHT = 8;

/**
 * A step the signer will not sign, ever: its message starts with `refused:`, which the collector
 * reads as final for the step (see `collector.verify_step`). Anything else it may retry.
 */
export class SweepRefused extends Error {
  constructor(readonly reason: string) {
    super(`refused: ${reason}`);
  }
}

/**
 * signer.collect_sign: the collector's steps (gas top-ups from HOT / TOKENS_COLLECTOR, sweeps from
 * USER addresses, Bitcoin-family consolidations) signed here, where the keys are. Only the signed
 * raw transaction and its hash go back; keys are zeroed after use. The collector broadcasts.
 * Keys are checked against the merchant (a key id of another merchant is refused) and against
 * the address the collector expects to spend from. Then, before anything is signed, the step
 * itself (see verifyTransfer / verifyConsolidation): the address subgraph must confirm that every
 * source and destination is the merchant's own (domain/sweep-rules), and the collector that it
 * persisted exactly this step. A taken-over collector, or anyone else able to ask, can therefore
 * move a merchant's funds only between that merchant's own addresses.
 */
export function serveCollectSign(
  bus: Bus,
  keys: KeyStore,
  em: EntityManager,
  schema: string,
  log: Logger,
  transportFor: (n: NetworkConfig) => RpcTransport = pooled(),
): void {
  const evmSigners = new Map<string, EvmSigner>();
  const evmSigner = (network: NetworkConfig): EvmSigner => {
    let s = evmSigners.get(network.id);
    if (!s) evmSigners.set(network.id, (s = new EvmSigner(network, transportFor(network))));
    return s;
  };

  const tronSigners = new Map<string, TronSigner>();
  const tronSigner = (network: NetworkConfig): TronSigner => {
    let s = tronSigners.get(network.id);
    if (!s) tronSigners.set(network.id, (s = new TronSigner(network, transportFor(network))));
    return s;
  };

  /** Who owns `address` on the network, according to the address subgraph (a timeout throws: transient). */
  const ownerOf = async (network: NetworkConfig, address: string, merchantId: string): Promise<Owner> => {
    const r = await bus.request('address.lookup', { networkId: network.id, address, merchantId }, VERIFY_TIMEOUT_MS);
    return r.found
      ? { found: true, merchantId: r.merchantId, networkId: r.networkId, type: r.type, coldUsable: r.coldWalletUsable, coldStatus: r.coldWalletStatus }
      : { found: false };
  };

  const refuse = (req: Request, reason: string): never => {
    countEvent('signer.collect_sign.refused');
    log.error(
      { requestId: req.requestId, merchantId: req.merchantId, networkId: req.networkId, kind: req.kind, reason },
      'collect_sign refused: nothing signed',
    );
    throw new SweepRefused(reason);
  };

  /**
   * Refuses on the ownership rules' `reason`; else the collector must hold exactly this step (as
   * the signer reads it), still waiting for its signature.
   */
  const confirmStep = async (req: Request, network: NetworkConfig, reason: string | null, step: StepClaim): Promise<void> => {
    if (reason) refuse(req, reason);
    const claim = { ...step, requestId: req.requestId, merchantId: req.merchantId, networkId: network.id };
    const r = await bus.request('collector.verify_step', claim, VERIFY_TIMEOUT_MS);
    if (!r.ok) refuse(req, `not a step the collector persisted: ${r.reason}`);
  };

  /** Called after the key was checked against the merchant and `from`, before signing. */
  const verifyTransfer = async (req: Extract<Request, { kind: 'transfer' }>, network: NetworkConfig, resource: boolean): Promise<void> => {
    const [source, destination] = await Promise.all([ownerOf(network, req.from.address, req.merchantId), ownerOf(network, req.to, req.merchantId)]);
    const reason = transferRefusal({
      merchantId: req.merchantId,
      networkId: network.id,
      fromType: req.from.type,
      gasForUser: resource || req.coinId === network.nativeCoin.id,
      from: req.from.address,
      to: req.to,
      source,
      destination,
    });
    await confirmStep(req, network, reason, {
      kind: 'transfer',
      coinId: req.coinId,
      from: req.from.address,
      to: req.to,
      amount: req.amount,
      sweepAll: req.sweepAll,
    });
  };

  /** `inputs` carry the address the signer derived for each account index. */
  const verifyConsolidation = async (
    req: Extract<Request, { kind: 'consolidation' }>,
    network: NetworkConfig,
    inputs: { txid: string; vout: number; from: string }[],
  ): Promise<void> => {
    const sources = [...new Set(inputs.map((i) => i.from))];
    const destinations = [...new Set(req.outputs.map((o) => o.to))];
    // Up to hundreds of source addresses: a bounded number of lookups in flight.
    const owners = await mapLimit([...sources, ...destinations], LOOKUPS_IN_FLIGHT, (a) => ownerOf(network, a, req.merchantId));
    const reason = consolidationRefusal({
      merchantId: req.merchantId,
      networkId: network.id,
      sources: sources.map((address, i) => ({ address, owner: owners[i]! })),
      destinations: destinations.map((address, i) => ({ address, owner: owners[sources.length + i]! })),
    });
    await confirmStep(req, network, reason, {
      kind: 'consolidation',
      coinId: network.nativeCoin.id,
      inputs,
      outputs: req.outputs,
    });
  };

  /**
   * Tron: a TRX top-up or a TRC-20 sweep is one transfer; energy lent from the key's stake travels
   * as a transfer of the pseudo-coin `<network>:DELEGATE_ENERGY` (amount: staked sun lent to
   * `to`) and is taken back with `<network>:UNDELEGATE_ENERGY` (the message has no resource kind).
   */
  const tronTransfer = async (req: Extract<Request, { kind: 'transfer' }>, network: NetworkConfig): Promise<Reply> => {
    if (req.sweepAll) throw new Error('sweepAll is not supported on Tron: the collector plans exact amounts');
    const resource = req.coinId === `${network.id}:DELEGATE_ENERGY` ? 'delegate' : req.coinId === `${network.id}:UNDELEGATE_ENERGY` ? 'undelegate' : null;
    const coin = network.coins.find((c) => c.id === req.coinId);
    if (!resource && !coin) throw new Error(`coin ${req.coinId} is not a coin of ${network.id}`);
    if (resource && req.from.type !== 'KEY') throw new Error('only a wallet key (HOT or TOKENS_COLLECTOR) delegates its stake');
    const key = await keyOf(req, network);
    try {
      if (!sameAddress(network, key.address, req.from.address)) throw new Error(`the key does not control ${req.from.address}`);
      await verifyTransfer(req, network, resource !== null);
      const amount = BigInt(req.amount);
      const tx = resource
        ? await tronSigner(network).signResource(key, { kind: resource, receiver: req.to, sun: amount })
        : await tronSigner(network).sign(key, [{ to: req.to, coinId: coin!.id, amount }]);
      return { txHash: tx.txHash, raw: tx.raw, fee: tx.fee.fee.toString(), amount: amount.toString() };
    } finally {
      key.privateKey.fill(0);
    }
  };

  const keyOf = async (req: Extract<Request, { kind: 'transfer' }>, network: NetworkConfig): Promise<SigningKey> => (await ownKey(req, network)).key;

  /** The key to sign with, and whether it is a HOT key (one the withdrawal processor may spend from). */
  const ownKey = async (req: Extract<Request, { kind: 'transfer' }>, network: NetworkConfig): Promise<{ key: SigningKey; hot: boolean }> => {
    if (req.from.type === 'USER') return { key: await keys.privateKeyForAccountIndex(req.merchantId, network, req.from.index), hot: false };
    const [owner] = await em
      .fork()
      .getConnection()
      .execute<{ merchant_id: string; network_id: string; purpose: string }[]>(`select merchant_id, network_id, purpose from "${schema}".keys where id = ?`, [
        req.from.keyId,
      ]);
    if (!owner || owner.merchant_id !== req.merchantId) throw new Error(`key ${req.from.keyId} is not a key of merchant ${req.merchantId}`);
    return { key: await keys.privateKeyForKey(req.from.keyId), hot: owner.purpose === 'HOT' };
  };

  // The withdrawal processor's own tables: its HOT wallet row lock and the nonces it stored.
  const hotWallets = new HotWallets(em, keys, schema);
  const batches = new BatchStore(em, schema, () => null);

  /**
   * Signs an EVM transfer from a HOT key. Withdrawals spend from the same wallet and store their
   * signed transactions before broadcasting them, so the node's pending count alone may hand out
   * the nonce of a stored payout not sent yet: the second of the two to reach the node is refused,
   * and if that is the payout its batch fails. So, as the processor does (processor.ts nextNonce),
   * under the wallet's row lock: the node's pending count, never below the highest stored nonce + 1.
   * Nothing is stored here: a retry of the same step picks the same nonce until the collector
   * broadcasts this one, as before.
   */
  const signFromHot = async (
    network: NetworkConfig,
    key: SigningKey,
    keyId: string,
    order: { to: string; coinId: string; amount: bigint },
  ): Promise<Awaited<ReturnType<EvmSigner['sign']>>> => {
    return batches.transaction(async (tx) => {
      const wallet = await hotWallets.lockByKey(tx, keyId);
      // A HOT key that is no wallet's (made before hot_wallets existed): withdrawals never spend
      // from it, they make the wallet's own key on first need (HotWallets.ensure).
      if (!wallet) return evmSigner(network).sign(key, [order]);
      const chain = new EvmPayoutChain(network, transportFor(network));
      const stored = await batches.maxSignedNonce(tx, network.id, wallet.address);
      const nonce = Math.max(await chain.pendingNonce(wallet.address), (stored ?? -1) + 1);
      return chain.signerWith(null, nonce).sign(key, [order]);
    });
  };

  const sameAddress = (network: NetworkConfig, a: string, b: string): boolean => {
    const codec = codecFor(network.family);
    const na = codec.validateAddress(network, a);
    const nb = codec.validateAddress(network, b);
    return na.valid && nb.valid && (na.normalized ?? a) === (nb.normalized ?? b);
  };

  const transfer = async (req: Extract<Request, { kind: 'transfer' }>): Promise<Reply> => {
    const network = networkOf(req.networkId);
    if (network.family === 'TRON') return tronTransfer(req, network);
    if (network.family !== 'EVM') throw new Error(`collector transfers on ${network.family} networks are not supported yet`);
    const coin = network.coins.find((c) => c.id === req.coinId);
    if (!coin) throw new Error(`coin ${req.coinId} is not a coin of ${network.id}`);
    const { key, hot } = await ownKey(req, network);
    try {
      if (!sameAddress(network, key.address, req.from.address)) throw new Error(`the key does not control ${req.from.address}`);
      await verifyTransfer(req, network, false);
      const signer = evmSigner(network);
      // The HOT key is also used by withdrawals, which count nonces in their own signer: ask the node.
      signer.nonces.invalidate(key.address);
      let amount = BigInt(req.amount);
      if (req.sweepAll) {
        if (coin.contract) throw new Error('sweepAll applies to the native coin only');
        const balance = BigInt(await transportFor(network).call<string>('eth_getBalance', [key.address, 'latest']));
        const quote = await signer.estimateFee(key.address, [{ to: req.to, coinId: coin.id, amount: 1n }]);
        amount = balance - (quote.fee * (100n + SWEEP_ALL_FEE_MARGIN_PERCENT)) / 100n;
        if (amount <= 0n) throw new Error(`nothing to sweep at ${key.address}: balance ${balance} does not cover the fee`);
      }
      const order = { to: req.to, coinId: coin.id, amount };
      const tx = hot && req.from.type === 'KEY' ? await signFromHot(network, key, req.from.keyId, order) : await signer.sign(key, [order]);
      return { txHash: tx.txHash, raw: tx.raw, fee: tx.fee.fee.toString(), amount: amount.toString() };
    } finally {
      key.privateKey.fill(0);
    }
  };

  const consolidation = async (req: Extract<Request, { kind: 'consolidation' }>): Promise<Reply> => {
    const network = networkOf(req.networkId);
    if (network.family !== 'BITCOIN') throw new Error(`${network.id} is not a Bitcoin-family network`);
    paramsOf(network);
    const transport = transportFor(network);
    const byIndex = new Map<number, SigningKey>();
    try {
      const inputs: ConsolidationInput[] = [];
      for (const i of req.inputs) {
        // Value and script come from the node, not from the request.
        const out = await transport.call<{ value: number; scriptPubKey: { hex: string } } | null>('gettxout', [i.txid, i.vout, true]);
        if (!out) throw new Error(`output ${i.txid}:${i.vout} is spent or unknown`);
        let key = byIndex.get(i.index);
        if (!key) byIndex.set(i.index, (key = await keys.privateKeyForAccountIndex(req.merchantId, network, i.index)));
        inputs.push({ txid: i.txid, vout: i.vout, value: coinsToSats(out.value), script: Buffer.from(out.scriptPubKey.hex, 'hex'), key });
      }
      await verifyConsolidation(
        req,
        network,
        inputs.map((i) => ({ txid: i.txid, vout: i.vout, from: i.key.address })),
      );
      const outputs = req.outputs.map((o) => ({ address: o.to, value: BigInt(o.amount) }));
      const signed = signConsolidation(network, inputs, outputs);
      const total = inputs.reduce((a, x) => a + x.value, 0n);
      // A fee above half of what is spent is a caller's bug, never a plan.
      if (signed.fee * 2n > total) throw new Error(`refusing a consolidation paying ${signed.fee} in fees out of ${total}`);
      return { txHash: signed.txHash, raw: signed.raw, fee: signed.fee.toString(), amount: outputs.reduce((a, o) => a + o.value, 0n).toString() };
    } finally {
      for (const k of byIndex.values()) k.privateKey.fill(0);
    }
  };

  bus.reply('signer.collect_sign', async (req) => (req.kind === 'transfer' ? transfer(req) : consolidation(req)));
}

function pooled(): (n: NetworkConfig) => RpcTransport {
  const pools = new Map<string, RpcTransport>();
  return (network) => {
    let p = pools.get(network.id);
    if (!p) pools.set(network.id, (p = createRpcPool(network.rpc, { name: `signer-collect ${network.id}` })));
    return p;
  };
}
