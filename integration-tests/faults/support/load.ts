// The steady load the faults are injected into: merchants taking payments on EVM (ETH, USDT) and
// Litecoin, each paid by a customer (the dev faucets) and followed live over graphql-ws through
// the balancer; withdrawals to fresh addresses; blocks mined all along. Every call is retried
// the way a careful client would: with the same orderId or idempotency key, so a retry after a
// fault can never make a second payment or a second withdrawal.
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { formatAmount } from '@cpg/core/money';
import { prng } from '@cpg/devkit/testing/prng';
import type { World } from './world';

export const DECIMALS: Record<string, number> = { 'dev-evm:ETH': 18, 'dev-evm:USDT': 6, 'dev-ltc:LTC': 8 };
export const fmt = (coinId: string, units: bigint) => formatAmount(units, DECIMALS[coinId]!);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Merchant {
  id: string;
  key: string;
}

export interface PaymentCase {
  merchant: Merchant;
  id: string;
  coinId: string;
  address: string;
  amount: bigint;
  /** Transactions paid to it, with the amount of each: what its credits must add up to. */
  txs: { hash: string; amount: bigint }[];
  /** Every status the live subscription delivered, in order. */
  seen: string[];
}

export interface WithdrawalCase {
  merchant: Merchant;
  id: string;
  coinId: string;
  to: string;
  amount: bigint;
}

/** Retries `fn` (a fault may take a hop away for a moment) until it succeeds or `timeoutMs` passes. */
export async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(Math.min(2000, 200 * attempt));
    }
  }
}

const SUBSCRIPTION = 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { status } } }';

export class Load {
  readonly payments: PaymentCase[] = [];
  readonly withdrawals: WithdrawalCase[] = [];
  readonly merchants: Merchant[] = [];
  readonly errors: string[] = [];
  /** One graphql-ws connection per followed payment, as each checkout page holds its own. */
  private readonly sockets: Client[] = [];
  /** Stops new work (the reorg fault wants a quiet chain). */
  paused = false;
  /** Stops the EVM miner (the reorg fault picks the block it replaces). */
  evmMinerPaused = false;
  private running = true;
  private mining = true;
  private loops: Promise<void>[] = [];
  private miner?: Promise<void>;
  private readonly rng: ReturnType<typeof prng>;
  private n = 0;

  constructor(private readonly w: World) {
    this.rng = prng(BigInt(w.seed));
  }

  /** Two merchants with a webhook endpoint each and funded HOT wallets on both chains. */
  async setUp(): Promise<void> {
    for (const name of ['Fault shop A', 'Fault shop B']) {
      const made = await retry('createMerchant', () =>
        this.w.operator(`mutation($n: String!) { createMerchant(input: { name: $n }) { merchant { id } secret } }`, { n: name }),
      );
      const key: string = made.createMerchant.secret;
      const m: Merchant = { id: made.createMerchant.merchant.id, key };
      this.merchants.push(m);
      await retry('createWebhookEndpoint', () =>
        this.w.as(key, 'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }', {
          i: { url: this.w.receiver.url },
        }),
      );
      for (const [networkId, coinId, amount] of [
        ['dev-evm', 'dev-evm:ETH', 5n * 10n ** 18n],
        ['dev-ltc', 'dev-ltc:LTC', 5n * 10n ** 8n],
      ] as const) {
        const d = await retry('createAddress HOT', () =>
          this.w.as(key, 'mutation($i: CreateAddressInput!) { createAddress(input: $i) { address } }', { i: { networkId, type: 'HOT' } }),
        );
        const chain = this.w.chains.controls[networkId];
        await chain.fund(d.createAddress.address, coinId, amount);
      }
    }
    this.miner = this.mineLoop();
  }

  /** Runs the load until stop(): a payment or a withdrawal every `everyMs`. */
  start(everyMs = 900): void {
    this.loops.push(
      (async () => {
        while (this.running) {
          if (!this.paused) {
            const roll = this.rng.int(10);
            const m = this.merchants[this.rng.int(this.merchants.length)]!;
            const job =
              roll < 7
                ? this.pay(m, this.rng.pick(['dev-evm:ETH', 'dev-evm:USDT', 'dev-ltc:LTC']))
                : this.withdraw(m, this.rng.pick(['dev-evm:ETH', 'dev-ltc:LTC']));
            await job.catch((err: Error) => this.errors.push(err.message));
          }
          await sleep(everyMs);
        }
      })(),
    );
  }

