// The faults, each injected into the running load and described in one line. Kills are SIGKILL
// (no clean shutdown); the supervisor restarts the process with backoff, as in production.
import { connect } from 'nats';
import { anvilAccount, sendUnsimulated } from '@cpg/devkit/chains/evm/dev';
import { type Load, type PaymentCase, retry, sleep } from './load';
import type { World } from './world';

export interface Fault {
  name: string;
  /** Injects the fault and, where it lasts, waits until it is over. Returns what happened, in one line. */
  run(w: World, load: Load, pick: (n: number) => number): Promise<string>;
}

/** The current holder of a lease (`host:pid:tag`) from the admin's view of the KV bucket. */
async function leaseHolder(w: World, bucket: string, key: string): Promise<string | undefined> {
  const nc = await connect({ servers: w.cluster.nats.url.split(','), user: 'admin', pass: w.cluster.credentials.admin, timeout: 3000 });
  try {
    const kv = await nc.jetstream().views.kv(`faults_${bucket}`);
    return (await kv.get(key))?.string();
  } finally {
    await nc.close();
  }
}

/** The supervised instance whose PID holds the lease. */
async function holderInstance(w: World, bucket: string, key: string, prefix: string): Promise<string> {
  return retry(`lease ${bucket}/${key}`, async () => {
    const holder = await leaseHolder(w, bucket, key);
    const pid = Number(holder?.split(':')[1]);
    const name = w.cluster.supervisor.names().find((n) => n.startsWith(prefix) && w.cluster.supervisor.pid(n) === pid);
    if (!name) throw new Error(`no ${prefix} holds it (holder ${holder})`);
    return name;
  });
}

function killInstance(w: World, name: string): string {
  const pid = w.cluster.supervisor.kill(name);
  return `kill -9 ${name} (pid ${pid})`;
}

