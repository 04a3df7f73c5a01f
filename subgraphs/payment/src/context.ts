import type { BaseContext } from '@cpg/shared/http';

export interface PaymentContext extends BaseContext {}
