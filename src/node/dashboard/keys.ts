/**
 * The dashboard's keyset panel, server side: every poll asks each validator that answered for its
 * price keyset (`GET /v1/keys`) and folds the answers into one view — the epoch the most advanced
 * validator signs in, its group key, threshold, next refresh and handover chain, and for each
 * signer the epoch it holds a share of (a validator one epoch behind is still refreshing, or
 * came back from a crash and is catching up). The page renders it with `keys-panel.js`.
 * A validator without the route, or that fails to answer, shows its epoch as unknown.
 */
import type { KeyLifecycleJson } from '../api/keys.ts';

export interface DashboardSigner {
  index: number;
  publicKey: string;
  /** The epoch of the share this validator holds; null when it did not answer. */
  epoch: number | null;
  /** Whether it answered its status this poll. */
  up: boolean;
  /** The validators that pass it over as a signer now (it was late or sent a bad share). */
  suspectedBy: number[];
}

export interface DashboardKeys {
  epoch: number;
  epochBlocks: number;
  nextRefreshHeight: number | null;
  groupPublicKey: string;
  threshold: number;
  signers: DashboardSigner[];
  refreshes: number;
  /** Handover certificates known, and the latest one's epochs. */
  handovers: number;
  lastHandover: { fromEpoch: number; toEpoch: number } | null;
  /** Who the latest refresh left out, as the most advanced validator saw it. */
  refreshDisqualified: KeyLifecycleJson['refreshDisqualified'];
  /** The most recent price certificate any answering validator assembled, and its t signers. */
  lastCertificate: { height: number; epoch: number; signers: number[]; assembledBy: number } | null;
}

/**
 * Reads `/v1/keys` from one validator; the body is always read, so a 404 frees its connection.
 * @throws Error when the validator does not answer with a key lifecycle
 */
export async function fetchKeys(apiUrl: string, timeoutMs: number): Promise<KeyLifecycleJson> {
  const response = await fetch(new URL('/v1/keys', apiUrl), { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (!response.ok) throw new Error(`/v1/keys: HTTP ${response.status}`);
  const body = JSON.parse(text) as KeyLifecycleJson;
  if (!Array.isArray(body.signers) || !Array.isArray(body.handovers)) throw new Error('/v1/keys: malformed');
  return body;
}

/**
 * The keyset view from every answering validator; null while none holds a keyset.
 * @example const keys = await pollKeys(validators, (apiUrl) => fetchKeys(apiUrl, 800));
 */
export async function pollKeys(
  validators: ReadonlyArray<{ index: number; apiUrl: string; up: boolean }>,
  get: (apiUrl: string) => Promise<KeyLifecycleJson>,
): Promise<DashboardKeys | null> {
  const answers = await Promise.all(
    validators.map(async (validator) => {
      if (!validator.up) return undefined;
      try {
        return await get(validator.apiUrl);
      } catch {
        return undefined;
      }
    }),
  );
  const epochOf = new Map<number, number | null>();
  validators.forEach((validator, position) => {
    epochOf.set(validator.index, answers[position]?.epoch ?? null);
  });
  // The view of the validator in the latest epoch, then the highest height, then the lowest index.
  const best = answers
    .map((answer, position) => ({ answer, index: validators[position]!.index }))
    .filter((entry): entry is { answer: KeyLifecycleJson; index: number } => entry.answer?.keyset != null)
    .sort(
      (a, b) =>
        (b.answer.epoch ?? 0) - (a.answer.epoch ?? 0) ||
        b.answer.height - a.answer.height ||
        a.index - b.index,
    )[0]?.answer;
  if (best === undefined || best.keyset === null) return null;
  const last = best.handovers.at(-1);
  const suspectedBy = new Map<number, number[]>();
  let lastCertificate: DashboardKeys['lastCertificate'] = null;
  answers.forEach((answer, position) => {
    const reporter = validators[position]!.index;
    for (const signer of answer?.suspectedSigners ?? [])
      suspectedBy.set(signer, [...(suspectedBy.get(signer) ?? []), reporter]);
    const assembled = answer?.lastAssembled;
    if (assembled != null && (lastCertificate === null || assembled.height > lastCertificate.height))
      lastCertificate = { ...assembled, signers: [...assembled.signers], assembledBy: reporter };
  });
  return {
    epoch: best.keyset.epoch,
    epochBlocks: best.epochBlocks,
    nextRefreshHeight: best.nextRefreshHeight,
    groupPublicKey: best.keyset.groupPublicKey,
    threshold: best.keyset.threshold,
    signers: best.signers.map((signer) => ({
      index: signer.index,
      publicKey: signer.publicKey,
      epoch: epochOf.get(signer.index) ?? null,
      up: validators.find((validator) => validator.index === signer.index)?.up ?? false,
      suspectedBy: suspectedBy.get(signer.index) ?? [],
    })),
    refreshes: best.refreshes,
    handovers: best.handovers.length,
    lastHandover: last === undefined ? null : { fromEpoch: last.fromEpoch, toEpoch: last.toEpoch },
    refreshDisqualified: best.refreshDisqualified,
    lastCertificate,
  };
}
