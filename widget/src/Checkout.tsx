import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import QRCode from 'qrcode';
import { subtract } from './amount';
import { type Strings, en } from './strings';
import type { CheckoutPayment, CheckoutSource } from './types';
import { type ViewState, confirmationsOf, tokenStandardOf, viewStateOf } from './view';

export interface CheckoutProps {
  token: string;
  source: CheckoutSource;
  strings?: Strings;
  /** Rendered under the payment details; the app passes the dev-only simulator here, production builds nothing. */
  devTools?: (payment: CheckoutPayment, token: string) => ReactNode;
  /** For tests and screenshots; the page's clock otherwise. */
  now?: () => number;
}

type Phase = 'loading' | 'ready' | 'not_found' | 'error';

const RETRY_MAX_MS = 30_000;
const AWAITING: ViewState[] = ['waiting', 'partial', 'network_unavailable'];

/** The checkout page for one payment, kept live by `source`. */
export function Checkout({ token, source, strings = en, devTools, now = Date.now }: CheckoutProps) {
  const [payment, setPayment] = useState<CheckoutPayment | null>(null);
  const [phase, setPhase] = useState<Phase>('loading');
  const [online, setOnline] = useState(true);
  const [announcement, setAnnouncement] = useState('');
  const refreshRef = useRef<() => void>(() => undefined);

  // A slow load must not undo a newer pushed update.
  const apply = useCallback((p: CheckoutPayment) => {
    setPayment((old) => (old && old.id === p.id && Date.parse(old.updatedAt) > Date.parse(p.updatedAt) ? old : p));
    setPhase('ready');
  }, []);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const refresh = async () => {
      clearTimeout(timer);
      try {
        const p = await source.load(token);
        if (!alive) return;
        failures = 0;
        if (p) apply(p);
        else setPhase('not_found');
      } catch {
        if (!alive) return;
        setPhase((ph) => (ph === 'ready' ? ph : 'error'));
        const wait = Math.min(RETRY_MAX_MS, 1000 * 2 ** failures++) * (0.5 + Math.random() / 2);
        timer = setTimeout(() => void refresh(), wait);
      }
    };
    refreshRef.current = () => void refresh();
    void refresh();
    const stop = source.watch(token, (e) => {
      if (!alive) return;
      if (e.type === 'update') apply(e.payment);
      else if (e.type === 'not_found') setPhase('not_found');
      else if (e.type === 'disconnected') setOnline(false);
      else {
        setOnline(true);
        // Whatever happened while the channel was down arrives with this read.
        void refresh();
      }
    });
    return () => {
      alive = false;
      clearTimeout(timer);
      stop();
    };
  }, [token, source, apply]);

  const status = payment?.status;
  const lastStatus = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!status) return;
    if (lastStatus.current !== undefined && lastStatus.current !== status) setAnnouncement(strings.announce(strings.status[status] ?? status));
    lastStatus.current = status;
  }, [status, strings]);

  let body: ReactNode;
  if (phase === 'not_found') {
    body = <Notice tone="error" title={strings.notFoundTitle} text={strings.notFoundHelp} />;
  } else if (phase === 'error' && !payment) {
    body = (
      <Notice tone="error" title={strings.loadErrorTitle} text={strings.loadErrorHelp}>
        <button type="button" className="cpg-button" onClick={() => refreshRef.current()}>
          {strings.retry}
        </button>
      </Notice>
    );
  } else if (!payment) {
    body = (
      <p className="cpg-loading" aria-busy="true">
        {strings.loading}
      </p>
    );
  } else {
    body = <PaymentView payment={payment} strings={strings} now={now} onAnnounce={setAnnouncement} devTools={devTools?.(payment, token)} />;
  }

  const state = phase === 'ready' && payment ? viewStateOf(payment) : phase;
  return (
    <main className="cpg-checkout" data-state={state} aria-labelledby="cpg-title">
      {!online && (
        <p className="cpg-offline" role="alert">
          {strings.connectionLost}
        </p>
      )}
      {body}
      <div className="cpg-sr-only" role="status" aria-live="polite" aria-atomic="true">
        {announcement}
      </div>
    </main>
  );
}

function Notice({ tone, title, text, children }: { tone: 'error' | 'warning'; title: string; text: string; children?: ReactNode }) {
  return (
    <section className={`cpg-notice cpg-notice-${tone}`}>
      <h1 id="cpg-title" className="cpg-notice-title">
        {title}
      </h1>
      <p>{text}</p>
      {children}
    </section>
  );
}

