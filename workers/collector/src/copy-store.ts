import type { EventData } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../migrations';

/**
 * The collector's copies of what other services own: the merchants' addresses (address
 * service), collection policies, cold wallet reviews and compliance holds. Written by the bus
 * consumers (each write is idempotent and newest-wins, so replays are harmless), read by planning
 * and by the signer requests. Raw SQL with row types.
 */

export interface AddressRow {
  address_id: string;
  merchant_id: string;
  address: string;
  type: string;
  derivation_index: number | null;
  signer_key_id: string | null;
  described: boolean;
}

export interface PolicyRow {
  collect_threshold: string;
  hot_target: string;
  cold_wallet_address: string | null;
  max_fee_ratio: string;
}

export interface ColdWalletRow {
  usable: boolean;
  status: string;
  usable_from: Date | null;
}

export class CopyStore {
  constructor(private readonly root: EntityManager) {}

  private get em(): EntityManager {
    return this.root.fork();
  }

  // --- written by the consumers ------------------------------------------------------------------

  /** address.created; a repeat is ignored. */
  async saveAddress(a: EventData<'address.created'>): Promise<void> {
    await this.em.execute(
      `insert into "${SCHEMA}".addresses (address_id, merchant_id, address, type, networks, coins) values (?, ?, ?, ?, ?::text[], ?::text[]) on conflict do nothing`,
      [a.addressId, a.merchantId, a.address, a.type, textArray(a.networks), textArray(a.coins)],
    );
  }

  /** collection.policy_updated; newest wins: a replayed older policy never overwrites a newer one. */
  async savePolicy(p: EventData<'collection.policy_updated'>): Promise<void> {
    await this.em.execute(
      `insert into "${SCHEMA}".policies (merchant_id, coin_id, network_id, collect_threshold, hot_target, cold_wallet_id, cold_wallet_address, max_fee_ratio, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (merchant_id, coin_id) do update set collect_threshold = excluded.collect_threshold, hot_target = excluded.hot_target,
         cold_wallet_id = excluded.cold_wallet_id, cold_wallet_address = excluded.cold_wallet_address, max_fee_ratio = excluded.max_fee_ratio,
         updated_at = excluded.updated_at
       where policies.updated_at <= excluded.updated_at`,
      [p.merchantId, p.coinId, p.networkId, p.collectThreshold, p.hotTarget, p.coldWalletId, p.coldWalletAddress, p.maxFeeRatio, new Date(p.updatedAt)],
    );
  }

  /** address.cold_wallet_updated; newest wins: a replayed older status never overwrites a newer one. */
  async saveColdWallet(c: EventData<'address.cold_wallet_updated'>): Promise<void> {
    await this.em.execute(
      `insert into "${SCHEMA}".cold_wallets (address_id, merchant_id, network_id, address, status, usable_from, updated_at) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (address_id) do update set status = excluded.status, usable_from = excluded.usable_from, updated_at = excluded.updated_at
       where cold_wallets.updated_at <= excluded.updated_at`,
      [c.addressId, c.merchantId, c.networkId, c.address, c.status, c.usableFrom ? new Date(c.usableFrom) : null, new Date(c.at)],
    );
  }

  /** compliance.deposit_hold other than CLEAR: HOLD, then BLOCK or RELEASE; the later state wins, a replay never moves it back. */
  async saveHold(h: EventData<'compliance.deposit_hold'>): Promise<void> {
    await this.em.execute(
      `insert into "${SCHEMA}".holds (deposit_key, merchant_id, address_id, coin_id, amount, state) values (?, ?, ?, ?, ?, ?)
       on conflict (deposit_key) do update set state = excluded.state, updated_at = now()
       where holds.state = 'HOLD' and excluded.state <> 'HOLD'`,
      [`${h.network}:${h.txHash}:${h.index}`, h.merchantId, h.addressId, h.coinId, h.amount, h.action],
    );
  }

  // --- read by planning and signing -------------------------------------------------------------

  /** The stored policy of (merchant, coin); undefined when the merchant never set one. */
  async policy(merchantId: string, coinId: string): Promise<PolicyRow | undefined> {
    const [row] = await this.em.execute<PolicyRow[]>(
      `select collect_threshold::text, hot_target::text, cold_wallet_address, max_fee_ratio from "${SCHEMA}".policies where merchant_id = ? and coin_id = ?`,
      [merchantId, coinId],
    );
    return row;
  }

  /** Whether the cold wallet may receive now (active, or past its cooling-off); undefined when not known here. */
  async coldWallet(merchantId: string, networkId: string, address: string): Promise<ColdWalletRow | undefined> {
    const [row] = await this.em.execute<ColdWalletRow[]>(
      `select (status = 'ACTIVE' or (status = 'COOLING_OFF' and usable_from <= now())) as usable, status, usable_from from "${SCHEMA}".cold_wallets
        where merchant_id = ? and network_id = ? and address = ?`,
      [merchantId, networkId, address],
    );
    return row;
  }

  /** The merchant's first wallet of `type` on the network. */
  async wallet(merchantId: string, networkId: string, type: 'HOT' | 'TOKENS_COLLECTOR'): Promise<AddressRow | undefined> {
    const [row] = await this.em.execute<AddressRow[]>(
      `select * from "${SCHEMA}".addresses where merchant_id = ? and type = ? and ? = any(networks) order by created_at, address_id limit 1`,
      [merchantId, type, networkId],
    );
    return row;
  }

  /** The merchant's USER addresses for the coin, oldest first (at most 2000 per plan). */
  users(merchantId: string, networkId: string, coinId: string): Promise<AddressRow[]> {
    return this.em.execute<AddressRow[]>(
      `select * from "${SCHEMA}".addresses where merchant_id = ? and type = 'USER' and ? = any(networks) and ? = any(coins) order by created_at, address_id limit 2000`,
      [merchantId, networkId, coinId],
    );
  }

  /** What compliance holds (not released) per USER address of (merchant, coin). */
  async heldByAddress(merchantId: string, coinId: string): Promise<Map<string, bigint>> {
    const holds = await this.em.execute<{ address_id: string; amount: string }[]>(
      `select address_id, sum(amount)::text as amount from "${SCHEMA}".holds where merchant_id = ? and coin_id = ? and state <> 'RELEASE' group by address_id`,
      [merchantId, coinId],
    );
    return new Map(holds.map((h) => [h.address_id, BigInt(h.amount)]));
  }

  async address(addressId: string): Promise<AddressRow | undefined> {
    const [row] = await this.em.execute<AddressRow[]>(`select * from "${SCHEMA}".addresses where address_id = ?`, [addressId]);
    return row;
  }

  /** Keeps what the address service told about an address's key (address.describe); idempotent. */
  async saveDescription(addressId: string, d: { derivationIndex: number | null; signerKeyId: string | null }): Promise<void> {
    await this.em.execute(`update "${SCHEMA}".addresses set derivation_index = ?, signer_key_id = ?, described = true where address_id = ?`, [
      d.derivationIndex,
      d.signerKeyId,
      addressId,
    ]);
  }
}

function textArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '')}"`).join(',')}}`;
}
