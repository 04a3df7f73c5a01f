import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Plugin, type ViteDevServer, createServer, mergeConfig } from 'vite';
import { widgetConfig } from '../vite.shared';

export type FundPart = 'full' | 'half';
/** Pays `part` of what a checkout still asks for; resolves with the transaction (or event) id. */
export type Funder = (token: string, part: FundPart) => Promise<string>;

/** POST /__dev/fund {token, part}: the dev server's end of the checkout's "Simulate payment" control. Dev server only (apply: 'serve'). */
export function devFundPlugin(fund: Funder): Plugin {
  return {
    name: 'cpg-dev-fund',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/__dev/fund', (req: IncomingMessage, res: ServerResponse) => {
        const reply = (status: number, body: unknown) => {
          res.statusCode = status;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        };
        if (req.method !== 'POST') return reply(405, { error: 'POST only' });
        let raw = '';
        req.on('data', (c: Buffer) => {
          raw += c.toString();
          // A dev endpoint, still not a memory sink.
          if (raw.length > 10_000) req.destroy();
        });
        req.on('end', () => {
          let input: { token?: unknown; part?: unknown };
          try {
            input = JSON.parse(raw || '{}');
          } catch {
            return reply(400, { error: 'body must be JSON' });
          }
          if (typeof input.token !== 'string' || (input.part !== 'full' && input.part !== 'half'))
            return reply(400, { error: 'need {token, part: "full" | "half"}' });
          fund(input.token, input.part).then(
            (txHash) => reply(200, { txHash }),
            (err: Error) => reply(500, { error: err.message }),
          );
        });
      });
    },
  };
}

export interface WidgetDevServerOptions {
  /** The gateway that /graphql is proxied to. */
  gatewayUrl: string;
  port?: number;
  /** Backs "Simulate payment"; without it the control answers with an error. */
  fund?: Funder;
}

export async function startWidgetDevServer(opts: WidgetDevServerOptions): Promise<{ server: ViteDevServer; url: string }> {
  const fund: Funder = opts.fund ?? (async () => Promise.reject(new Error('no dev chain controls on this dev server')));
  const config = mergeConfig(widgetConfig(opts.gatewayUrl), {
    configFile: false,
    logLevel: 'warn',
    clearScreen: false,
    plugins: [devFundPlugin(fund)],
    server: { port: opts.port ?? 5173, strictPort: opts.port !== 0 },
  });
  const server = await createServer(config);
  await server.listen();
  const address = server.httpServer?.address();
  const port = address && typeof address === 'object' ? address.port : opts.port;
  return { server, url: `http://127.0.0.1:${port}` };
}