function PaymentView({
  payment: p,
  strings: s,
  now,
  onAnnounce,
  devTools,
}: {
  payment: CheckoutPayment;
  strings: Strings;
  now: () => number;
  onAnnounce: (text: string) => void;
  devTools: ReactNode;
}) {
  const state = viewStateOf(p);
  const awaiting = AWAITING.includes(state);
  const symbol = p.coin.symbol;
  const network = p.coin.network;
  const standard = tokenStandardOf(p, s.tokenStandard);
  // Partly paid stays partly paid when the network is also down: the customer still needs the remainder.
  const partial = p.status === 'PARTIALLY_PAID';
  const shownAmount = partial ? p.amountDue : p.amount;
  const amountLabel = partial ? s.amountDueLabel : s.amountLabel;
  const merchant = p.merchant?.name;
  const { n, m } = confirmationsOf(p);

  return (
    <>
      <header className="cpg-header">
        <h1 id="cpg-title">{merchant ? s.payTo(merchant) : s.paymentHeading}</h1>
        {p.description && <p className="cpg-description">{p.description}</p>}
      </header>

      <section className={`cpg-status cpg-status-${state}`} aria-label={s.statusLabel}>
        <p className="cpg-badge" data-testid="status">
          <span className="cpg-dot" aria-hidden="true" />
          {s.status[p.status] ?? p.status}
        </p>
        {state === 'network_unavailable' && (
          <div className="cpg-network-down">
            <p className="cpg-strong">{s.networkDownTitle(network.name)}</p>
            <p>{s.networkDownHelp}</p>
          </div>
        )}
        {state === 'waiting' && <p>{p.amount === null ? s.waitingOpenHelp : s.waitingHelp}</p>}
        {partial && p.amountDue && <p>{s.partialHelp(p.amountDue, symbol)}</p>}
        {state === 'confirming' && (
          <>
            <p>{s.confirmingHelp}</p>
            <p className="cpg-strong" data-testid="confirmations">
              {s.confirmations(n, m)}
            </p>
            <progress className="cpg-progress" max={m} value={n} aria-label={s.confirmations(n, m)} />
          </>
        )}
        {state === 'paid' && <p>{p.paidLate ? s.paidLateHelp : s.paidHelp}</p>}
        {state === 'overpaid' && p.amount && <p>{s.overpaidHelp(subtract(p.amountReceived, p.amount, p.coin.decimals), symbol)}</p>}
        {state === 'expired' && (
          <>
            <p>{s.expiredHelp}</p>
            {p.amountReceived !== '0' && <p>{s.expiredReceivedHelp(p.amountReceived, symbol)}</p>}
          </>
        )}
        {state === 'on_hold' && <p>{s.onHoldHelp}</p>}
        {state === 'cancelled' && <p>{s.cancelledHelp}</p>}
      </section>

      <section className="cpg-amount" aria-label={amountLabel}>
        <p className="cpg-label">{amountLabel}</p>
        <p className="cpg-amount-value" data-testid="amount">
          <span>{shownAmount ?? s.openAmount}</span> <span className="cpg-symbol">{symbol}</span>
        </p>
        <p className="cpg-network" data-testid="network">
          {s.networkLine(symbol, network.name)}
          <span className="cpg-chip">{standard ?? s.nativeCoin}</span>
          {network.testnet && <span className="cpg-chip">{s.testnet}</span>}
        </p>
        {p.amountReceived !== '0' && p.amount && (
          <p className="cpg-received">
            {s.receivedLabel}: {p.amountReceived} {symbol} · {s.requestedLabel}: {p.amount} {symbol}
          </p>
        )}
        {awaiting && shownAmount && <CopyButton text={shownAmount} label={s.copyAmount} done={s.copiedAmount} strings={s} onAnnounce={onAnnounce} />}
      </section>

      {awaiting && (
        <>
          <Qr uri={p.paymentUri} alt={s.qrAlt(symbol, shownAmount)} walletLabel={s.openInWallet} />
          <section className="cpg-address" aria-label={s.addressLabel(symbol, network.name)}>
            <p className="cpg-label">{s.addressLabel(symbol, network.name)}</p>
            <code className="cpg-address-value" data-testid="address">
              {p.address.address}
            </code>
            <CopyButton text={p.address.address} label={s.copyAddress} done={s.copiedAddress} strings={s} onAnnounce={onAnnounce} />
            <p className="cpg-warning">{s.sendOnlyWarning(symbol, network.name)}</p>
          </section>
          <Countdown expiresAt={p.expiresAt} now={now} strings={s} />
        </>
      )}
      {devTools}
    </>
  );
}

function Qr({ uri, alt, walletLabel }: { uri: string; alt: string; walletLabel: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    // SVG: crisp at any zoom and no canvas needed; dark on white even in dark mode, which every scanner reads.
    QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 4, color: { dark: '#000000', light: '#ffffff' } })
      .then((svg) => alive && setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`))
      .catch(() => alive && setSrc(null));
    return () => {
      alive = false;
    };
  }, [uri]);
  return (
    <figure className="cpg-qr">
      {src ? <img src={src} alt={alt} width={232} height={232} data-testid="qr" data-uri={uri} /> : <div className="cpg-qr-placeholder" aria-hidden="true" />}
      <figcaption>
        <a href={uri} className="cpg-link">
          {walletLabel}
        </a>
      </figcaption>
    </figure>
  );
}

function CopyButton({
  text,
  label,
  done,
  strings,
  onAnnounce,
}: {
  text: string;
  label: string;
  done: string;
  strings: Strings;
  onAnnounce: (t: string) => void;
}) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      onAnnounce(done);
    } catch {
      onAnnounce(strings.copyFailed);
    }
  };
  return (
    <button type="button" className="cpg-button cpg-copy" onClick={() => void copy()} aria-describedby={id}>
      {copied ? strings.copied : label}
      <span id={id} hidden>
        {text}
      </span>
    </button>
  );
}

function formatLeft(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function Countdown({ expiresAt, now, strings: s }: { expiresAt: string; now: () => number; strings: Strings }) {
  const [t, setT] = useState(now);
  useEffect(() => {
    const i = setInterval(() => setT(now()), 1000);
    return () => clearInterval(i);
  }, [now]);
  const left = Date.parse(expiresAt) - t;
  const text = left > 0 ? formatLeft(left) : s.expiredNow;
  return (
    <p className={`cpg-countdown${left < 5 * 60_000 ? ' cpg-countdown-low' : ''}`}>
      <span className="cpg-label">{s.expiresIn}</span>{' '}
      <time role="timer" dateTime={expiresAt} aria-label={s.expiresInAria(text)} data-testid="countdown">
        {text}
      </time>
    </p>
  );
}
