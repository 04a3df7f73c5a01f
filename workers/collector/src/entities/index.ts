import type { InferEntity } from '@mikro-orm/core';
import { defineEntity, p } from '@cpg/core/db';

// The collector writes its tables with plain SQL (conditional updates inside one transaction per
// state change); the entity documents the shape of the central one and serves reads.

export const Step = defineEntity({
  name: 'Step',
  tableName: 'steps',
  properties: {
    id: p.uuid().primary(),
    planId: p.uuid().fieldName('plan_id'),
    seq: p.integer(),
    kind: p.text(),
    status: p.text(),
    txHash: p.text().fieldName('tx_hash').nullable(),
  },
});
export type StepRow = InferEntity<typeof Step>;

export const entities = [Step];
