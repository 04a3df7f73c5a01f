// Child process of bench/payments/payments.ts: holds the subscribers, so the gateway's process
// measures only its own side. Plain JS so it starts without a TypeScript loader.
// argv: url secret paymentId count perConnection. Talks to the parent over IPC.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, secret, paymentId, countArg, perArg] = process.argv.slice(2);
const count = Number(countArg);
const perConnection = Number(perArg);
const QUERY = 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { id status } } }';

const clients = [];
const received = new Array(count).fill(0);
let errors = 0;
let firstError;

for (let i = 0; i < count; i += perConnection) {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${secret}` },
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  for (let j = i; j < Math.min(count, i + perConnection); j++) {
    client.subscribe(
      { query: QUERY, variables: { id: paymentId } },
      {
        next: (r) => {
          if (r.errors) {
            errors++;
            firstError ??= JSON.stringify(r.errors);
          } else if (!received[j]) received[j] = Date.now();
        },
        error: (e) => {
          errors++;
          firstError ??= String(e?.message ?? e?.reason ?? JSON.stringify(e));
        },
        complete: () => undefined,
      },
    );
  }
  // Spreads the handshakes so the gateway is not flooded by hundreds at once.
  if (clients.length % 10 === 0) await new Promise((r) => setTimeout(r, 250));
}

process.on('message', async (msg) => {
  if (msg === 'report') {
    const got = received.filter(Boolean);
    process.send({ received: got.length, last: got.length ? Math.max(...got) : 0, first: got.length ? Math.min(...got) : 0, errors, firstError });
  } else if (msg === 'reset') {
    received.fill(0);
    process.send({ reset: true });
  } else if (msg === 'stop') {
    await Promise.all(clients.map((c) => c.dispose()));
    process.exit(0);
  }
});
process.send({ started: true });
