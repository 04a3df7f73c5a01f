import type { Bus } from '@cpg/core/bus';
import type { MikroORM } from '@cpg/core/db';
import { MerchantService } from '../services/merchants';

/** The gateway's API-key lookup (request-reply): one fresh EntityManager per request. */
export function serveApiKeyVerification(bus: Bus, orm: MikroORM): void {
  bus.reply('merchant.verify_api_key', async ({ prefix, proof }) => new MerchantService(orm.em.fork()).verifyApiKey(prefix, proof));
}
