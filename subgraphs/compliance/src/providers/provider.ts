import type { ProviderOutcome } from '../domain/engine';

/**
 * An external KYT provider (Chainalysis, Elliptic, TRM-style address-risk APIs) behind one
 * interface. `screen` never throws: a provider that is down, slow or answers garbage returns
 * `{ ok: false, error }` and the engine degrades to the local rules, saying so.
 */
export interface KytProvider {
  readonly name: string;
  screen(networkId: string, address: string): Promise<ProviderOutcome>;
}
