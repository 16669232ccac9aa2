/**
 * The devnet's eon keyset (fair ordering, issue 14), made when the network is made.
 *
 * This is a devnet set-up, not the validators' own DKG: the launcher plays every validator's part
 * of the joint-Feldman eon DKG (src/crypto/shutter/eon-dkg.ts) in one process — each validator j
 * deals, each recipient i checks its share against j's commitment, the qualified dealings combine
 * — and writes
 *
 *   genesis.json `fairOrdering`          eon 1, the eon key, every validator's public share, and
 *                                        the one market that takes encrypted orders only
 *   validator-<i>/data/eon-share-1.key   validator i's secret share, sealed under a key derived
 *                                        from its identity seed (src/node/eon-key-file.ts)
 *
 * The launcher therefore saw every share: on a devnet, where it also holds every validator's
 * keystore and password, that changes nothing; a real network runs the DKG among its validators.
 * It runs on the network's scratch directory before it is renamed into place, so an interrupted
 * first start leaves no genesis without its shares.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '../../crypto/bytes.ts';
import { loadEd25519Keystore } from '../../crypto/keystore.ts';
import {
  combineEonKeyset,
  combineEonSecretShare,
  dealEon,
  type EonDealing,
  verifyEonShare,
} from '../../crypto/shutter/eon-dkg.ts';
import { readNodeConfig } from '../config.ts';
import { sealEonShare, writeEonShare } from '../eon-key-file.ts';
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
 * Runs the eon DKG for the network in `directory` (what `palisade genesis --out` wrote) and
 * writes its outputs; returns the encrypted-only series.
 * @throws DevnetError GENESIS_FAILED when a dealt share fails its check (a bug here)
 */
export async function setUpEonKeyset(
  directory: string,
  password: string,
  validators: number,
): Promise<{ seriesId: number; threshold: number }> {
  const genesisPath = join(directory, 'genesis.json');
  const genesis = JSON.parse(await readFile(genesisPath, 'utf8')) as Record<string, unknown> & {
    chainId: number;
    engine: { series: GenesisSeriesRecord[] };
    oracle: { market?: { assets: Array<{ initialPriceTicks: string | number; decimals: number }> } };
  };
  const threshold = 2 * Math.floor((validators - 1) / 3) + 1;
  const dealings: EonDealing[] = [];
  for (let dealer = 0; dealer < validators; dealer++) {
    const dealing = dealEon(dealer, threshold, validators);
    // Each recipient's Feldman check; a dealer with a failing share would be disqualified.
    for (let recipient = 0; recipient < validators; recipient++)
      if (!verifyEonShare(dealing.commitment, recipient, dealing.shares[recipient]!))
        throw new DevnetError('GENESIS_FAILED', `eon dealing ${dealer} fails its check at ${recipient}`);
    dealings.push(dealing);
  }
  const keyset = combineEonKeyset(dealings, threshold, validators);
  const seriesId = encryptedMarketOf(genesis);
  genesis.fairOrdering = {
    eon: DEVNET_EON,
    eonPublicKey: toHex(keyset.eonPublicKey.toBytes(true)),
    publicShares: keyset.publicShares.map((share) => toHex(share.toBytes(true))),
    encryptedOnlySeries: [seriesId],
  };
  for (let index = 0; index < validators; index++) {
    const config = readNodeConfig(join(directory, `validator-${index}`, 'config.json'));
    const pair = await loadEd25519Keystore(await readFile(config.keystorePath, 'utf8'), password);
    try {
      const text = sealEonShare(combineEonSecretShare(dealings, index), pair.secretKey, {
        chainId: genesis.chainId,
        eon: DEVNET_EON,
        index,
      });
      writeEonShare(config.dataDirectory, text, DEVNET_EON);
    } finally {
      pair.secretKey.fill(0);
    }
  }
  const scratch = `${genesisPath}.${process.pid}.tmp`;
  await writeFile(scratch, `${JSON.stringify(genesis, null, 2)}\n`);
  await rename(scratch, genesisPath);
  return { seriesId, threshold };
}
