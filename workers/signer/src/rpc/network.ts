import { getNetwork } from '@cpg/chains';
import type { NetworkConfig } from '@cpg/chains';

/** Any catalogued network, enabled or not: deriving a key needs no node. */
export function networkOf(id: string): NetworkConfig {
  return getNetwork(id);
}
