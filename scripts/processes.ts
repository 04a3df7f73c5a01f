/** Every process `npm start` runs, in start order: subgraphs and workers, then the gateway that composes the subgraphs. */
export interface ProcessSpec {
  name: string;
  /** TypeScript entry, relative to the repository root. */
  entry: string;
  port: number;
  /** Subgraphs are composed by the gateway; workers only expose health. */
  kind: 'subgraph' | 'worker' | 'gateway';
}

export const processes: ProcessSpec[] = [
  { name: 'merchant', entry: 'subgraphs/merchant/src/index.ts', port: 4001, kind: 'subgraph' },
  { name: 'address', entry: 'subgraphs/address/src/index.ts', port: 4002, kind: 'subgraph' },
  { name: 'payment', entry: 'subgraphs/payment/src/index.ts', port: 4003, kind: 'subgraph' },
  { name: 'withdrawal', entry: 'subgraphs/withdrawal/src/index.ts', port: 4004, kind: 'subgraph' },
  { name: 'compliance', entry: 'subgraphs/compliance/src/index.ts', port: 4005, kind: 'subgraph' },
  { name: 'signer', entry: 'workers/signer/src/index.ts', port: 4010, kind: 'worker' },
  { name: 'tracker', entry: 'workers/tracker/src/index.ts', port: 4011, kind: 'worker' },
  { name: 'collector', entry: 'workers/collector/src/index.ts', port: 4012, kind: 'worker' },
  { name: 'gateway', entry: 'gateway/src/index.ts', port: 4000, kind: 'gateway' },
];
