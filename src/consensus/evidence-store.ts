/**
 * Where the engine keeps equivocation evidence (spec §9): in storage, so what the API serves
 * survives a restart, and bounded, so one Byzantine validator equivocating in every view cannot
 * grow memory or disk. Of each offender the first {@link EVIDENCE_PER_OFFENDER_MAX} pieces are
 * kept (one proves the offence; a few show its pattern), and beyond them only a count, so the
 * total is at most that many per validator and every offender's evidence is still recorded however
 * much another one produces.
 *
 * Layout: `consensus/evidence/<signer>/<sequence>` holds an encoded `Evidence`;
 * `consensus/evidence-count/<signer>` the number of distinct conflicts seen (u64 big-endian). The
 * records become durable with the engine's next sync; evidence is not needed for safety, so a
 * crash before it loses nothing a peer's copy does not still prove.
 */
import { type Evidence, EvidenceCodec } from '../codec/consensus.ts';
import type { Storage } from '../runtime/types.ts';
import { conflictOf } from './evidence.ts';

/** Evidence kept per offender; beyond it only the count grows. */
export const EVIDENCE_PER_OFFENDER_MAX = 16;

const EVIDENCE_PREFIX = 'consensus/evidence/';
const COUNT_PREFIX = 'consensus/evidence-count/';

function pad(value: number, width: number): string {
  return value.toString().padStart(width, '0');
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

export class EvidenceStore {
  readonly #storage: Storage;
  readonly #validatorCount: number;
  readonly #kept: Evidence[][];
  readonly #counts: number[];

  constructor(storage: Storage, validatorCount: number) {
    this.#storage = storage;
    this.#validatorCount = validatorCount;
    this.#kept = Array.from({ length: validatorCount }, () => []);
    this.#counts = Array.from({ length: validatorCount }, () => 0);
  }

  /** Reloads what an earlier run stored; torn or foreign entries are skipped. */
  load(): void {
    for (let signer = 0; signer < this.#validatorCount; signer++) {
      const kept: Evidence[] = [];
      for (const key of this.#storage.keys(`${EVIDENCE_PREFIX}${pad(signer, 4)}/`)) {
        if (kept.length >= EVIDENCE_PER_OFFENDER_MAX) break;
        try {
          const evidence = EvidenceCodec.decode(this.#storage.get(key) ?? new Uint8Array(0));
          if (evidence.first.signer === signer && conflictOf(evidence.first, evidence.second) !== undefined)
            kept.push(evidence);
        } catch {
          // A torn write was never synced; the conflict it recorded may be seen again.
        }
      }
      this.#kept[signer] = kept;
      const count = this.#storage.get(`${COUNT_PREFIX}${pad(signer, 4)}`);
      const stored =
        count !== undefined && count.length === 8
          ? Number(new DataView(count.buffer, count.byteOffset, 8).getBigUint64(0))
          : 0;
      this.#counts[signer] = Math.max(stored, kept.length);
    }
  }

  /** Records a conflict the caller has not recorded before; true when the evidence itself was kept. */
  record(evidence: Evidence): boolean {
    const signer = evidence.first.signer;
    const kept = this.#kept[signer];
    if (kept === undefined) return false;
    const { first, second } = evidence;
    const again = kept.some(
      (earlier) =>
        earlier.first.view === first.view &&
        earlier.first.kind === first.kind &&
        earlier.second.kind === second.kind,
    );
    if (again) return false;
    const count = this.#counts[signer]! + 1;
    this.#counts[signer] = count;
    this.#storage.put(`${COUNT_PREFIX}${pad(signer, 4)}`, u64(count));
    if (kept.length >= EVIDENCE_PER_OFFENDER_MAX) return false;
    this.#storage.put(
      `${EVIDENCE_PREFIX}${pad(signer, 4)}/${pad(kept.length, 4)}`,
      EvidenceCodec.encode(evidence),
    );
    kept.push(evidence);
    return true;
  }

  /** Every piece kept, ordered by view then signer. */
  list(): Evidence[] {
    return this.#kept.flat().sort((a, b) => a.first.view - b.first.view || a.first.signer - b.first.signer);
  }

  /** Conflicts seen per offender, for offenders with any. */
  counts(): Record<number, number> {
    const out: Record<number, number> = {};
    this.#counts.forEach((count, signer) => {
      if (count > 0) out[signer] = count;
    });
    return out;
  }
}
