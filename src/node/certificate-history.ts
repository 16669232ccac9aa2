/**
 * Past price certificates, by asset, for auditors and relayers who need the certificate that was
 * in force at a height or a time rather than the latest one (issue 13, "serve certificates by
 * height or time").
 *
 * Each certificate the node assembles or receives (and has verified: price-signing.ts keeps only
 * those) is written to the node's storage under `oracle/certificate/<asset>/<height>` and indexed
 * in memory; the history survives a restart and keeps the newest `perAsset` certificates of each
 * asset (older ones are deleted). A lookup by height returns the newest certificate assembled at
 * or below it; by time, the newest whose report was published at or before it. Certificates
 * are self-verifying (FROST over the EIP-712 digest), so the history is a convenience, not a
 * source of trust: clients verify what it serves.
 */

import { decodePriceCertificate } from '../interop/price-certificate.ts';
import type { Storage } from '../runtime/types.ts';
import type { LatestCertificate } from './price-signing.ts';

/** Certificates kept per asset when the caller does not say (about a week at one a minute). */
export const DEFAULT_CERTIFICATES_PER_ASSET = 10_000;

const PREFIX = 'oracle/certificate/';

export type CertificateQuery = { readonly height: number } | { readonly time: number };

export interface CertificateHistory {
  /** Keeps `entry` (a verified certificate); a second certificate for the same asset and height is ignored. */
  record(entry: LatestCertificate): void;
  /** The certificate in force at the query's height or time for `assetId`, or undefined. */
  at(assetId: number, query: CertificateQuery): LatestCertificate | undefined;
  /** How many certificates are kept for `assetId`. */
  size(assetId: number): number;
}

interface AssetHistory {
  /** Ascending by height. */
  readonly entries: LatestCertificate[];
}

const keyOf = (assetId: number, height: number) =>
  `${PREFIX}${assetId.toString(16).padStart(8, '0')}/${height.toString(16).padStart(12, '0')}`;

/** The last index whose value is ≤ target in an ascending list, or −1. */
function lastAtOrBelow<T>(list: readonly T[], value: (item: T) => number, target: number): number {
  let low = 0;
  let high = list.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (value(list[middle]!) <= target) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/**
 * @param symbolOf the asset's symbol (from genesis) for entries read back from storage
 * @example const history = createCertificateHistory(storage, (id) => symbols.get(id) ?? ''); history.at(1, { height: 500 });
 */
export function createCertificateHistory(
  storage: Storage,
  symbolOf: (assetId: number) => string,
  perAsset = DEFAULT_CERTIFICATES_PER_ASSET,
): CertificateHistory {
  if (!Number.isSafeInteger(perAsset) || perAsset < 1)
    throw new RangeError('perAsset must be a positive integer');
  const assets = new Map<number, AssetHistory>();
  const historyOf = (assetId: number) => {
    let history = assets.get(assetId);
    if (history === undefined) {
      history = { entries: [] };
      assets.set(assetId, history);
    }
    return history;
  };

  // Storage keys sort as the (asset, height) pairs they encode, so each list loads ascending.
  for (const key of storage.keys(PREFIX)) {
    const [assetHex, heightHex] = key.slice(PREFIX.length).split('/');
    const bytes = storage.get(key);
    if (assetHex === undefined || heightHex === undefined || bytes === undefined) continue;
    const assetId = Number.parseInt(assetHex, 16);
    const height = Number.parseInt(heightHex, 16);
    let certificate: ReturnType<typeof decodePriceCertificate>;
    try {
      certificate = decodePriceCertificate(bytes);
    } catch {
      storage.delete(key); // a torn or foreign record: it verified once, but it is not one now
      continue;
    }
    historyOf(assetId).entries.push({
      assetId,
      symbol: symbolOf(assetId),
      height,
      certificate,
      encoded: bytes,
    });
  }

  const prune = (history: AssetHistory) => {
    while (history.entries.length > perAsset) {
      const oldest = history.entries.shift()!;
      storage.delete(keyOf(oldest.assetId, oldest.height));
    }
  };
  for (const history of assets.values()) prune(history);

  return {
    record(entry) {
      const history = historyOf(entry.assetId);
      const index = lastAtOrBelow(history.entries, (e) => e.height, entry.height);
      if (index >= 0 && history.entries[index]!.height === entry.height) return;
      history.entries.splice(index + 1, 0, entry);
      storage.put(keyOf(entry.assetId, entry.height), entry.encoded);
      prune(history);
    },
    at(assetId, query) {
      const entries = assets.get(assetId)?.entries;
      if (entries === undefined) return undefined;
      if ('height' in query) {
        const index = lastAtOrBelow(entries, (e) => e.height, query.height);
        return index < 0 ? undefined : entries[index];
      }
      // A report's publishTime is the median source time capped by its block's time: it need not
      // grow with height, so scan from the newest (bounded by perAsset).
      for (let i = entries.length - 1; i >= 0; i--)
        if (entries[i]!.certificate.report.publishTime <= query.time) return entries[i];
      return undefined;
    },
    size: (assetId) => assets.get(assetId)?.entries.length ?? 0,
  };
}
