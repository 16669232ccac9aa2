/**
 * The devnet's fair ordering (issue 14). The launcher deals nothing: a new network's genesis gets
 * `eonKeygen` (eon 1 and the one market that takes encrypted orders only), and at first start the
 * validators make the eon keyset by a DKG among themselves over their mutual-TLS channels
 * (src/node/eon-keyset.ts), each sealing its own share into validator-<i>/data/eon-share-1.key.
 * No process but validator i ever sees share i. The launcher then reads the key as any client
 * does (`awaitEonKeyset`: served by a validator, checked against n − f validators' attestations)
 * and gives it to the bots.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '../../crypto/bytes.ts';
import { createClient } from '../client.ts';
import { type VerifiedEonKeyset, verifyEonKeysetJson } from '../eon-client.ts';
import { DevnetError } from './network.ts';

/** The eon a new devnet starts in. */
export const DEVNET_EON = 1;

interface GenesisSeriesRecord {
  isCall: boolean;
  strike: string | number;
  expiryMs: number;
}

/**
 * The devnet's encrypted-only market: the nearest-expiry call struck nearest the simulated
 * market's first price — the series the bots quote and take first (bots.ts `seriesToQuote`).
 * Series ids are 1 + the genesis index (the engine lists them in order).
 */
export function encryptedMarketOf(genesis: {
  engine: { series: GenesisSeriesRecord[] };
  oracle: { market?: { assets: Array<{ initialPriceTicks: string | number; decimals: number }> } };
}): number {
  const series = genesis.engine.series;
  if (series.length === 0) throw new DevnetError('GENESIS_FAILED', 'the genesis lists no series');
  const asset = genesis.oracle.market?.assets[0];
  // Price ticks carry `decimals` digits, as strikes carry the quote asset's 6.
  const spot =
    asset === undefined ? 0n : (BigInt(asset.initialPriceTicks) * 10n ** 6n) / 10n ** BigInt(asset.decimals);
  const nearest = Math.min(...series.map((s) => s.expiryMs));
  let best = -1;
  let bestDistance = 0n;
  series.forEach((s, index) => {
    if (!s.isCall || s.expiryMs !== nearest) return;
    const gap = BigInt(s.strike) - spot;
    const distance = gap < 0n ? -gap : gap;
    if (best < 0 || distance < bestDistance) {
      best = index;
      bestDistance = distance;
    }
  });
  return (best < 0 ? 0 : best) + 1;
}

/**
 * Declares the validators' eon DKG in the network in `directory` (what `palisade genesis --out`
 * wrote): genesis `eonKeygen` with the devnet's eon and its encrypted-only series, no key. Returns
 * the series.
 * @throws DevnetError GENESIS_FAILED when the genesis lists no series
 */
export async function declareEonKeygen(directory: string): Promise<{ seriesId: number }> {
  const genesisPath = join(directory, 'genesis.json');
  const genesis = JSON.parse(await readFile(genesisPath, 'utf8')) as Record<string, unknown> & {
    engine: { series: GenesisSeriesRecord[] };
    oracle: { market?: { assets: Array<{ initialPriceTicks: string | number; decimals: number }> } };
  };
  const seriesId = encryptedMarketOf(genesis);
  genesis.eonKeygen = { eon: DEVNET_EON, encryptedOnlySeries: [seriesId] };
  const scratch = `${genesisPath}.${process.pid}.tmp`;
  await writeFile(scratch, `${JSON.stringify(genesis, null, 2)}\n`);
  await rename(scratch, genesisPath);
  return { seriesId };
}

/**
 * The eon keyset the validators agreed on, as a client gets it: `GET /v1/eon` from each validator
 * in turn until one serves a keyset that n − f genesis validators attested (src/node/eon-client.ts;
 * the launcher trusts no single validator's word either). The validators run no block before it
 * exists, so nothing trades encrypted earlier.
 * @throws DevnetError EON_KEYSET_TIMEOUT when none serves one within `timeoutMs`
 */
export async function awaitEonKeyset(
  apiUrls: readonly string[],
  genesis: { chainId: number; validators: readonly { publicKey: Uint8Array }[] },
  timeoutMs: number,
): Promise<VerifiedEonKeyset> {
  const deadline = performance.now() + timeoutMs;
  const keys = genesis.validators.map((validator) => validator.publicKey);
  let last = 'no answer yet';
  for (let round = 0; ; round++) {
    for (const url of apiUrls) {
      try {
        return verifyEonKeysetJson(await createClient({ url }).eon(), {
          chainId: genesis.chainId,
          validators: keys,
        });
      } catch (error) {
        last = (error as Error).message;
      }
    }
    if (performance.now() > deadline)
      throw new DevnetError('EON_KEYSET_TIMEOUT', `no validator served an attested eon keyset: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * (round + 1))));
  }
}

/**
 * With eon epochs (src/chain/eon-schedule.ts): the eon keyset a target height's envelopes must be
 * encrypted to, read from the validators' `GET /v1/eon` (the eon of their next height, or the
 * `next` one) and checked against the attestations of the window's validators it names — taken
 * on the node's word beyond the genesis window (the launcher runs the validators; a light client
 * follows the sets itself). Cached per eon; undefined while no validator serves one for that height
 * (EON_KEY_PENDING: the bot sends nothing then).
 */
export function eonResolver(
  apiUrls: readonly string[],
  chainId: number,
): (targetHeight: number) => Promise<{ eon: number; eonPublicKey: Uint8Array } | undefined> {
  const verified = new Map<number, { eon: number; eonPublicKey: Uint8Array; from: number; until: number }>();
  const covers = (entry: { from: number; until: number }, height: number) =>
    entry.from <= height && height <= entry.until;
  return async (targetHeight) => {
    for (const entry of verified.values()) if (covers(entry, targetHeight)) return entry;
    for (const url of apiUrls) {
      try {
        const served = await createClient({ url }).eon();
        for (const json of [served, served.next ?? undefined]) {
          if (json === undefined || json.state !== 'ready' || json.validators === undefined) continue;
          const keyset = verifyEonKeysetJson(json, {
            chainId,
            validators: json.validators.map((key) => fromHex(key)!),
          });
          const entry = {
            eon: keyset.eon,
            eonPublicKey: keyset.eonPublicKeyBytes,
            from: json.fromHeight ?? 0,
            until: json.untilHeight ?? Number.MAX_SAFE_INTEGER,
          };
          verified.set(entry.eon, entry);
          if (verified.size > 4) verified.delete(Math.min(...verified.keys()));
        }
      } catch {
        // This validator is down or serves nothing checkable: the next one.
      }
      for (const entry of verified.values()) if (covers(entry, targetHeight)) return entry;
    }
    return undefined;
  };
}
