import { createHash, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import { AppError, type Identity, type MerchantIdentity, badInput, conflict, notFound, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { MoneyError, parseAmount } from '@cpg/core/money';
import { RateUnavailableError, type RateService } from '@cpg/core/rates';
import { canCancel } from '../domain/status-machine';
import { priceCurrencyOf, priceToAmount } from '../domain/pricing';
import { checkoutToken, hashToken, isTokenShaped, newTokenSalt } from '../domain/checkout-token';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import { type CoinCatalogue, type CoinEntry } from './catalogue';
import { DEFAULT_EXPIRY_MINUTES, DEFAULT_TOLERANCE, settingsOf } from './settings-store';
import {
  type DepositRow,
  type PaymentRow,
  depositsOf,
  insertPayment,
  listPayments,
  lockPayment,
  markCancelled,
  paymentById,
  paymentByOrderId,
  paymentByTokenHash,
} from './payment-store';
import { depositSnapshot, emitEvents, reduceAndStore, toleranceOf } from './rows';
import { reducePayment } from '../domain/status-machine';

export interface CreatePaymentInput {
  coinId: string;
  amount?: string | null;
  priceAmount?: string | null;
  priceCurrency?: string | null;
  orderId?: string | null;
  description?: string | null;
  expiresInMinutes?: number | null;
  customerId?: string | null;
  metadata?: unknown;
}

export interface PaymentFilter {
  status?: string | null;
  coinId?: string | null;
  createdFrom?: Date | string | null;
  createdTo?: Date | string | null;
  orderId?: string | null;
}

const MAX_EXPIRY_MINUTES = 10_080;
const MAX_METADATA_BYTES = 16_384;
// Allocating may make the signer create the merchant's seed first.
const ALLOCATE_TIMEOUT_MS = 15_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function text(value: string | null | undefined, field: string, max: number): string | null {
  if (value == null) return null;
  if (typeof value !== 'string' || value.length < 1 || value.length > max) throw badInput(`${field} must be 1 to ${max} characters`, { field });
  return value;
}

interface Validated {
  entry: CoinEntry;
  amount: bigint | null;
  price: { priceAmount: string; priceCurrency: string } | null;
  orderId: string | null;
  description: string | null;
  expiresInMinutes: number | null;
  customerId: string | null;
  metadata: unknown;
  fingerprint: string;
}

export class PaymentService {
  constructor(
    private readonly em: EntityManager,
    private readonly deps: {
      catalogue: CoinCatalogue;
      rates: RateService;
      /** The fiat currencies merchants may price in (PRICE_CURRENCIES), upper case. */
      priceCurrencies: readonly string[];
      bus: Pick<Bus, 'request'>;
      tokenKey: Buffer;
      checkoutBaseUrl: string;
      onCommitted: () => void;
      log?: Logger;
    },
  ) {}

  coin(id: string): CoinEntry | undefined {
    return this.deps.catalogue.coin(id);
  }

  checkoutUrl(row: PaymentRow): string {
    return `${this.deps.checkoutBaseUrl}/checkout/${checkoutToken(this.deps.tokenKey, row.id, row.token_salt)}`;
  }

  private validate(input: CreatePaymentInput): Validated {
    const entry = this.deps.catalogue.coin(input.coinId);
    if (!entry) throw badInput(`unknown coin "${input.coinId}"`, { field: 'coinId' });
    if (!entry.network.enabled) throw badInput(`network ${entry.network.id} is not enabled on this gateway`, { field: 'coinId' });
    const hasAmount = input.amount != null;
    const hasPrice = input.priceAmount != null || input.priceCurrency != null;
    if (hasAmount && hasPrice) throw badInput('give either amount, or priceAmount with priceCurrency, not both', { field: 'amount' });
    if (hasPrice && (input.priceAmount == null || input.priceCurrency == null)) {
      throw badInput('priceAmount and priceCurrency go together', { field: input.priceAmount == null ? 'priceAmount' : 'priceCurrency' });
    }
    let amount: bigint | null = null;
    if (hasAmount) {
      try {
        amount = parseAmount(input.amount, entry.coin.decimals);
      } catch (err) {
        if (err instanceof MoneyError) throw badInput(err.message, { field: 'amount' });
        throw err;
      }
      // An open amount is null, never zero: the status machine refuses 0 as a programming error.
      if (amount <= 0n) throw badInput('amount must be greater than zero; leave it out for an open amount', { field: 'amount' });
    }
    let price: Validated['price'] = null;
    if (hasPrice) {
      // Checked at rate 1 only for the shape of the price; the real rate comes after the orderId check.
      const priceCurrency = priceCurrencyOf(input.priceCurrency, this.deps.priceCurrencies);
      const probe = priceToAmount({ priceAmount: input.priceAmount!, priceCurrency, rate: '1', coinDecimals: entry.coin.decimals });
      price = { priceAmount: probe.priceAmount, priceCurrency: probe.priceCurrency };
    }
    const expiresInMinutes = input.expiresInMinutes ?? null;
    if (expiresInMinutes !== null && (!Number.isInteger(expiresInMinutes) || expiresInMinutes < 1 || expiresInMinutes > MAX_EXPIRY_MINUTES)) {
      throw badInput(`expiresInMinutes must be between 1 and ${MAX_EXPIRY_MINUTES}`, { field: 'expiresInMinutes' });
    }
    const metadata = input.metadata ?? null;
    if (metadata !== null && Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
      throw badInput(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`, { field: 'metadata' });
    }
    const v = {
      entry,
      amount,
      price,
      orderId: text(input.orderId, 'orderId', 200),
      description: text(input.description, 'description', 1000),
      expiresInMinutes,
      customerId: text(input.customerId, 'customerId', 200),
      metadata,
    };
    // What the merchant asked for, so a retry with the same orderId can be told from a different request.
    const fingerprint = createHash('sha256')
      .update(
        stable({
          coinId: entry.coin.id,
          amount: amount?.toString() ?? null,
          price,
          description: v.description,
          expiresInMinutes,
          customerId: v.customerId,
          metadata,
        }),
      )
      .digest('hex');
    return { ...v, fingerprint };
  }

  private async byOrderId(merchantId: string, orderId: string): Promise<PaymentRow | null> {
    return paymentByOrderId(this.em, merchantId, orderId);
  }

  private sameOrder(existing: PaymentRow, fingerprint: string): PaymentRow {
    if (existing.fingerprint !== fingerprint) {
      throw conflict(`orderId "${existing.order_id}" is already used by another payment with different details`, { paymentId: existing.id });
    }
    return existing;
  }

  async create(caller: MerchantIdentity, input: CreatePaymentInput): Promise<PaymentRow> {
    const v = this.validate(input);
    const merchantId = caller.merchantId;
    if (v.orderId) {
      const existing = await this.byOrderId(merchantId, v.orderId);
      if (existing) return this.sameOrder(existing, v.fingerprint);
    }
    const { coin, network } = v.entry;

    let amount = v.amount;
    let priced: { priceAmount: string; priceCurrency: string; rate: string } | null = null;
    if (v.price) {
      let quote;
      try {
        quote = await this.deps.rates.getRate(coin.symbol, v.price.priceCurrency);
      } catch (err) {
        if (err instanceof RateUnavailableError) throw unavailable(`no exchange rate for ${coin.symbol}/${v.price.priceCurrency} right now; try again later`);
        if (err instanceof RangeError) throw badInput(err.message, { field: 'priceCurrency' });
        throw err;
      }
      const p = priceToAmount({ priceAmount: v.price.priceAmount, priceCurrency: v.price.priceCurrency, rate: quote.rate, coinDecimals: coin.decimals });
      amount = p.amount;
      priced = { priceAmount: p.priceAmount, priceCurrency: p.priceCurrency, rate: p.rate };
    }

    const settings = await settingsOf(this.em, merchantId);
    const expiryMinutes = v.expiresInMinutes ?? settings?.paymentExpiryMinutes ?? DEFAULT_EXPIRY_MINUTES;
    const tolerance = settings?.underpaymentTolerance ?? DEFAULT_TOLERANCE;
    try {
      toleranceOf(tolerance);
    } catch {
      throw new AppError('UNAVAILABLE', 'the merchant settings are unusable; try again later');
    }

    const id = randomUUID();
    let allocated;
    try {
      allocated = await this.deps.bus.request(
        'address.allocate',
        { merchantId, coinId: coin.id, requestId: id, ...(v.customerId ? { customerId: v.customerId } : {}) },
        ALLOCATE_TIMEOUT_MS,
      );
    } catch (err) {
      this.deps.log?.warn({ err: (err as Error).message, coinId: coin.id }, 'address allocation failed');
      throw unavailable('no deposit address could be allocated right now; try again shortly');
    }

    const now = new Date();
    const expiresAt = new Date(now.getTime() + expiryMinutes * 60_000);
    const salt = newTokenSalt();
    const tokenHash = hashToken(checkoutToken(this.deps.tokenKey, id, salt));
    const outcome = reducePayment({
      payment: { amount, tolerance: toleranceOf(tolerance), expiresAt, status: null, paidLate: false, cancelled: false, onHold: false },
      deposits: [],
      now,
    });
    try {
      const row = await this.em.fork().transactional(async (tx) => {
        const inserted = await insertPayment(tx, {
          id,
          merchant_id: merchantId,
          order_id: v.orderId,
          fingerprint: v.fingerprint,
          description: v.description,
          coin_id: coin.id,
          network_id: network.id,
          address_id: allocated.addressId,
          address: allocated.address,
          customer_id: v.customerId,
          amount: amount?.toString() ?? null,
          price_amount: priced?.priceAmount ?? null,
          price_currency: priced?.priceCurrency ?? null,
          rate: priced?.rate ?? null,
          tolerance,
          amount_received: outcome.amountReceived.toString(),
          amount_confirmed: outcome.amountConfirmed.toString(),
          amount_due: outcome.amountDue?.toString() ?? null,
          status: outcome.status,
          paid_late: outcome.paidLate,
          token_salt: salt,
          checkout_token_hash: tokenHash,
          metadata: v.metadata,
          expires_at: expiresAt,
          created_at: now,
          updated_at: now,
        });
        await emitEvents(tx, inserted, outcome);
        return inserted;
      });
      this.deps.onCommitted();
      return row;
    } catch (err) {
      // A concurrent create with the same orderId won the insert: answer as a retry would be.
      if (err instanceof UniqueConstraintViolationException && v.orderId) {
        const winner = await this.byOrderId(merchantId, v.orderId);
        if (winner) return this.sameOrder(winner, v.fingerprint);
      }
      throw err;
    }
  }

  /** Merchants see their own payments; the operator sees every merchant's. */
  async findVisible(identity: Identity, id: string): Promise<PaymentRow | null> {
    if (identity.kind === 'anonymous' || !UUID.test(id)) return null;
    const row = await paymentById(this.em, id);
    if (!row) return null;
    if (identity.kind === 'merchant' && identity.merchantId !== row.merchant_id) return null;
    return row;
  }

  async byCheckoutToken(token: string): Promise<PaymentRow | null> {
    if (!isTokenShaped(token)) return null;
    return paymentByTokenHash(this.em, hashToken(token));
  }

  async deposits(paymentId: string): Promise<DepositRow[]> {
    return depositsOf(this.em, paymentId);
  }

  async list(merchantId: string | null, filter: PaymentFilter | null | undefined, first: number | null | undefined, after: string | null | undefined) {
    const limit = pageSize(first);
    const rows = await listPayments(this.em, {
      merchantId,
      status: filter?.status,
      coinId: filter?.coinId,
      orderId: filter?.orderId,
      createdFrom: filter?.createdFrom ? new Date(filter.createdFrom) : null,
      createdTo: filter?.createdTo ? new Date(filter.createdTo) : null,
      before: after ? decodeCursor(after) : null,
      limit: limit + 1,
    });
    const nodes = rows.slice(0, limit);
    const last = nodes[nodes.length - 1];
    return {
      nodes,
      pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor({ createdAt: new Date(last.created_at), id: last.id }) : null },
    };
  }

  async cancel(caller: MerchantIdentity, id: string): Promise<PaymentRow> {
    if (!UUID.test(id)) throw notFound('payment');
    const row = await this.em.fork().transactional(async (tx) => {
      const payment = await lockPayment(tx, id);
      if (!payment || payment.merchant_id !== caller.merchantId) throw notFound('payment');
      const deposits = await depositsOf(tx, id);
      if (!canCancel({ cancelled: payment.cancelled, onHold: payment.on_hold }, deposits.map(depositSnapshot))) {
        throw conflict(payment.on_hold ? 'the payment is on hold' : 'the payment has received a deposit and can no longer be cancelled');
      }
      if (payment.cancelled) return payment;
      await markCancelled(tx, id);
      await reduceAndStore(tx, { ...payment, cancelled: true }, deposits, undefined, new Date());
      return (await lockPayment(tx, id))!;
    });
    this.deps.onCommitted();
    return row;
  }
}
