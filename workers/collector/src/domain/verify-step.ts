/**
 * Whether a `signer.collect_sign` the signer is about to sign is exactly one of the collector's
 * persisted steps, pure (answers `collector.verify_step`). The signer describes what it read from
 * the request; every field must equal the stored step, and the step must still wait for its
 * signature (PLANNED): a step signed before is never signed again through this check.
 */

export interface StoredStep {
  merchantId: string;
  networkId: string;
  status: string;
  /** The coin the signer is asked to move: the step's coin, or a Tron resource pseudo-coin. */
  coinId: string;
  /** consolidate: a Bitcoin-family consolidation; anything else is a transfer. */
  action: string;
  from: { addressId: string; address: string }[];
  inputs: { txid: string; vout: number; addressId: string }[] | null;
  to: string;
  amount: bigint;
  sweepAll: boolean;
}

export type StepClaim =
  | { kind: 'transfer'; merchantId: string; networkId: string; coinId: string; from: string; to: string; amount: string; sweepAll: boolean }
  | {
      kind: 'consolidation';
      merchantId: string;
      networkId: string;
      coinId: string;
      inputs: { txid: string; vout: number; from: string }[];
      outputs: { to: string; amount: string }[];
    };

/** null when the claim is the stored step, still PLANNED; else the first difference found. */
export function stepMismatch(step: StoredStep | null, claim: StepClaim): string | null {
  if (!step) return 'no such step';
  if (step.merchantId !== claim.merchantId) return 'the step belongs to another merchant';
  if (step.networkId !== claim.networkId) return `the step is on ${step.networkId}, not ${claim.networkId}`;
  if (step.status !== 'PLANNED') return `the step is ${step.status}, not waiting to be signed`;
  if (step.coinId !== claim.coinId) return `the step moves ${step.coinId}, not ${claim.coinId}`;
  if (claim.kind === 'transfer') {
    if (step.action === 'consolidate') return 'the step is a consolidation, not a transfer';
    if (step.from.length !== 1 || step.from[0]!.address !== claim.from) return 'the step spends from another address';
    if (step.to !== claim.to) return 'the step pays another address';
    if (step.sweepAll !== claim.sweepAll) return 'the step differs in sweepAll';
    if (step.amount !== BigInt(claim.amount)) return 'the step moves another amount';
    return null;
  }
  if (step.action !== 'consolidate' || !step.inputs) return 'the step is a transfer, not a consolidation';
  // One output per consolidation step (the planner makes one per destination).
  if (claim.outputs.length !== 1 || claim.outputs[0]!.to !== step.to) return 'the step pays another address';
  if (BigInt(claim.outputs[0]!.amount) !== step.amount) return 'the step moves another amount';
  const owner = new Map(step.from.map((f) => [f.addressId, f.address]));
  const stored = new Map(step.inputs.map((i) => [`${i.txid}:${i.vout}`, owner.get(i.addressId)]));
  const claimed = new Set<string>();
  for (const i of claim.inputs) {
    const key = `${i.txid}:${i.vout}`;
    if (claimed.has(key)) return `output ${key} is spent twice`;
    claimed.add(key);
    if (!stored.has(key)) return `output ${key} is not one of the step's`;
    if (stored.get(key) !== i.from) return `output ${key} belongs to another address`;
  }
  if (claimed.size !== stored.size) return `the step spends ${stored.size} outputs, the request ${claimed.size}`;
  return null;
}
