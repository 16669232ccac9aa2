/**
 * The three operations Shutter decryption spends its time in, behind one interface, so the block
 * rule can run them on `@noble/curves` (pure JS, audited, always there) or on `mcl-wasm`
 * (herumi's mcl compiled to WASM; `palisade bench fair-ordering` measures it about 2–3× faster per
 * pairing on this machine). ./pairing-backend.test.ts requires both to give identical bytes on
 * random and published inputs.
 *
 * Points cross the interface compressed (48-byte G1, 96-byte G2, the ZCash/IETF encoding both
 * libraries read), and GT as the 576 bytes shcrypto hashes: blst's `fp12 → big-endian` order,
 * Fp2 slot k of the first Fp6 half then of the second, each Fp2 as (c0, c1).
 *
 * @chainsafe/blst was the other candidate: its Node binding exposes BLS signatures only (verify,
 * aggregate), not a pairing value in GT, which H2 needs; so it cannot decrypt.
 */
import { pippenger } from '@noble/curves/abstract/curve.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { invariant } from '../../codec/invariant.ts';

export interface PairingBackend {
  readonly name: 'noble' | 'mcl-wasm';
  /** e(P, Q) as 576 bytes in shcrypto's order; `undefined` when either point does not decode into its group. */
  pairingBytes(g1: Uint8Array, g2: Uint8Array): Uint8Array | undefined;
  /** r·g2, compressed. */
  g2BaseMultiply(scalar: bigint): Uint8Array;
  /** s·P, compressed; `undefined` when P does not decode. */
  g1Multiply(g1: Uint8Array, scalar: bigint): Uint8Array | undefined;
  /** Σ s_i·P_i, compressed (the identity encodes as 0xc0 ‖ 0…); `undefined` when a point does not decode. */
  g1MultiScalar(points: readonly Uint8Array[], scalars: readonly bigint[]): Uint8Array | undefined;
  /** e(A, g2) = e(B, Q): the check every key and share verification reduces to. `false` on bad input. */
  pairingEquals(a: Uint8Array, b: Uint8Array, q: Uint8Array): boolean;
  /**
   * e(P, Q) computed once; the function returned raises it to a scalar, in shcrypto's 576-byte
   * order: e(P, Q)^r = e(r·P, Q), what encryption to one identity needs per message. A power in
   * GT costs less than a pairing (mcl-wasm: about a fifth, measured). `undefined` on bad points.
   */
  preparePairing(g1: Uint8Array, g2: Uint8Array): ((scalar: bigint) => Uint8Array) | undefined;
}

const Fp = bls12_381.fields.Fp;
const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
export const GT_BYTES = 576;

/** Noble's GT element in shcrypto's byte order. */
export function nobleGtBytes(value: ReturnType<typeof bls12_381.pairing>): Uint8Array {
  const out = new Uint8Array(GT_BYTES);
  const halves = [value.c0, value.c1];
  let offset = 0;
  for (let k = 0; k < 3; k++) {
    for (const half of halves) {
      const fp2 = k === 0 ? half.c0 : k === 1 ? half.c1 : half.c2;
      out.set(Fp.toBytes(fp2.c0), offset);
      out.set(Fp.toBytes(fp2.c1), offset + 48);
      offset += 96;
    }
  }
  return out;
}

function tryDecode<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}

export const nobleBackend: PairingBackend = Object.freeze({
  name: 'noble',
  pairingBytes(g1: Uint8Array, g2: Uint8Array) {
    const p = tryDecode(() => G1.fromBytes(g1));
    const q = tryDecode(() => G2.fromBytes(g2));
    if (p === undefined || q === undefined || p.is0() || q.is0()) return undefined;
    return nobleGtBytes(bls12_381.pairing(p, q));
  },
  g2BaseMultiply(scalar: bigint) {
    return G2.BASE.multiply(scalar).toBytes(true);
  },
  g1Multiply(g1: Uint8Array, scalar: bigint) {
    const p = tryDecode(() => G1.fromBytes(g1));
    return p === undefined ? undefined : p.multiply(scalar).toBytes(true);
  },
  g1MultiScalar(points: readonly Uint8Array[], scalars: readonly bigint[]) {
    invariant(points.length === scalars.length && points.length > 0, 'one scalar per point');
    const decoded = [];
    for (const bytes of points) {
      const point = tryDecode(() => G1.fromBytes(bytes));
      if (point === undefined) return undefined;
      decoded.push(point);
    }
    return pippenger(G1, decoded, [...scalars]).toBytes(true);
  },
  pairingEquals(a: Uint8Array, b: Uint8Array, q: Uint8Array) {
    const left = tryDecode(() => G1.fromBytes(a));
    const right = tryDecode(() => G1.fromBytes(b));
    const point = tryDecode(() => G2.fromBytes(q));
    if (left === undefined || right === undefined || point === undefined) return false;
    if (left.is0() || right.is0() || point.is0()) return false;
    const Fp12 = bls12_381.fields.Fp12;
    const product = bls12_381.pairingBatch([
      { g1: left, g2: G2.BASE.negate() },
      { g1: right, g2: point },
    ]);
    return Fp12.eql(product, Fp12.ONE);
  },
  preparePairing(g1: Uint8Array, g2: Uint8Array) {
    const p = tryDecode(() => G1.fromBytes(g1));
    const q = tryDecode(() => G2.fromBytes(g2));
    if (p === undefined || q === undefined || p.is0() || q.is0()) return undefined;
    const value = bls12_381.pairing(p, q);
    // A generic square-and-multiply in Fp12: about 0.8 of a pairing on noble (measured).
    return (scalar: bigint) => nobleGtBytes(bls12_381.fields.Fp12.pow(value, scalarOf(scalar)));
  },
} as const);

