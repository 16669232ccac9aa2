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
import { createValidatorSet } from '../../consensus/validators.ts';
import { createClient } from '../client.ts';
import { type VerifiedEonKeyset, verifyEonKeysetJson } from '../eon-client.ts';
import { createLightClient, createLightClientDriver, LightClientError } from '../light-client.ts';
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

/** What the resolver's light client trusts: the genesis file's parts it follows from. */
export interface EonResolverGenesis {
  readonly chainId: number;
  readonly validators: readonly { readonly publicKey: Uint8Array }[];
  readonly dkg: { readonly epoch: number; readonly epochBlocks: number };
  readonly priceCertificates: { readonly chainId: number; readonly verifyingContract: Uint8Array };
  readonly eonKeygen?: { readonly eon: number } | undefined;
}

/** Blocks the resolver's light client follows per call, at most (it resumes on the next call). */
const RESOLVER_SYNC_BLOCKS = 4096;

/**
 * With eon epochs (src/chain/eon-schedule.ts): the eon keyset a target height's envelopes must be
 * encrypted to, as the chain recorded it. A light client (src/node/light-client.ts) follows
 * finality from the genesis validators over the validators' APIs, proves each boundary's next set,
 * and judges every block's `EonActivation` against the set of its window as it proved it — so no
 * API node's `validators` list or `GET /v1/eon` answer is taken on its word (a node that serves
 * its own "validators" and a key they attested is not followed). Undefined while no followed block
 * records an eon for that height (EON_KEY_PENDING: the bot sends nothing then), or while no node
 * serves the next block or boundary proof verifiably. One sync at a time: concurrent calls share it.
 * @example const eonAt = eonResolver(apiUrls, genesis); const eon = await eonAt(height + 2);
 */
export function eonResolver(
  apiUrls: readonly string[],
  genesis: EonResolverGenesis,
): (targetHeight: number) => Promise<{ eon: number; eonPublicKey: Uint8Array } | undefined> {
  if (genesis.eonKeygen === undefined || genesis.dkg.epochBlocks <= 0)
    throw new DevnetError('GENESIS_FAILED', 'eon epochs need genesis eonKeygen and dkg.epochBlocks');
  const light = createLightClient({
    chainId: genesis.chainId,
    validators: createValidatorSet(genesis.validators.map((validator) => validator.publicKey)),
    epochBlocks: genesis.dkg.epochBlocks,
    // The price keyset is not followed here (no certificate is checked): any point stands in.
    keyset: { epoch: genesis.dkg.epoch, groupPublicKey: new Uint8Array(33) },
    keysetDomain: {
      chainId: genesis.priceCertificates.chainId,
      verifyingContract: genesis.priceCertificates.verifyingContract,
    },
    eonEpochs: { genesisEon: genesis.eonKeygen.eon },
  });
  const driver = createLightClientDriver(light, { nodes: apiUrls.map((url) => ({ url })) });
  let syncing: Promise<unknown> | undefined;
  const known = (height: number) => {
    try {
      const eon = light.eonAt(height);
      return { eon: eon.eon, eonPublicKey: eon.eonPublicKeyBytes };
    } catch (error) {
      if (error instanceof LightClientError && error.code === 'EON_NOT_RECORDED') return undefined;
      throw error;
    }
  };
  return async (targetHeight) => {
    const cached = known(targetHeight);
    if (cached !== undefined) return cached;
    syncing ??= driver.sync(RESOLVER_SYNC_BLOCKS).finally(() => {
      syncing = undefined;
    });
    try {
      await syncing;
    } catch {
      // No node served the next block or proof verifiably: what is followed so far answers.
    }
    return known(targetHeight);
  };
}
