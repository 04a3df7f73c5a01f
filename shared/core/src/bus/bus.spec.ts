import { natsUrlParts } from './bus';

describe('natsUrlParts', () => {
  it('splits the credentials out of one URL', () => {
    expect(natsUrlParts('nats://tracker:p%40ss@nats:4222')).toEqual({
      server: 'nats://nats:4222',
      servers: ['nats://nats:4222'],
      user: 'tracker',
      pass: 'p@ss',
    });
  });

  it('lists every node of a cluster, credentials from the first URL carrying them, none left in the servers', () => {
    const parts = natsUrlParts('nats://n1:4222, nats://gateway:pw@n2:4222,nats://other:x@n3:4222');
    expect(parts.servers).toEqual(['nats://n1:4222', 'nats://n2:4222', 'nats://n3:4222']);
    expect([parts.user, parts.pass]).toEqual(['gateway', 'pw']);
    expect(parts.server).not.toContain('pw');
  });

  it('refuses a list with no server', () => {
    expect(() => natsUrlParts(' , ')).toThrow(/names no server/);
  });
});
