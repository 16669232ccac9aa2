/**
 * `GET /v1/network`: what the genesis says about the network's security, for `palisade risk` and
 * `palisade conformance` (src/risk). Everything here is fixed at genesis and the same on every
 * validator: the validator set with voting power and each one's declared operator, jurisdiction,
 * hosting provider and key custody (null when not declared), the consensus quorum and timeouts,
 * the price keyset's threshold, the governance keys, the oracle's assets and sources, and the
 * bridge (null until the interoperability layer serves its state).
 */
import type { FastifyInstance } from 'fastify';
import { toHex } from '../../crypto/bytes.ts';
import { faultTolerance, type Genesis } from '../genesis.ts';
import { ApiError } from './errors.ts';
import { errorSchema, object } from './schemas.ts';

export interface NetworkValidatorJson {
  index: number;
  publicKey: string;
  /** Simplex counts one vote per validator. */
  votingPower: number;
  operator: string | null;
  jurisdiction: string | null;
  hosting: string | null;
  keyCustody: string | null;
}

export interface NetworkInfo {
  chainId: number;
  validators: NetworkValidatorJson[];
  consensus: {
    faultTolerance: number;
    quorum: number;
    leaderMs: number;
    notarizationMs: number;
    nullifyRetryMs: number;
  };
  priceKeyset: { epoch: number; threshold: number; participants: number };
  priceCertificates: { everyBlocks: number };
  /**
   * The governors (`keys`) and how many of them must sign one action; the guardians and how many
   * of them may halt; the timelock of non-emergency actions (genesis values).
   */
  governance: {
    keys: string[];
    threshold: number;
    guardians: string[];
    guardianThreshold: number;
    timelockMs: number;
  };
  oracle: { assets: Array<{ assetId: number; symbol: string }>; sources: Array<{ id: string }> };
  bridge: null;
}

/** The network description of a parsed genesis. */
export function networkInfoOf(genesis: Genesis): NetworkInfo {
  const { f, quorum } = faultTolerance(genesis.validators.length);
  return {
    chainId: genesis.chainId,
    validators: genesis.validators.map((validator, index) => ({
      index,
      publicKey: `0x${toHex(validator.publicKey)}`,
      votingPower: 1,
      operator: validator.metadata?.operator ?? null,
      jurisdiction: validator.metadata?.jurisdiction ?? null,
      hosting: validator.metadata?.hosting ?? null,
      keyCustody: validator.metadata?.keyCustody ?? null,
    })),
    consensus: {
      faultTolerance: f,
      quorum,
      leaderMs: genesis.consensus.leaderMs,
      notarizationMs: genesis.consensus.notarizationMs,
      nullifyRetryMs: genesis.consensus.nullifyRetryMs,
    },
    priceKeyset: {
      epoch: genesis.dkg.epoch,
      threshold: genesis.dkg.threshold,
      participants: genesis.validators.length,
    },
    priceCertificates: { everyBlocks: genesis.priceCertificates.everyBlocks },
    // Every governance action needs `threshold` of the governors' signatures; a halt needs
    // `guardianThreshold` guardians (src/execution/governance.ts). The genesis sets.
    governance: {
      keys: genesis.engine.governance.governors.map((key) => `0x${toHex(key)}`),
      threshold: genesis.engine.governance.threshold,
      guardians: genesis.engine.governance.guardians.map((key) => `0x${toHex(key)}`),
      guardianThreshold: genesis.engine.governance.guardianThreshold,
      timelockMs: genesis.engine.governance.timelockMs,
    },
    oracle: {
      assets: genesis.oracle.assets.map((asset) => ({ assetId: asset.assetId, symbol: asset.symbol })),
      sources: genesis.oracle.market.venues.map((venue) => ({ id: venue.id })),
    },
    bridge: null,
  };
}

const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const label = { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 64 }] };
const key32 = { type: 'string', pattern: '^0x[0-9a-f]{64}$' };

export const networkSchema = object({
  chainId: count,
  validators: {
    type: 'array',
    maxItems: 128,
    items: object({
      index: count,
      publicKey: key32,
      votingPower: count,
      operator: label,
      jurisdiction: label,
      hosting: label,
      keyCustody: label,
    }),
  },
  consensus: object({
    faultTolerance: count,
    quorum: count,
    leaderMs: count,
    notarizationMs: count,
    nullifyRetryMs: count,
  }),
  priceKeyset: object({ epoch: count, threshold: count, participants: count }),
  priceCertificates: object({ everyBlocks: count }),
  governance: object({
    keys: { type: 'array', maxItems: 128, items: key32 },
    threshold: count,
    guardians: { type: 'array', maxItems: 128, items: key32 },
    guardianThreshold: count,
    timelockMs: count,
  }),
  oracle: object({
    assets: { type: 'array', items: object({ assetId: count, symbol: { type: 'string' } }) },
    sources: { type: 'array', items: object({ id: { type: 'string' } }) },
  }),
  bridge: { type: 'null' },
});

/** Registers `GET /v1/network`; a server given no description (a test node) answers 404 `NOT_FOUND`. */
export function registerNetwork(api: FastifyInstance, network: NetworkInfo | undefined): void {
  api.get(
    '/v1/network',
    { schema: { response: { 200: networkSchema, '4xx': errorSchema, '5xx': errorSchema } } },
    async () => {
      if (network === undefined) throw new ApiError('NOT_FOUND', 'this node serves no network description');
      return network;
    },
  );
}
