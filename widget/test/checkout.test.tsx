/** @jest-environment jsdom */
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { Checkout } from '../src/Checkout';
import { backoffMs, resolveApiUrl } from '../src/api';
import { en } from '../src/strings';
import type { CheckoutPayment } from '../src/types';
import { NOW, fakeSource, payment, tron } from './fixtures';

const now = () => NOW;

async function show(p: CheckoutPayment | null | Error) {
  const fake = fakeSource(p);
  const view = render(<Checkout token="tok" source={fake.source} now={now} />);
  await waitFor(() => expect(view.container.querySelector('.cpg-loading')).toBeNull());
  return { ...fake, view, main: () => view.container.querySelector('main')! };
}

const status = () => screen.getByTestId('status').textContent;
const qrUri = async () => (await screen.findByTestId('qr')).getAttribute('data-uri');

describe('Checkout states', () => {
  it('waiting: amount, coin and network, address, copy buttons, QR of paymentUri, countdown', async () => {
    const p = payment();
    const { main } = await show(p);
    expect(main().dataset.state).toBe('waiting');
    expect(status()).toBe(en.status.PENDING);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(en.paymentHeading);
    expect(screen.getByText('Order #42')).toBeTruthy();
    expect(screen.getByTestId('amount').textContent).toBe('25 USDT');
    expect(screen.getByTestId('network').textContent).toContain('USDT on Ethereum');
    expect(screen.getByTestId('network').textContent).toContain('ERC-20 token');
    expect(screen.getByTestId('address').textContent).toBe(p.address.address);
    expect(screen.getByRole('button', { name: en.copyAddress })).toBeTruthy();
    expect(screen.getByRole('button', { name: en.copyAmount })).toBeTruthy();
    expect(await qrUri()).toBe(p.paymentUri);
    expect(screen.getByRole('img', { name: en.qrAlt('USDT', '25') }).getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    expect(screen.getByRole('timer').textContent).toBe('14:05');
    expect(screen.getByText(en.sendOnlyWarning('USDT', 'Ethereum'))).toBeTruthy();
  });

  it("the merchant's name heads the page when the payment carries it", async () => {
    await show(payment({ merchant: { name: 'Corner Shop' } }));
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(en.payTo('Corner Shop'));
  });

  it('a Tron token says Tron and TRC-20, not Ethereum', async () => {
    await show(tron());
    const network = screen.getByTestId('network').textContent!;
    expect(network).toContain('USDT on Tron');
    expect(network).toContain('TRC-20 token');
    expect(network).not.toMatch(/Ethereum|ERC-20/);
    expect(screen.getByText(en.sendOnlyWarning('USDT', 'Tron'))).toBeTruthy();
  });

  it('partially paid: the amount still due, and a QR for the remainder', async () => {
    const remainder = 'ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x1111111111111111111111111111111111111111&uint256=15000000';
    const { main } = await show(payment({ status: 'PARTIALLY_PAID', amountReceived: '10', amountDue: '15', paymentUri: remainder }));
    expect(main().dataset.state).toBe('partial');
    expect(status()).toBe(en.status.PARTIALLY_PAID);
    expect(screen.getByText(en.amountDueLabel)).toBeTruthy();
    expect(screen.getByTestId('amount').textContent).toBe('15 USDT');
    expect(screen.getByText(en.partialHelp('15', 'USDT'))).toBeTruthy();
    expect(screen.getByText(/Received: 10 USDT/)).toBeTruthy();
    expect(await qrUri()).toBe(remainder);
    expect(screen.getByRole('img', { name: en.qrAlt('USDT', '15') })).toBeTruthy();
  });

  it('confirming: n of m confirmations, no QR inviting a second payment', async () => {
    const { main } = await show(
      payment({ status: 'CONFIRMING', amountReceived: '25', amountDue: '0', deposits: [{ id: 'd', amount: '25', confirmations: 3, status: 'SEEN' }] }),
    );
    expect(main().dataset.state).toBe('confirming');
    expect(screen.getByTestId('confirmations').textContent).toBe(en.confirmations(3, 12));
    expect((screen.getByRole('progressbar') as HTMLProgressElement).value).toBe(3);
    expect(screen.queryByTestId('qr')).toBeNull();
    expect(screen.queryByRole('timer')).toBeNull();
  });

  it('paid, and paid late', async () => {
    const { main, view } = await show(payment({ status: 'PAID', amountReceived: '25', amountConfirmed: '25', amountDue: '0' }));
    expect(main().dataset.state).toBe('paid');
    expect(screen.getByText(en.paidHelp)).toBeTruthy();
    expect(screen.queryByTestId('address')).toBeNull();
    view.unmount();
    await show(payment({ status: 'PAID', paidLate: true, amountReceived: '25', amountDue: '0' }));
    expect(screen.getByText(en.paidLateHelp)).toBeTruthy();
  });

  it('overpaid: how much more than requested, computed exactly', async () => {
    const { main } = await show(payment({ status: 'OVERPAID', amount: '0.1', amountReceived: '0.3', amountDue: '0' }));
    expect(main().dataset.state).toBe('overpaid');
    expect(screen.getByText(en.overpaidHelp('0.2', 'USDT'))).toBeTruthy();
  });

  it('expired, with what was received', async () => {
    const { main } = await show(payment({ status: 'EXPIRED', amountReceived: '5', amountDue: '20' }));
    expect(main().dataset.state).toBe('expired');
    expect(screen.getByText(en.expiredHelp)).toBeTruthy();
    expect(screen.getByText(en.expiredReceivedHelp('5', 'USDT'))).toBeTruthy();
    expect(screen.queryByTestId('qr')).toBeNull();
  });

  it('on hold', async () => {
    const { main } = await show(payment({ status: 'ON_HOLD', amountReceived: '25', amountDue: '0' }));
    expect(main().dataset.state).toBe('on_hold');
    expect(screen.getByText(en.onHoldHelp)).toBeTruthy();
  });

  it('cancelled', async () => {
    await show(payment({ status: 'CANCELLED' }));
    expect(screen.getByText(en.cancelledHelp)).toBeTruthy();
    expect(screen.queryByTestId('address')).toBeNull();
  });

  it('network unavailable: says so, and still shows how to pay', async () => {
    const p = payment();
    const { main } = await show({ ...p, coin: { ...p.coin, network: { ...p.coin.network, status: { available: false } } } });
    expect(main().dataset.state).toBe('network_unavailable');
    expect(screen.getByText(en.networkDownTitle('Ethereum'))).toBeTruthy();
    expect(await qrUri()).toBe(p.paymentUri);
  });

  it('network unavailable while partly paid: still asks for the remainder', async () => {
    const p = payment({ status: 'PARTIALLY_PAID', amountReceived: '10', amountDue: '15' });
    await show({ ...p, coin: { ...p.coin, network: { ...p.coin.network, status: { available: false } } } });
    expect(screen.getByText(en.networkDownTitle('Ethereum'))).toBeTruthy();
    expect(screen.getByTestId('amount').textContent).toBe('15 USDT');
    expect(screen.getByText(en.partialHelp('15', 'USDT'))).toBeTruthy();
  });

  it('unknown token: not found, from the read or from the subscription', async () => {
    const { main, view } = await show(null);
    expect(main().dataset.state).toBe('not_found');
    expect(screen.getByRole('heading', { name: en.notFoundTitle })).toBeTruthy();
    view.unmount();
    const second = await show(payment());
    act(() => second.emit({ type: 'not_found' }));
    expect(second.main().dataset.state).toBe('not_found');
  });

  it('service unreachable: an error with a retry button, then the payment', async () => {
    const fake = await show(new Error('fetch failed'));
    expect(fake.main().dataset.state).toBe('error');
    fake.answer(payment());
    fireEvent.click(screen.getByRole('button', { name: en.retry }));
    await waitFor(() => expect(fake.main().dataset.state).toBe('waiting'));
  });
});

describe('live updates', () => {
  it('pushed updates change the page without a reload and are announced in the live region', async () => {
    const { emit, main } = await show(payment());
    const live = main().querySelector('[aria-live="polite"]')!;
    expect(live.textContent).toBe('');
    act(() =>
      emit({
        type: 'update',
        event: 'deposit_seen',
        payment: payment({ status: 'PARTIALLY_PAID', amountReceived: '10', amountDue: '15', updatedAt: new Date(NOW + 1000).toISOString() }),
      }),
    );
    expect(main().dataset.state).toBe('partial');
    expect(live.textContent).toBe(en.announce(en.status.PARTIALLY_PAID));
    act(() => emit({ type: 'update', event: 'paid', payment: payment({ status: 'PAID', amountDue: '0', updatedAt: new Date(NOW + 2000).toISOString() }) }));
    expect(live.textContent).toBe(en.announce(en.status.PAID));
  });

  it('a lost connection is shown; the reconnect refetches and the banner goes', async () => {
    const fake = await show(payment());
    const loads = fake.source.loads;
    act(() => fake.emit({ type: 'disconnected' }));
    expect(screen.getByRole('alert').textContent).toBe(en.connectionLost);
    fake.answer(payment({ status: 'PAID', amountDue: '0', updatedAt: new Date(NOW + 5000).toISOString() }));
    act(() => fake.emit({ type: 'connected' }));
    await waitFor(() => expect(fake.main().dataset.state).toBe('paid'));
    expect(fake.source.loads).toBe(loads + 1);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('an older read never overwrites a newer pushed update', async () => {
    const fake = await show(payment());
    act(() =>
      fake.emit({ type: 'update', event: 'paid', payment: payment({ status: 'PAID', amountDue: '0', updatedAt: new Date(NOW + 9000).toISOString() }) }),
    );
    act(() => fake.emit({ type: 'connected' }));
    await waitFor(() => expect(fake.source.loads).toBeGreaterThan(1));
    await act(async () => undefined);
    expect(fake.main().dataset.state).toBe('paid');
  });

  it('unsubscribes on unmount', async () => {
    const fake = await show(payment());
    expect(fake.source.watching()).toBe(1);
    fake.view.unmount();
    expect(fake.source.watching()).toBe(0);
  });
});

describe('details', () => {
  it('copy buttons write to the clipboard and announce it', async () => {
    const writeText = jest.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { main } = await show(payment());
    await act(async () => fireEvent.click(screen.getByRole('button', { name: en.copyAddress })));
    expect(writeText).toHaveBeenCalledWith('0x1111111111111111111111111111111111111111');
    expect(main().querySelector('[aria-live="polite"]')!.textContent).toBe(en.copiedAddress);
    await act(async () => fireEvent.click(within(main()).getByRole('button', { name: en.copyAmount })));
    expect(writeText).toHaveBeenLastCalledWith('25');
  });

  it('the countdown ticks and ends with "time is up"', async () => {
    jest.useFakeTimers({ now: NOW, doNotFake: ['queueMicrotask', 'nextTick'] });
    try {
      const fake = fakeSource(payment({ expiresAt: new Date(NOW + 2000).toISOString() }));
      render(<Checkout token="tok" source={fake.source} />);
      await act(async () => undefined);
      expect(screen.getByRole('timer').textContent).toBe('0:02');
      act(() => jest.advanceTimersByTime(3000));
      expect(screen.getByRole('timer').textContent).toBe(en.expiredNow);
    } finally {
      jest.useRealTimers();
    }
  });

  it('an open amount (null) reads "any amount" and asks for no exact amount', async () => {
    await show(payment({ amount: null, amountDue: null }));
    expect(screen.getByTestId('amount').textContent).toBe(`${en.openAmount} USDT`);
    expect(screen.getByText(en.waitingOpenHelp)).toBeTruthy();
    expect(document.body.textContent).not.toMatch(/exact amount/);
  });

  it('api: endpoint from ?api=, then the build setting, then same-origin; jittered capped backoff', () => {
    expect(resolveApiUrl('?api=http://gw:4000/graphql', undefined, 'http://a')).toBe('http://gw:4000/graphql');
    expect(resolveApiUrl('', 'https://pay.example/graphql', 'http://a')).toBe('https://pay.example/graphql');
    expect(resolveApiUrl('', undefined, 'http://a:5173')).toBe('http://a:5173/graphql');
    expect(backoffMs(0, () => 1)).toBe(500);
    expect(backoffMs(3, () => 1)).toBe(4000);
    expect(backoffMs(30, () => 1)).toBe(30_000);
    expect(backoffMs(30, () => 0)).toBe(0);
  });
});
