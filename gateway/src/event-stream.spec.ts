import { EventStream } from './event-stream';

describe('EventStream', () => {
  it('serves buffered events in order, dropping the oldest beyond its capacity', async () => {
    const s = new EventStream<number>(2);
    s.push(1);
    s.push(2);
    s.push(3);
    expect(await s.next()).toEqual({ value: 2, done: false });
    expect(await s.next()).toEqual({ value: 3, done: false });
  });

  it('return() ends a pending next() at once and runs the cleanups once', async () => {
    const s = new EventStream<number>();
    const cleanup = jest.fn();
    s.onClose(cleanup);
    const pending = s.next();
    await s.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    s.end();
    s.push(1);
    expect(await s.next()).toEqual({ value: undefined, done: true });
    expect(cleanup).toHaveBeenCalledTimes(1);
  });

  it('an error ends the stream after what was already buffered', async () => {
    const s = new EventStream<number>();
    s.push(1);
    s.end(new Error('feed lost'));
    expect(await s.next()).toEqual({ value: 1, done: false });
    await expect(s.next()).rejects.toThrow('feed lost');
    expect(await s.next()).toEqual({ value: undefined, done: true });
  });
});
