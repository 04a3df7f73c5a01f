/**
 * keccak-f[1600] as a tiny WebAssembly module assembled here at load time (no binary blob, no
 * dependency). WebAssembly has 64-bit integers and a native rotate, so each lane is one local
 * and a rotation one instruction, where JavaScript needs two 32-bit halves and six operations:
 * the permutation runs several times faster than the unrolled JavaScript one in keccak.ts, which
 * stays as the fallback (big-endian hosts, WebAssembly disabled).
 *
 * Memory layout: bytes 0-199 the state (lane i = x + 5y at 8i, little-endian), bytes 256-447
 * the 24 round constants. The exported `f` permutes the state in place.
 */

// The repo compiles against ES2022 without DOM types, where WebAssembly is not declared; these
// are the few members used (the runtime global is Node's).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** Rotation amounts (rho) and destinations (pi) for lane i = x + 5y, from their definitions. */
export function rhoPi(): { rot: number[]; pi: number[] } {
  const rot = new Array<number>(25).fill(0);
  const pi = new Array<number>(25).fill(0);
  let x = 1;
  let y = 0;
  for (let t = 0; t < 24; t++) {
    rot[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
    [x, y] = [y, (2 * x + 3 * y) % 5];
  }
  for (let i = 0; i < 25; i++) pi[i] = Math.floor(i / 5) + 5 * ((2 * (i % 5) + 3 * Math.floor(i / 5)) % 5);
  return { rot, pi };
}

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];

// The opcodes used, from the WebAssembly binary format.
const OP = {
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i64Const: 0x42,
  i64Load: 0x29,
  i64Store: 0x37,
  i64And: 0x83,
  i64Xor: 0x85,
  i64Rotl: 0x89,
  i32Add: 0x6a,
  i32LtU: 0x49,
  loop: 0x03,
  brIf: 0x0d,
  end: 0x0b,
  void: 0x40,
  i64: 0x7e,
  i32: 0x7f,
} as const;

function permutationBody(): number[] {
  const { rot, pi } = rhoPi();
  // locals: a0-24, b25-49, c50-54, d55-59 (i64), r60 (i32, byte offset of the round constant)
  const a = (i: number) => i;
  const b = (i: number) => 25 + i;
  const c = (x: number) => 50 + x;
  const d = (x: number) => 55 + x;
  const r = 60;
  const get = (l: number) => [OP.localGet, l];
  const set = (l: number) => [OP.localSet, l];
  const code: number[] = [];
  for (let i = 0; i < 25; i++) code.push(OP.i32Const, 0, OP.i64Load, 3, ...uleb(8 * i), ...set(a(i)));
  code.push(OP.loop, OP.void);
  // theta
  for (let x = 0; x < 5; x++)
    code.push(
      ...get(a(x)),
      ...get(a(x + 5)),
      OP.i64Xor,
      ...get(a(x + 10)),
      OP.i64Xor,
      ...get(a(x + 15)),
      OP.i64Xor,
      ...get(a(x + 20)),
      OP.i64Xor,
      ...set(c(x)),
    );
  for (let x = 0; x < 5; x++) code.push(...get(c((x + 4) % 5)), ...get(c((x + 1) % 5)), OP.i64Const, 1, OP.i64Rotl, OP.i64Xor, ...set(d(x)));
  // theta's column term, then rho and pi in one step: b[pi(i)] = rotl(a[i] ^ d[x], rot(i))
  for (let i = 0; i < 25; i++) {
    code.push(...get(a(i)), ...get(d(i % 5)), OP.i64Xor);
    // i64.const takes signed LEB128, which for 0-63 is the same single byte as unsigned
    if (rot[i]) code.push(OP.i64Const, ...uleb(rot[i]!), OP.i64Rotl);
    code.push(...set(b(pi[i]!)));
  }
  // chi: a[x] = b[x] ^ (~b[x+1] & b[x+2]), with ~v as v ^ -1 (0x7f is -1 in signed LEB128)
  for (let y = 0; y < 25; y += 5) {
    for (let x = 0; x < 5; x++) {
      code.push(
        ...get(b(y + x)),
        ...get(b(y + ((x + 1) % 5))),
        OP.i64Const,
        0x7f,
        OP.i64Xor,
        ...get(b(y + ((x + 2) % 5))),
        OP.i64And,
        OP.i64Xor,
        ...set(a(y + x)),
      );
    }
  }
  // iota, then the next round while r < 192
  code.push(...get(a(0)), ...get(r), OP.i64Load, 3, ...uleb(256), OP.i64Xor, ...set(a(0)));
  code.push(...get(r), OP.i32Const, 8, OP.i32Add, OP.localTee, r, OP.i32Const, ...[0xc0, 0x01], OP.i32LtU, OP.brIf, 0, OP.end);
  for (let i = 0; i < 25; i++) code.push(OP.i32Const, 0, ...get(a(i)), OP.i64Store, 3, ...uleb(8 * i));
  code.push(OP.end);
  const locals = [2, ...uleb(60), OP.i64, 1, OP.i32];
  return [...locals, ...code];
}

function moduleBytes(): Uint8Array {
  const body = permutationBody();
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 0, 0]), // one type: () -> ()
    ...section(3, [1, 0]), // one function of that type
    ...section(5, [1, 0x00, 1]), // one memory of one page, no maximum
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('f'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** The wasm permutation over its own state view, or null where it cannot be used. */
export function createWasmPermutation(roundConstants: Int32Array): { state: Int32Array; permute: () => void } | null {
  // Typed-array views use the host's byte order; the wasm state is little-endian.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1 || typeof WebAssembly === 'undefined') return null;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), {});
    const { memory, f } = instance.exports as { memory: { buffer: ArrayBuffer }; f: () => void };
    new Int32Array(memory.buffer, 256, 48).set(roundConstants);
    return { state: new Int32Array(memory.buffer, 0, 50), permute: f };
  } catch {
    return null;
  }
}
