import type { BaseContext } from '@cpg/shared/http';
import type { Catalogue } from './domain/catalogue';

export interface AddressContext extends BaseContext {
  catalogue: Catalogue;
}
