import { JSONCodec } from 'nats';
import type { z } from 'zod';
import type { Bus } from '../bus';
import type { Logger } from '../logger';

const codec = JSONCodec();

/**
 * A read-only request-reply of one entity "as the merchant sees it", for the webhook dispatcher:
 * events carry identifiers, the owner of the entity answers with its snapshot. Kept beside the
 * webhooks rather than in the bus catalogue so both sides share one schema.
 */
export function snapshotRpc<Req extends z.ZodTypeAny, Reply extends z.ZodTypeAny>(name: string, request: Req, reply: Reply) {
  return {
    name,
    /**
     * Owner side: answers in a queue group so any replica may serve. `handler` is called once per
     * request and again for each retry by the asker, so it must be read-only.
     */
    serve(bus: Bus, log: Logger, handler: (req: z.infer<Req>) => Promise<z.infer<Reply>>) {
      return bus.nc.subscribe(bus.rpcSubject(name), {
        queue: name,
        callback: (err, msg) => {
          if (err) return;
          void (async () => {
            try {
              const req = request.parse(codec.decode(msg.data));
              msg.respond(codec.encode({ ok: true, body: reply.parse(await handler(req)) }));
            } catch (e) {
              log.warn({ rpc: name, err: (e as Error).message }, 'rpc handler failed');
              msg.respond(codec.encode({ ok: false, error: (e as Error).message }));
            }
          })();
        },
      });
    },
    /** Asker side: throws on timeout, no responder or a failed handler, so the caller retries. */
    async request(bus: Bus, req: z.infer<Req>, timeoutMs = 5000): Promise<z.infer<Reply>> {
      const res = await bus.nc.request(bus.rpcSubject(name), codec.encode(request.parse(req)), { timeout: timeoutMs });
      const body = codec.decode(res.data) as { ok: boolean; body?: unknown; error?: string };
      if (!body.ok) throw new Error(`rpc ${name} failed: ${body.error}`);
      return reply.parse(body.body);
    },
  };
}
