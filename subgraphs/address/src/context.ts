import type { BaseContext } from '@cpg/core/http';
import type { Catalogue } from './domain/catalogue';
import type { AddressService } from './services/addresses';
import type { CollectionService } from './services/collection';
import type { NetworkStatusReader } from './services/network-status';
import type { ReconciliationService } from './services/reconciliation';

export interface AddressContext extends BaseContext {
  catalogue: Catalogue;
  addresses: AddressService;
  collection: CollectionService;
  networkStatus: NetworkStatusReader;
  reconciliation: ReconciliationService;
}
