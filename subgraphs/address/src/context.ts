import type { BaseContext } from '@cpg/shared/http';

export interface AddressContext extends BaseContext {}
