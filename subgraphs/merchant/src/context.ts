import type { BaseContext } from '@cpg/core/http';
import type { LedgerService } from './ledger/ledger-service';
import type { MerchantService } from './services/merchants';
import type { WebhookService } from './webhooks/service';

export interface MerchantContext extends BaseContext {
  merchants: MerchantService;
  ledger: LedgerService;
  webhooks: WebhookService;
}
