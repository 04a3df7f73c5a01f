// The widget's dev server as a process (npm start, the browser test): Vite is ESM-only and jest's
// module system cannot load it, so those run this under `node --import tsx` instead.
//   GATEWAY_URL  the gateway's GraphQL URL to proxy /graphql to (default http://127.0.0.1:4000/graphql)
//   PORT         listen port on 127.0.0.1 (default 5173; 0 = any free one)
//   FUND_URL     optional: where "Simulate payment" is forwarded (POST {token, part}) instead of the dev chains
import { devChainFunder } from './chain-funder';
import { type Funder, startWidgetDevServer } from './server';

function forwardFunder(url: string): Funder {
  return async (token, part) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, part }) });
    const body = (await res.json()) as { txHash?: string; error?: string };
    if (!body.txHash) throw new Error(body.error ?? `HTTP ${res.status}`);
    return body.txHash;
  };
}

async function main(): Promise<void> {
  const gatewayUrl = process.env.GATEWAY_URL || 'http://127.0.0.1:4000/graphql';
  const fund = process.env.FUND_URL ? forwardFunder(process.env.FUND_URL) : devChainFunder(gatewayUrl);
  const { server, url } = await startWidgetDevServer({ gatewayUrl, port: Number(process.env.PORT ?? 5173), fund });
  // The parent reads this line to learn the URL (the port may have been chosen by the OS).
  console.log(`widget: ready at ${url}`);
  const stop = () => void server.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  console.error(`widget: ${err.message}`);
  process.exit(1);
});
