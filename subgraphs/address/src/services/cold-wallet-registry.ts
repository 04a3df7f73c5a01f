import { randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/core/bus';
import { codecFor } from '@cpg/chains/codecs';
import type { EntityManager } from '@cpg/core/db';
import { AppError, badInput, conflict, notFound, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import type { CatalogueNetwork } from '../domain/catalogue';
import { type OperatorAction, effectiveColdStatus, initialColdStatus, isColdWalletStatus, operatorDecision } from '../domain/cold-wallets';
import { normaliseLabel, servedByWallet } from '../domain/modes';
import { AddressEntity, type AddressRow } from '../entities';
import { announceColdWallet } from './address-events';
import { addressOwner } from './address-store';
import { storeNewAddress } from './new-address';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RegisterColdWalletInput {
  networkId: string;
  address: string;
  label?: string | null;
}

export interface ColdWalletOptions {
  /** How long a screened-ALLOW cold wallet waits before it is usable (COLD_WALLET_COOLING_OFF_HOURS). */
  coolingOffHours: number;
  screenTimeoutMs: number;
}

/**
 * COLD wallets: addresses we hold no keys for, where the collector forwards funds out of the hot
 * side. Registered like a withdrawal destination (screened, one owner) and usable only after the
 * cooling-off period or the operator's approval.
 */
export class ColdWalletRegistry {
  constructor(
    private readonly em: EntityManager,
    private readonly bus: Pick<Bus, 'request'>,
    private readonly onCommitted: () => void,
    private readonly options: ColdWalletOptions,
    private readonly log?: Logger,
  ) {}

  /**
   * The address must not belong to anyone else (CONFLICT), compliance screens it as an outgoing
   * destination (BLOCK: FORBIDDEN with the reasons, nothing stored; REVIEW: stored PENDING_REVIEW
   * for the operator; no answer: UNAVAILABLE, nothing stored). The registration is announced
   * (`address.cold_wallet_updated`). Idempotent: registering the same address again answers the
   * stored row.
   */
  async register(merchantId: string, network: CatalogueNetwork, input: RegisterColdWalletInput): Promise<AddressRow> {
    const label = normaliseLabel(input.label);
    if (input.address.length > 200) throw badInput('invalid address: too long to be an address', { field: 'address' });
    const checked = codecFor(network.family).validateAddress(network, input.address.trim());
    if (!checked.valid) throw badInput(`invalid ${network.id} address: ${checked.reason ?? 'not an address'}`, { field: 'address', reason: checked.reason });
    const normalized = checked.normalized ?? input.address.trim();

    // Known already: answered before anything is screened or stored.
    const known = await this.knownHolder(merchantId, network, normalized);
    if (known) return known;

    const id = randomUUID();
    const screening = await this.screenDestination(merchantId, network, normalized, id);
    if (screening.decision === 'BLOCK') {
      const reasons = screening.reasons.length ? screening.reasons : ['blocked by compliance screening'];
      throw new AppError('FORBIDDEN', `this address may not receive funds: ${reasons.join('; ')}`, { field: 'address', reasons });
    }
    const now = new Date();
    const start = initialColdStatus(screening.decision, now, this.options.coolingOffHours)!;
    try {
      const row = await this.em.fork().transactional(async (tx) => {
        const row = await storeNewAddress(tx, {
          id,
          merchantId,
          network,
          address: normalized,
          type: 'COLD',
          served: servedByWallet(network),
          label,
          createdAt: now,
          coldStatus: start.status,
          usableFrom: start.usableFrom,
          coldReasons: screening.reasons,
          coldDecidedAt: null,
        });
        await announceColdWallet(tx, row, 'registered', now);
        return row;
      });
      this.onCommitted();
      return row;
    } catch (err) {
      // A concurrent registration of the same address won the insert: answer as if it had come first.
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
      const winner = await this.knownHolder(merchantId, network, normalized);
      if (!winner) throw err;
      return winner;
    }
  }

  /**
   * The caller's existing COLD row for this address on this network (a repeat registration), or
   * null when the address is new; CONFLICT when anyone else holds it, or the caller holds it as a
   * wallet with keys here (not a cold wallet).
   */
  private async knownHolder(merchantId: string, network: CatalogueNetwork, address: string): Promise<AddressRow | null> {
    const em = this.em.fork();
    const owner = await addressOwner(em, network.family, address);
    if (owner === undefined) return null;
    // Deliberately the same answer whoever holds it: which merchant is nobody else's business.
    if (owner !== merchantId) throw conflict('this address is already registered on this gateway', { field: 'address' });
    const mine = await em.find(AddressEntity, { merchantId, family: network.family, address }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    const keyed = mine.find((r) => r.type !== 'COLD');
    if (keyed) throw conflict(`this address is already one of your ${keyed.type} addresses`, { field: 'address' });
    return mine.find((r) => r.networkId === network.id) ?? null;
  }

  /** Compliance screens the wallet as an outgoing destination; no answer refuses the registration. */
  private async screenDestination(merchantId: string, network: CatalogueNetwork, address: string, addressId: string) {
    try {
      return await this.bus.request(
        'compliance.screen',
        {
          merchantId,
          networkId: network.id,
          address,
          direction: 'OUT',
          coinId: network.nativeCoin.id,
          amount: '0',
          subjectRef: `cold_wallet:${addressId}`,
        },
        this.options.screenTimeoutMs,
      );
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, network: network.id }, 'cold wallet screening failed');
      throw unavailable('compliance screening is not available right now; the cold wallet was not registered, try again shortly');
    }
  }

  /** The operator approves (usable at once) or rejects a COLD wallet; announced like a registration. Repeating a decision changes nothing. */
  async decide(id: string, action: OperatorAction): Promise<AddressRow> {
    if (!UUID.test(id)) throw notFound('cold wallet');
    const now = new Date();
    const result = await this.em.fork().transactional(async (tx) => {
      const row = await tx.findOne(AddressEntity, { id: id.toLowerCase() }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row || row.type !== 'COLD' || !isColdWalletStatus(row.coldStatus)) throw notFound('cold wallet');
      const current = effectiveColdStatus(row.coldStatus, row.usableFrom ?? null, now);
      const decision = operatorDecision(current, action);
      if (!decision.ok) throw badInput(decision.reason, { field: 'id' });
      if (!decision.changed && row.coldStatus === decision.status) return { row, changed: false };
      row.coldStatus = decision.status;
      row.usableFrom = null;
      row.coldDecidedAt = now;
      await tx.flush();
      await announceColdWallet(tx, row, action === 'approve' ? 'approved' : 'rejected', now);
      return { row, changed: true };
    });
    if (result.changed) this.onCommitted();
    return result.row;
  }
}
