import { getNetwork } from '@cpg/shared/chains';
import type { NetworkConfig } from '@cpg/shared/chains';

/** Any catalogued network, enabled or not: deriving a key needs no node. */
export function networkOf(id: string): NetworkConfig {
  return getNetwork(id);
}
