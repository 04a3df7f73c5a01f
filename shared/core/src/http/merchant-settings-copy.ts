import type { MerchantSettingsMessage } from '../bus';
import { type EntityManager, applyOnce } from '../db';
import type { ServiceDeps } from './deps';

/** One service's local copy of the merchant's settings: the fields it reads, in its own table. */
export interface MerchantSettingsCopy {
  /** The consumer's durable name, also the key of its processed-message markers. */
  durable: string;
  /** The Postgres schema holding the copy and the markers. */
  schema: string;
  /** A new merchant: its defaults, unless a settings event got here first. */
  insertDefaults(tx: EntityManager, merchantId: string, at: Date): Promise<void>;
  /** The settings published at `at`; a row updated later must be left as it is. */
  upsert(tx: EntityManager, merchantId: string, settings: MerchantSettingsMessage, at: Date): Promise<void>;
}

/**
 * Settings belong to the merchant subgraph; a service that needs them keeps a copy so a request
 * makes no call across services. Each event applies once, stamped with when it happened, so an
 * older event (a replay, a late redelivery) never overwrites a newer one.
 */
export async function copyMerchantSettings({ bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>, copy: MerchantSettingsCopy): Promise<void> {
  await bus.consume({
    durable: copy.durable,
    types: ['merchant.created', 'merchant.settings_updated'],
    handler: async (event) => {
      const at = new Date(event.occurredAt);
      await applyOnce(orm.em.fork(), copy.schema, copy.durable, event.id, async (tx) => {
        if ('settings' in event.data) await copy.upsert(tx, event.data.merchantId, event.data.settings, at);
        else await copy.insertDefaults(tx, event.data.merchantId, at);
      });
    },
  });
}
