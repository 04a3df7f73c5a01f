import type { BaseContext } from '@cpg/core/http';
import type { PaymentService } from './services/payments';

export interface PaymentContext extends BaseContext {
  payments: PaymentService;
}
