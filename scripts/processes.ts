/** Every process `npm start` runs, in start order: the subgraphs, then the gateway that composes them. */
export interface ProcessSpec {
  name: string;
  /** TypeScript entry, relative to the repository root. */
  entry: string;
  port: number;
}

export const processes: ProcessSpec[] = [
  { name: 'merchant', entry: 'subgraphs/merchant/src/index.ts', port: 4001 },
  { name: 'address', entry: 'subgraphs/address/src/index.ts', port: 4002 },
  { name: 'payment', entry: 'subgraphs/payment/src/index.ts', port: 4003 },
  { name: 'withdrawal', entry: 'subgraphs/withdrawal/src/index.ts', port: 4004 },
  { name: 'compliance', entry: 'subgraphs/compliance/src/index.ts', port: 4005 },
  { name: 'gateway', entry: 'gateway/src/index.ts', port: 4000 },
];