  /** No new payments or withdrawals; blocks keep coming so what is in flight can finish. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.mining = false;
    await this.miner;
    for (const ws of this.sockets) await Promise.resolve(ws.dispose()).catch(() => undefined);
  }

  /** A payment created (orderId makes a retried create the same payment), followed live, then paid on chain. */
  async pay(m: Merchant, coinId: string, from?: (address: string, amount: bigint) => Promise<string>): Promise<PaymentCase> {
    const orderId = `order-${this.w.seed}-${++this.n}`;
    const amount = coinId === 'dev-evm:USDT' ? BigInt(1 + this.rng.int(20)) * 10n ** 6n : BigInt(1 + this.rng.int(9)) * 10n ** BigInt(DECIMALS[coinId]! - 2);
    const d = await retry(`createPayment ${orderId}`, () =>
      this.w.as(m.key, 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }', {
        i: { coinId, amount: fmt(coinId, amount), orderId },
      }),
    );
    const p: PaymentCase = { merchant: m, id: d.createPayment.id, coinId, address: d.createPayment.address.address, amount, txs: [], seen: [] };
    this.payments.push(p);
    const ws = createClient({
      url: this.w.cluster.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${m.key}` },
      // A checkout page reconnects for as long as it is open: through the balancer to whichever
      // gateway lives, and the subscription starts over with the current state.
      retryAttempts: Number.MAX_SAFE_INTEGER,
      shouldRetry: () => true,
      retryWait: async (n) => sleep(Math.min(2000, 250 * (n + 1))),
    });
    this.sockets.push(ws);
    ws.subscribe<{ paymentUpdated: { payment: { status: string } } }>(
      { query: SUBSCRIPTION, variables: { id: p.id } },
      {
        next: (r) => {
          const status = r.data?.paymentUpdated?.payment.status;
          if (status) p.seen.push(status);
        },
        error: (e) => this.errors.push(`subscription ${p.id}: ${JSON.stringify(e)}`),
        complete: () => undefined,
      },
    );
    const network = coinId.split(':')[0] as 'dev-evm' | 'dev-ltc';
    const hash = from ? await from(p.address, amount) : await retry('faucet', () => this.w.chains.controls[network].fund(p.address, coinId, amount), 30_000);
    p.txs.push({ hash, amount });
    return p;
  }

  /** A withdrawal to a fresh address (an idempotency key makes a retried request the same withdrawal). */
  async withdraw(m: Merchant, coinId: string): Promise<WithdrawalCase> {
    const amount = coinId === 'dev-evm:ETH' ? BigInt(1 + this.rng.int(9)) * 10n ** 15n : BigInt(1 + this.rng.int(9)) * 10n ** 5n;
    const to =
      coinId === 'dev-evm:ETH' ? Wallet.createRandom().address : await this.w.chains.ltcNode.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
    const idempotencyKey = randomUUID();
    const d = await retry(`requestWithdrawal ${idempotencyKey}`, () =>
      this.w.as(m.key, 'mutation($i: RequestWithdrawalInput!) { requestWithdrawal(input: $i) { id status } }', {
        i: { coinId, toAddress: to, amount: fmt(coinId, amount), idempotencyKey },
      }),
    );
    const c: WithdrawalCase = { merchant: m, id: d.requestWithdrawal.id, coinId, to, amount };
    this.withdrawals.push(c);
    return c;
  }

  /** Blocks keep coming: anvil one a second (it also mines every transaction at once), litecoind one every 1.5 s. */
  private async mineLoop(): Promise<void> {
    let tick = 0;
    while (this.mining) {
      await sleep(500);
      tick++;
      try {
        if (tick % 2 === 0 && !this.evmMinerPaused) await this.w.chains.evmDev.mine(1);
        if (tick % 3 === 0) await this.w.chains.ltcDev.mine(1);
      } catch (err) {
        this.errors.push(`miner: ${(err as Error).message}`);
      }
    }
  }
}
