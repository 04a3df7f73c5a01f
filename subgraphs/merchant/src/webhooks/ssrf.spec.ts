import { defaultRetrySchedule, loadWebhookConfig, retryDelayMs } from './config';
import { SecretBox } from './secrets';
import { checkEndpointUrl, refusalReason } from './ssrf';
import { WEBHOOK_EVENTS, webhookTypeOfPaymentEvent, webhookTypeOfWithdrawalEvent, wants } from './catalogue';

describe('refusalReason', () => {
  it.each(['127.0.0.1', '127.5.5.5', '::1'])('refuses loopback %s in production only', (a) => {
    expect(refusalReason(a, { production: true })).toMatch(/loopback/);
    expect(refusalReason(a, { production: false })).toBeNull();
  });
  it.each(['10.0.0.1', '172.16.3.4', '192.168.1.1', '169.254.169.254', 'fe80::1', 'fd00::1', '0.0.0.0', '::ffff:10.0.0.1', '100.64.0.1'])(
    'refuses private or link-local %s everywhere',
    (a) => {
      expect(refusalReason(a, { production: true })).not.toBeNull();
      expect(refusalReason(a, { production: false })).not.toBeNull();
    },
  );
  it.each(['93.184.216.34', '2606:2800:220:1::1', '172.32.0.1'])('allows public %s', (a) => {
    expect(refusalReason(a, { production: true })).toBeNull();
  });
  it('judges a name by every address it resolves to, and refuses odd URLs', async () => {
    const resolve = async () => [{ address: '93.184.216.34', family: 4 }];
    await expect(checkEndpointUrl('https://hooks.example.test/x', { production: true, resolve })).resolves.toBeInstanceOf(URL);
    await expect(checkEndpointUrl('ftp://hooks.example.test/x', { production: true, resolve })).rejects.toThrow(/http/);
    await expect(checkEndpointUrl('https://u:p@hooks.example.test/x', { production: true, resolve })).rejects.toThrow(/credentials/);
    const failing = async () => {
      throw new Error('ENOTFOUND');
    };
    await expect(checkEndpointUrl('https://nowhere.test/', { production: true, resolve: failing })).rejects.toThrow(/does not resolve/);
  });
});

describe('retry schedule', () => {
  it('spans three days by default and ends', () => {
    const s = defaultRetrySchedule();
    expect(s.reduce((a, b) => a + b, 0)).toBe(3 * 24 * 3600_000);
    expect(s[0]).toBe(30_000);
    expect(Math.max(...s)).toBeLessThanOrEqual(12 * 3600_000);
    const cfg = { retryScheduleMs: [1000, 2000], jitter: 0.2 };
    expect(retryDelayMs(cfg, 1, () => 0.5)).toBe(1000);
    expect(retryDelayMs(cfg, 2, () => 1)).toBe(2400);
    expect(retryDelayMs(cfg, 2, () => 0)).toBe(1600);
    expect(retryDelayMs(cfg, 3)).toBeNull();
  });
});

describe('catalogue and secrets', () => {
  it('maps payment events to webhook types and filters', () => {
    expect(webhookTypeOfPaymentEvent('deposit_reorged')).toBe('deposit.reorged');
    expect(webhookTypeOfPaymentEvent('paid')).toBe('payment.paid');
    expect(webhookTypeOfPaymentEvent('cancelled')).toBeNull();
    expect(wants(null, 'payment.paid')).toBe(true);
    expect(wants(['payment.created'], 'payment.paid')).toBe(false);
    expect(wants(['withdrawal.*'], 'withdrawal.completed')).toBe(true);
  });
  it('maps withdrawal events to webhook types; internal steps and cancellation send nothing', () => {
    expect(webhookTypeOfWithdrawalEvent('requested')).toBe('withdrawal.created');
    expect(webhookTypeOfWithdrawalEvent('confirmed')).toBe('withdrawal.completed');
    expect(webhookTypeOfWithdrawalEvent('rejected')).toBe('withdrawal.rejected');
    expect(webhookTypeOfWithdrawalEvent('failed')).toBe('withdrawal.failed');
    for (const quiet of ['cancelled', 'batched', 'waiting_funds', 'signing', 'nonsense']) expect(webhookTypeOfWithdrawalEvent(quiet)).toBeNull();
    for (const e of ['requested', 'pending_approval', 'approved', 'rejected', 'broadcast', 'confirmed', 'failed'])
      expect(WEBHOOK_EVENTS).toContain(webhookTypeOfWithdrawalEvent(e));
  });
  it('takes WEBHOOK_ENCRYPTION_KEY for sealing when set, and refuses a short one', () => {
    expect(loadWebhookConfig({}).encryptionKey).toBeUndefined();
    expect(loadWebhookConfig({ WEBHOOK_ENCRYPTION_KEY: 'k'.repeat(32) }).encryptionKey).toBe('k'.repeat(32));
    expect(() => loadWebhookConfig({ WEBHOOK_ENCRYPTION_KEY: 'short' })).toThrow(/WEBHOOK_ENCRYPTION_KEY/);
  });
  it('seals and opens signing secrets; another master secret cannot open them', () => {
    const box = new SecretBox('a'.repeat(32));
    const sealed = box.seal('whsec_x');
    expect(sealed).not.toContain('whsec_x');
    expect(box.open(sealed)).toBe('whsec_x');
    expect(() => new SecretBox('b'.repeat(32)).open(sealed)).toThrow();
  });
});
