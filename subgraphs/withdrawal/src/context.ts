import type { BaseContext } from '@cpg/core/http';
import type { WithdrawalService } from './services/withdrawals';

export interface WithdrawalContext extends BaseContext {
  withdrawals: WithdrawalService;
}
