import type { BaseContext } from '@cpg/shared/http';

export interface WithdrawalContext extends BaseContext {}
