import { useState } from 'react';
import type { CheckoutPayment } from '../types';

// Developer-facing, never shown to customers, and kept here rather than in strings.ts so that
// production bundles carry none of it.
const s = {
  title: 'Dev only: simulate a payment',
  full: 'Pay the full amount',
  half: 'Pay half',
  sending: 'Sending…',
  sent: (tx: string) => `Sent: ${tx}`,
  failed: (msg: string) => `Failed: ${msg}`,
};

/** Dev server only (see main.tsx): asks the Vite dev server's /__dev/fund to pay on the dev chain. */
export default function DevSimulate({ payment, token }: { payment: CheckoutPayment; token: string }) {
  const [state, setState] = useState<{ busy: boolean; message: string }>({ busy: false, message: '' });
  if (!['PENDING', 'PARTIALLY_PAID', 'EXPIRED'].includes(payment.status)) return null;
  const pay = async (part: 'full' | 'half') => {
    setState({ busy: true, message: s.sending });
    try {
      const res = await fetch('/__dev/fund', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, part }) });
      const body = (await res.json()) as { txHash?: string; error?: string };
      setState({ busy: false, message: body.txHash ? s.sent(body.txHash) : s.failed(body.error ?? `HTTP ${res.status}`) });
    } catch (err) {
      setState({ busy: false, message: s.failed((err as Error).message) });
    }
  };
  return (
    <section className="cpg-dev" aria-label={s.title}>
      <p className="cpg-label">{s.title}</p>
      <div className="cpg-dev-buttons">
        <button type="button" className="cpg-button" disabled={state.busy} onClick={() => void pay('full')}>
          {s.full}
        </button>
        <button type="button" className="cpg-button" disabled={state.busy} onClick={() => void pay('half')}>
          {s.half}
        </button>
      </div>
      <p className="cpg-dev-result" role="status">
        {state.message}
      </p>
    </section>
  );
}
