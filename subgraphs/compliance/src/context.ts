import type { BaseContext } from '@cpg/shared/http';

export interface ComplianceContext extends BaseContext {}