export const FAULTS: Fault[] = [
  {
    name: 'nats-node',
    async run(w, _load, pick) {
      const i = pick(w.cluster.nats.nodes.length);
      const node = w.cluster.nats.nodes[i]!;
      const pid = node.pid;
      await node.kill();
      await sleep(5000);
      await node.start();
      return `kill -9 NATS node n${i + 1} (pid ${pid}), restarted after 5 s`;
    },
  },
  {
    name: 'tracker-lease-holder',
    async run(w) {
      return `${killInstance(w, await holderInstance(w, 'tracker_leases', 'dev-evm', 'tracker-'))}, the dev-evm lease holder`;
    },
  },
  {
    name: 'gateway',
    async run(w, _load, pick) {
      return killInstance(w, `gateway-${1 + pick(2)}`);
    },
  },
  {
    name: 'subgraph',
    async run(w, _load, pick) {
      const kind = ['payment', 'merchant', 'withdrawal', 'address'][pick(4)];
      return killInstance(w, `${kind}-${1 + pick(2)}`);
    },
  },
  {
    name: 'collector',
    async run(w) {
      return `${killInstance(w, await holderInstance(w, 'collector_leases', 'collector', 'collector-'))}, the planning lease holder`;
    },
  },
  {
    name: 'signer-mid-batch',
    async run(w, load) {
      // A withdrawal of its own, both signers killed while its batch is in their hands (batched,
      // being signed, or out and not yet confirmed): whichever replica held it dies mid-way.
      // Read straight from the table every 10 ms: on anvil the whole run takes about a second.
      const m = load.merchants[0]!;
      let c: Awaited<ReturnType<Load['withdraw']>> | undefined;
      let status = '';
      for (let attempt = 1; attempt <= 5 && !status; attempt++) {
        c = await load.withdraw(m, 'dev-evm:ETH');
        const until = Date.now() + 20_000;
        while (Date.now() < until) {
          const [row] = await w.sql<{ status: string }>('select status from withdrawal.withdrawals where id = $1', [c.id]);
          if (row && ['BATCHED', 'SIGNING', 'BROADCAST'].includes(row.status)) {
            status = row.status;
            break;
          }
          if (row && ['CONFIRMED', 'FAILED', 'REJECTED', 'CANCELLED'].includes(row.status)) break;
          await sleep(10);
        }
      }
      if (!c || !status) throw new Error('no withdrawal was caught in flight in 5 tries');
      const killed = ['signer-1', 'signer-2'].map((n) => killInstance(w, n));
      return `${killed.join(', ')} with withdrawal ${c.id.slice(0, 8)} ${status}`;
    },
  },
  {
    name: 'postgres-restart',
    async run(w) {
      await w.restartPostgres(3000);
      return 'Postgres stopped (every connection cut) and started again after 3 s';
    },
  },
  {
    name: 'rpc-faults',
    async run(w) {
      const rates = { drop: 0.1, delay: 0.1, timeout: 0.03, stale: 0.1, wrong: 0.1 };
      w.evmProxy.setFaults(rates);
      w.ltcProxy.setFaults(rates);
      const sockets = w.evmProxy.dropSockets();
      await sleep(20_000);
      w.evmProxy.setFaults({});
      w.ltcProxy.setFaults({});
      const s = [w.evmProxy.stats(), w.ltcProxy.stats()];
      const sum = (k: 'drop' | 'delay' | 'timeout' | 'stale' | 'wrong' | 'passed') => s[0]![k] + s[1]![k];
      return `RPC proxies for 20 s: ${sum('drop')} dropped, ${sum('delay')} delayed, ${sum('timeout')} timed out, ${sum('stale')} stale, ${sum('wrong')} wrong, ${sockets} websocket(s) cut (${sum('passed')} passed so far)`;
    },
  },
  {
    name: 'webhook-receiver-down',
    async run(w) {
      const downMs = Number(process.env.FAULTS_WEBHOOK_DOWN_MS ?? 120_000);
      await w.receiver.down();
      await sleep(downMs);
      await w.receiver.up();
      return `webhook receiver refused connections for ${downMs / 1000} s`;
    },
  },
  {
    name: 'reorg',
    async run(w, load) {
      // A quiet chain, a payment from an account of its own (the reorg takes its nonce back, which
      // the faucet must not trip on), then the block holding it replaced by an empty one.
      load.paused = true;
      load.evmMinerPaused = true;
      try {
        await sleep(2000);
        const key = anvilAccount(7);
        const evm = w.chains.evmRpc;
        const pay = (address: string, amount: bigint) => sendUnsimulated(evm, key, address, '0x', amount);
        const p: PaymentCase = await load.pay(load.merchants[1]!, 'dev-evm:ETH', pay);
        const dropped = p.txs[0]!.hash;
        await retry('reorg payment seen', async () => {
          const d = await w.as(p.merchant.key, 'query($id: ID!) { payment(id: $id) { deposits { txHash } } }', { id: p.id });
          if (!d.payment.deposits.length) throw new Error('not seen yet');
        });
        const receipt = await evm.call<{ blockNumber: string }>('eth_getTransactionReceipt', [dropped]);
        const tip = Number(await evm.call<string>('eth_blockNumber', []));
        const depth = tip - Number(receipt.blockNumber) + 1;
        await evm.call('anvil_reorg', [depth, []]);
        await retry('deposit REORGED', async () => {
          const d = await w.as(p.merchant.key, 'query($id: ID!) { payment(id: $id) { deposits { status } } }', { id: p.id });
          if (!d.payment.deposits.some((x: { status: string }) => x.status === 'REORGED')) throw new Error('not reorged yet');
        });
        // The customer's wallet sends the payment again: the same nonce, so most likely the very
        // same transaction (a rebroadcast); the checks credit whatever the chain holds in the end.
        const again = await pay(p.address, p.amount);
        if (again !== dropped) p.txs.push({ hash: again, amount: p.amount });
        const how = again === dropped ? 'the same transaction sent again' : `paid again in ${again.slice(0, 10)}`;
        return `anvil reorg of depth ${depth} dropped payment ${p.id.slice(0, 8)}'s deposit (${dropped.slice(0, 10)}); REORGED, then ${how}`;
      } finally {
        load.paused = false;
        load.evmMinerPaused = false;
      }
    },
  },
];
