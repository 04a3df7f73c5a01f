import type { InferEntity } from '@mikro-orm/core';
import { defineEntity, p } from '@cpg/core/db';

// The scan loop writes these tables with plain SQL inside one transaction per block (it needs
// conditional updates and bulk inserts); the entities document the shape and serve reads.

export const Cursor = defineEntity({
  name: 'Cursor',
  tableName: 'cursors',
  properties: {
    network: p.text().primary(),
    height: p.bigint('number'),
    hash: p.text().nullable(),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type CursorRow = InferEntity<typeof Cursor>;

export const ScannedBlock = defineEntity({
  name: 'ScannedBlock',
  tableName: 'blocks',
  properties: {
    network: p.text().primary(),
    height: p.bigint('number').primary(),
    hash: p.text(),
    parentHash: p.text().fieldName('parent_hash'),
  },
});

export const WatchedAddress = defineEntity({
  name: 'WatchedAddress',
  tableName: 'watched_addresses',
  properties: {
    addressId: p.uuid().primary().fieldName('address_id'),
    seq: p.bigint('number'),
    merchantId: p.uuid().fieldName('merchant_id'),
    address: p.text(),
    type: p.text(),
    networks: p.array(),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type WatchedAddressRow = InferEntity<typeof WatchedAddress>;

export const BlockTransfer = defineEntity({
  name: 'BlockTransfer',
  tableName: 'block_transfers',
  properties: {
    network: p.text().primary(),
    txHash: p.text().primary().fieldName('tx_hash'),
    idx: p.integer().primary(),
    coinId: p.text().primary().fieldName('coin_id'),
    blockHash: p.text().primary().fieldName('block_hash'),
    blockHeight: p.bigint('number').fieldName('block_height'),
    data: p.json(),
    confirmed: p.boolean(),
  },
});

export const entities = [Cursor, ScannedBlock, WatchedAddress, BlockTransfer];