function scalarOf(scalar: bigint): bigint {
  invariant(scalar > 0n && scalar < bls12_381.fields.Fr.ORDER, 'scalar must be in [1, q)');
  return scalar;
}

function scalarBytes(scalar: bigint): Uint8Array {
  invariant(scalar > 0n && scalar < bls12_381.fields.Fr.ORDER, 'scalar must be in [1, q)');
  return bls12_381.fields.Fr.toBytes(scalar);
}

/**
 * Loads mcl-wasm for BLS12-381 with the Ethereum (ZCash) point encoding and subgroup checks on
 * every decoded point. mcl keeps one global curve per process; Palisade uses only BLS12-381.
 */
export async function createMclBackend(): Promise<PairingBackend> {
  const mcl = await import('mcl-wasm');
  await mcl.init(mcl.BLS12_381);
  mcl.setETHserialization(true);
  mcl.verifyOrderG1(true);
  mcl.verifyOrderG2(true);
  const g2Base = new mcl.G2();
  g2Base.deserialize(G2.BASE.toBytes(true));
  const fr = (scalar: bigint) => {
    const value = new mcl.Fr();
    value.setBigEndianMod(scalarBytes(scalar));
    return value;
  };
  const g1Of = (bytes: Uint8Array) =>
    tryDecode(() => {
      const point = new mcl.G1();
      point.deserialize(bytes);
      return point.isZero() ? undefined : point;
    });
  const g2Of = (bytes: Uint8Array) =>
    tryDecode(() => {
      const point = new mcl.G2();
      point.deserialize(bytes);
      return point.isZero() ? undefined : point;
    });
  // mcl writes half h, slot k, each Fp2 as (c1, c0); shcrypto wants slot k, half h, (c0, c1).
  const gtBytes = (value: InstanceType<typeof mcl.GT>) => {
    const raw = value.serialize();
    invariant(raw.length === GT_BYTES, 'mcl GT size');
    const out = new Uint8Array(GT_BYTES);
    for (let half = 0; half < 2; half++)
      for (let slot = 0; slot < 3; slot++)
        for (let component = 0; component < 2; component++) {
          const from = (half * 6 + slot * 2 + (1 - component)) * 48;
          out.set(raw.subarray(from, from + 48), (slot * 4 + half * 2 + component) * 48);
        }
    return out;
  };
  return Object.freeze({
    name: 'mcl-wasm' as const,
    pairingBytes(g1: Uint8Array, g2: Uint8Array) {
      const p = g1Of(g1);
      const q = g2Of(g2);
      if (p === undefined || q === undefined) return undefined;
      return gtBytes(mcl.pairing(p, q));
    },
    preparePairing(g1: Uint8Array, g2: Uint8Array) {
      const p = g1Of(g1);
      const q = g2Of(g2);
      if (p === undefined || q === undefined) return undefined;
      const value = mcl.pairing(p, q);
      return (scalar: bigint) => gtBytes(mcl.pow(value, fr(scalar)));
    },
    g2BaseMultiply(scalar: bigint) {
      return mcl.mul(g2Base, fr(scalar)).serialize();
    },
    g1Multiply(g1: Uint8Array, scalar: bigint) {
      const p = g1Of(g1);
      return p === undefined ? undefined : mcl.mul(p, fr(scalar)).serialize();
    },
    g1MultiScalar(points: readonly Uint8Array[], scalars: readonly bigint[]) {
      invariant(points.length === scalars.length && points.length > 0, 'one scalar per point');
      const decoded = [];
      for (const bytes of points) {
        const point = tryDecode(() => {
          const value = new mcl.G1();
          value.deserialize(bytes);
          return value;
        });
        if (point === undefined) return undefined;
        decoded.push(point);
      }
      return mcl.mulVec(decoded, scalars.map(fr)).serialize();
    },
    pairingEquals(a: Uint8Array, b: Uint8Array, q: Uint8Array) {
      const left = g1Of(a);
      const right = g1Of(b);
      const point = g2Of(q);
      if (left === undefined || right === undefined || point === undefined) return false;
      const product = mcl.mul(mcl.millerLoop(mcl.neg(left), g2Base), mcl.millerLoop(right, point));
      return mcl.finalExp(product).isOne();
    },
  });
}
