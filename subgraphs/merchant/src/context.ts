import type { BaseContext } from '@cpg/shared/http';
import type { MerchantService } from './services/merchants';

export interface MerchantContext extends BaseContext {
  merchants: MerchantService;
}
