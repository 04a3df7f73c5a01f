import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventSchemas, rpcSchemas, subjectPattern } from './messages';
import { SERVICE_NAMES, busRoles, consumerFilter, permissionsMarkdown, permissionsOf } from './permissions';

describe('the bus permission table', () => {
  it('is what docs/nats-permissions.md shows (run `npm run docs:nats` after changing it)', () => {
    const file = path.resolve(__dirname, '..', '..', '..', '..', 'docs', 'nats-permissions.md');
    expect(readFileSync(file, 'utf8')).toBe(permissionsMarkdown());
  });

  it('gives every event exactly one producer, and chain events only to the tracker', () => {
    for (const type of Object.keys(eventSchemas)) {
      const producers = SERVICE_NAMES.filter((s) => (busRoles[s].publishes as string[]).includes(type));
      expect([type, producers.length]).toEqual([type, 1]);
      if (type.startsWith('chain.')) expect(producers).toEqual(['tracker']);
    }
    expect(SERVICE_NAMES.filter((s) => (busRoles[s].publishes as string[]).includes('withdrawal.batch.ready'))).toEqual(['withdrawal']);
  });

  it('gives every RPC exactly one answering service, and signer.* only to the signer, asked only by named services', () => {
    for (const name of Object.keys(rpcSchemas)) {
      const answering = SERVICE_NAMES.filter((s) => (busRoles[s].answers as string[]).includes(name));
      expect([name, answering.length]).toEqual([name, 1]);
      if (name.startsWith('signer.')) expect(answering).toEqual(['signer']);
    }
    const askSigner = SERVICE_NAMES.filter((s) => busRoles[s].asks.some((a) => a.startsWith('signer.')));
    expect(askSigner.sort()).toEqual(['address', 'collector']);
    expect(busRoles.gateway.asks).toEqual(['merchant.verify_api_key']);
  });

  it('derives consumer filters as the Bus does, and binds each durable to its filter', () => {
    expect(consumerFilter(['chain.transfer.seen', 'chain.transfer.confirmed'])).toBe('chain.*.transfer.>');
    expect(consumerFilter(['merchant.created', 'merchant.settings_updated'])).toBe('merchant.>');
    expect(consumerFilter(['payment.updated'])).toBe('payment.updated.>');
    const p = permissionsOf('payment', 'cpg');
    expect(p.publish.allow).toContain('$JS.API.CONSUMER.CREATE.CPG_EVENTS.payment-chain-transfers.cpg.evt.chain.*.transfer.>');
    expect(p.publish.allow!.filter((s) => s.startsWith('cpg.evt.'))).toEqual(['cpg.evt.payment.updated.*', 'cpg.evt.payment.deposit_ledger.*']);
    expect(p.subscribe.allow).toEqual(['_INBOX_payment.>', 'cpg.rpc.payment.snapshot']);
  });

  it('names one stream only in production (an exact namespace), every stream only under the test wildcard', () => {
    const exact = permissionsOf('tracker', 'cpg').publish.allow!;
    expect(exact).toContain('$JS.API.STREAM.CREATE.CPG_EVENTS');
    expect(exact).toContain('$KV.cpg_tracker_leases.>');
    expect(exact.some((s) => s.includes('DELETE'))).toBe(false);
    expect(exact).toContain(`cpg.evt.${subjectPattern('chain.transfer.seen')}.*`);
    expect(permissionsOf('tracker', '*').publish.allow).toContain('$JS.API.STREAM.CREATE.*');
  });
});
