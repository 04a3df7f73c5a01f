import { createHash } from 'node:crypto';
import { codecFor } from '@cpg/chains/codecs';
import { badInput } from '@cpg/core/graphql';
import { MoneyError, parseAmount } from '@cpg/core/money';
import type { CoinCatalogue, CoinEntry } from './catalogue';

// Checks of what callers send, before anything is read or written: each throws BAD_USER_INPUT
// naming the field at fault.

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RequestWithdrawalInput {
  coinId: string;
  toAddress: string;
  amount: string;
  idempotencyKey: string;
}

/** A withdrawal request that passed its checks. */
export interface ValidatedRequest {
  entry: CoinEntry;
  toAddress: string;
  amount: bigint;
  key: string;
  /** What was asked for, so a retry with the same key can be told from a different request. */
  fingerprint: string;
}

/** A coin this gateway can withdraw: known, and its network enabled. */
export function withdrawableCoin(catalogue: CoinCatalogue, coinId: string, field = 'coinId'): CoinEntry {
  const entry = catalogue.coin(coinId);
  if (!entry) throw badInput(`unknown coin "${coinId}"`, { field });
  if (!entry.network.enabled) throw badInput(`network ${entry.network.id} is not enabled on this gateway`, { field });
  return entry;
}

/** A decimal amount of the coin in base units; `positive` refuses zero. */
export function unitsOf(entry: CoinEntry, value: unknown, field: string, positive = true): bigint {
  let units: bigint;
  try {
    units = parseAmount(value, entry.coin.decimals);
  } catch (err) {
    if (err instanceof MoneyError) throw badInput(err.message, { field });
    throw err;
  }
  if (positive && units <= 0n) throw badInput(`${field} must be greater than zero`, { field });
  return units;
}

/** `amount`, when given, replaces the input's (a refund computes its own). */
export function validateRequest(catalogue: CoinCatalogue, input: RequestWithdrawalInput, amount?: bigint): ValidatedRequest {
  const key = input.idempotencyKey;
  if (typeof key !== 'string' || key.length < 1 || key.length > 200) throw badInput('idempotencyKey must be 1 to 200 characters', { field: 'idempotencyKey' });
  const entry = withdrawableCoin(catalogue, input.coinId);
  const raw = typeof input.toAddress === 'string' ? input.toAddress.trim() : '';
  if (!raw || raw.length > 200) throw badInput('toAddress is not an address', { field: 'toAddress' });
  const checked = codecFor(entry.network.family).validateAddress(entry.network, raw);
  if (!checked.valid)
    throw badInput(`invalid ${entry.network.id} address: ${checked.reason ?? 'not an address'}`, { field: 'toAddress', reason: checked.reason });
  const toAddress = checked.normalized ?? raw;
  const units = amount ?? unitsOf(entry, input.amount, 'amount');
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([entry.coin.id, toAddress, units.toString()]))
    .digest('hex');
  return { entry, toAddress, amount: units, key, fingerprint };
}
