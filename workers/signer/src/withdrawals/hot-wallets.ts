import type { EntityManager } from '@mikro-orm/postgresql';
import type { NetworkConfig } from '@cpg/chains';
import type { KeyStore } from '@cpg/chains/keys';
import type { HotWallet } from './chains';

/**
 * Each merchant's own HOT wallet per network: a standalone key made through the key store's
 * create_key path, one per (merchant, network), created on first need. Only the address leaves
 * the signer. The hot_wallets row is the single answer for the pair: a second key made by a
 * racing first call loses the insert and is never used.
 */
export class HotWallets {
  constructor(
    private readonly em: EntityManager,
    private readonly keys: KeyStore,
    private readonly schema: string,
  ) {}

  /** Idempotent: every call for the same merchant and network returns the same wallet. */
  async ensure(merchantId: string, network: NetworkConfig, requestId = `hot:${merchantId}:${network.id}`): Promise<HotWallet> {
    const found = await this.find(merchantId, network.id);
    if (found) return found;
    const key = await this.keys.createKey(merchantId, network, 'HOT', requestId);
    await this.em
      .fork()
      .getConnection()
      .execute(`insert into "${this.schema}".hot_wallets (merchant_id, network_id, key_id, address) values (?, ?, ?, ?) on conflict do nothing`, [
        merchantId,
        network.id,
        key.keyId,
        key.address,
      ]);
    const stored = await this.find(merchantId, network.id);
    if (!stored) throw new Error(`HOT wallet of merchant ${merchantId} on ${network.id} vanished after insert`);
    return stored;
  }

  async find(merchantId: string, networkId: string): Promise<HotWallet | null> {
    const [row] = await this.em
      .fork()
      .getConnection()
      .execute<{ key_id: string; address: string }[]>(`select key_id, address from "${this.schema}".hot_wallets where merchant_id = ? and network_id = ?`, [
        merchantId,
        networkId,
      ]);
    return row ? { merchantId, keyId: row.key_id, address: row.address } : null;
  }

  /**
   * Inside the caller's transaction: locks the row of the HOT wallet whose key is `keyId`, the same
   * row lock the withdrawal processor takes (BatchStore.lockWallet) before it picks a nonce, so
   * whoever holds it is the one owner of the wallet's next nonce. Null when `keyId` is no HOT
   * wallet's key (withdrawals never spend from it).
   */
  async lockByKey(tx: EntityManager, keyId: string): Promise<HotWallet | null> {
    const [row] = await tx.execute<{ merchant_id: string; address: string }[]>(
      `select merchant_id, address from "${this.schema}".hot_wallets where key_id = ? for update`,
      [keyId],
    );
    return row ? { merchantId: row.merchant_id, keyId, address: row.address } : null;
  }
}
