import { type RunningWorker, startWorkerService } from '@cpg/shared/http';
import type { Logger } from '@cpg/shared/logger';
import { AesGcmSealer, type KeyStore, PostgresKeyStore } from '@cpg/shared/keys';
import { SCHEMA, migrations } from '../migrations';
import type { SignerConfig } from './config';
import { entities } from './entities';
import { serveAccountXpub } from './rpc/account-xpub';
import { serveCreateKey } from './rpc/create-key';

export interface RunningSigner extends RunningWorker {
  /** For in-process signing code; private keys from it never go on the bus. */
  keys: KeyStore;
}

/** Database (migrations) -> bus -> the signer's request-reply handlers -> health port. */
export async function startSignerWorker(config: SignerConfig, log?: Logger): Promise<RunningSigner> {
  const sealer = AesGcmSealer.fromHex(config.KEY_ENCRYPTION_KEY, config.KEY_ENCRYPTION_KEY_ID);
  let keys: KeyStore | undefined;
  const worker = await startWorkerService({
    name: 'signer',
    schema: SCHEMA,
    entities,
    migrations,
    config,
    log,
    run: async ({ orm, bus, log: workerLog }) => {
      const store = new PostgresKeyStore(orm.em, sealer);
      keys = store;
      serveAccountXpub(bus, store);
      serveCreateKey(bus, store);
      // A wrong KEY_ENCRYPTION_KEY is not fatal to the process (it may be a rotation in progress),
      // but it must be loud and keep traffic away: readiness fails until it is fixed.
      if (!(await store.canOpenStoredSecrets())) workerLog.error('KEY_ENCRYPTION_KEY does not open the stored seeds; every key request will fail');
      return {
        stop: async () => undefined,
        ready: async () => ({ keyEncryptionKey: await store.canOpenStoredSecrets() }),
      };
    },
  });
  return { ...worker, keys: keys! };
}
