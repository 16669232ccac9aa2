/**
 * The red-team catalogue: attacks modelled on real incidents, each adapted to what Palisade
 * exposes, each reporting `refused` with its evidence or `succeeded` with the loss.
 *
 * Four kinds of target:
 *   venue        the engine fed through the validators' oracle aggregation and the block rule's
 *                oracle step (venue.ts), judged by the fair-value invariant (fair-value.ts);
 *   certificates a consumer's keyset registry for price certificates (certificates.ts);
 *   network      seeded runs of the simulator (harness.ts) over the simulated network: the
 *                consensus-only profile for issue 10's liveness attacks, the whole node for the
 *                venue adversaries; `refused` when the run kept every invariant;
 *   bridge       the deposit path against the committed vault on an in-process EVM (EDR), the
 *                validators' JSON-RPC followers and signed reports, and the block rule (deposits.ts);
 *                the withdrawal path against the committed verifier and vault on the in-process
 *                EVM, with checkpoints certified by DKG keysets (vault.ts).
 * Entries take the seed (the venue's keys; the simulator's run seed) and, for venue entries, the
 * engine parameters to run with, so that a bug injected through the genesis (a band removed) shows
 * as a `succeeded`.
 */
import type { EngineParameters } from '../../execution/types.ts';
import { runSimulation } from '../harness.ts';
import { profileByName } from '../profiles.ts';
import type { SimNodeFactory } from '../whole-node.ts';
import { harmony, nomad, ronin, wormhole } from './certificates.ts';
import { colluders } from './colluders.ts';
import { depositOtherChainOrVault, depositReorgedAway, depositReplayed, fakeDepositByF } from './deposits.ts';
import { INCIDENTS, runIncident } from './economic.ts';
import { runIncidentOnNetwork } from './network-venue.ts';
import { type Outcome, usdc } from './scenario.ts';
import {
  claimReplayed,
  drainHeldByRateLimit,
  fakeCheckpointByF,
  nomadOnVault,
  oldKeysetAfterHandover,
  proofForAnotherRoot,
  wormholeOnVault,
} from './vault.ts';
import { withholderSigner } from './withholder-signer.ts';

export type Target = 'venue' | 'certificates' | 'network' | 'bridge';

export interface CatalogueContext {
  seed: number;
  params?: Partial<EngineParameters> | undefined;
  /** The whole node for network entries that need it (the composition root's `createSimNode`). */
  node?: SimNodeFactory | undefined;
}

export interface CatalogueEntry {
  id: string;
  incident: string;
  target: Target;
  /** How the incident is adapted to Palisade. */
  adaptation: string;
  /**
   * Why `palisade redteam --url` cannot run this entry through a devnet's public API; absent when
   * it can (src/node/commands/redteam.ts runs those).
   */
  apiLimit?: string;
  run(context: CatalogueContext): Promise<Outcome> | Outcome;
}

const NEEDS_INDEX =
  'needs funded attacker accounts and an index that moves on cue (or lying validators); the public API gives neither: deposits are the operator’s and the index is the sources’';
const NEEDS_BRIDGE_POWER =
  'needs validator identity keys to sign deposit reports, or control of the EVM chain to reorganize it; the public API offers neither (and the devnet’s EVM node refuses evm_revert)';
const NEEDS_CHECKPOINT_KEYS =
  'needs the validators’ FROST shares (or f of them) to certify checkpoints, and governance of a vault to deploy beside it; the public API serves certified checkpoints and proofs only';
const NEEDS_VALIDATOR =
  'needs to be a validator (a TLS identity in genesis) or to control the network between them; the public API is outside both';

/** A network entry: `refused` when `seeds` runs of `profile` keep every invariant. */
async function networkRun(
  context: CatalogueContext,
  profile: string,
  whole: boolean,
  seeds: number,
): Promise<Outcome> {
  const statuses: string[] = [];
  const facts: string[] = [];
  let violations = 0;
  for (let i = 0; i < seeds; i++) {
    const seed = context.seed + i;
    if (whole && context.node === undefined) throw new Error('a whole-node entry needs the node factory');
    const result = await runSimulation({
      seed,
      validators: 4,
      profile: profileByName(profile)!,
      node: whole ? context.node : undefined,
    });
    violations += result.violations.length;
    statuses.push(
      `seed ${seed}: ${result.violations.length === 0 ? 'all invariants kept' : result.violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')}, finalized ${result.finalizedMin}..${result.finalizedMax}, ${result.viewsNullified} views nullified, ${result.evidence} evidence`,
    );
    const front = result.market?.frontRunner;
    if (front !== undefined)
      facts.push(
        `seed ${seed}: front-runner strategy ${front.strategy}: ${front.proposals} proposals rewritten, ${front.frontRun} orders sandwiched, ${front.censored} censored, ${front.reordered} reordered; its profit ${front.profitUsdc} USDC (the fair-ordering baseline)`,
      );
    if (result.market !== undefined)
      facts.push(
        `seed ${seed}: ${result.market.acceptedOrders} honest orders accepted and ${result.market.freshMarks} of ${result.market.blocksAfterHeal} blocks with a fresh mark after the heal`,
      );
    const certificates = result.market?.certificates;
    if (certificates !== undefined)
      facts.push(
        `seed ${seed}: price signing: ${certificates.certified} of ${certificates.opened} reports opened after the heal certified under the group key, ${certificates.signingAttempts} attempts, ${certificates.sharesWithheld} shares withheld, withholders named silent ${certificates.silentNamed} times`,
      );
  }
  return {
    verdict: violations === 0 ? 'refused' : 'succeeded',
    loss: 0n,
    summary:
      violations === 0
        ? `${seeds} seeded run(s): one finalized chain, every invariant kept, live after the heal`
        : `${violations} invariant violation(s)`,
    evidence: {
      statuses,
      events: {},
      notable: [],
      balancesBefore: {},
      balancesAfter: {},
      insuranceFund: { before: '0', after: '0' },
      socializedLoss: '0',
      facts,
    },
  };
}

const incidentTitles = {
  'mango-2022': 'Mango Markets, Oct 2022',
  'bzx-2020': 'bZx, Feb 2020',
  'venus-luna-2022': 'Venus / LUNA, May 2022',
  'kiloex-jelly-2025': 'KiloEx and Hyperliquid JELLY, 2025',
  'hyperliquid-eth-2025': 'Hyperliquid ETH, Mar 2025',
} as const;

export const CATALOGUE: readonly CatalogueEntry[] = Object.freeze([
  {
    id: 'mango-2022',
    incident: 'Mango Markets, Oct 2022: thin-market pump, borrow against the mark',
    target: 'venue',
    adaptation:
      'a self-trade at 5,000× the mark, then a 30% index pump and a stale honest offer lifted on the thin series, then withdrawals',
    run: (context) => runIncident(INCIDENTS['mango-2022']!, context),
  },
  {
    id: 'bzx-2020',
    apiLimit: NEEDS_INDEX,
    incident: 'bZx, Feb 2020: one-transaction price manipulation',
    target: 'venue',
    adaptation: 'wash trades at the band top, a sale into an honest bid and a withdrawal, all in one block',
    run: (context) => runIncident(INCIDENTS['bzx-2020']!, context),
  },
  {
    id: 'venus-luna-2022',
    apiLimit: NEEDS_INDEX,
    incident: 'Venus / LUNA, May 2022: a feed stuck at its floor',
    target: 'venue',
    adaptation:
      'every source stops updating at the old price while the index falls 30%; puts bought at the stuck mark, withdrawal against a short put',
    run: (context) => runIncident(INCIDENTS['venus-luna-2022']!, context),
  },
  {
    id: 'kiloex-jelly-2025',
    apiLimit: NEEDS_INDEX,
    incident: 'KiloEx and Hyperliquid JELLY, 2025: oracle and illiquid-market squeeze',
    target: 'venue',
    adaptation:
      'f of 4 validators report 3× the index with a tiny confidence; the attacker sells into honest bids at the lied mark',
    run: (context) => runIncident(INCIDENTS['kiloex-jelly-2025']!, context),
  },
  {
    id: 'hyperliquid-eth-2025',
    apiLimit: NEEDS_INDEX,
    incident: "Hyperliquid ETH, Mar 2025: a whale's forced liquidation draining the liquidity vault",
    target: 'venue',
    adaptation:
      'a short whale withdraws to initial margin, its partner rests offers far above the mark for the liquidation to buy, the index rises 8%',
    run: (context) => runIncident(INCIDENTS['hyperliquid-eth-2025']!, context),
  },
  // The same incidents through the whole node: mempools, consensus, the block rule, observations on votes.
  ...(
    ['mango-2022', 'bzx-2020', 'venus-luna-2022', 'kiloex-jelly-2025', 'hyperliquid-eth-2025'] as const
  ).map(
    (incident): CatalogueEntry => ({
      id: `${incident}-network`,
      incident: `${incidentTitles[incident]}, through the whole node`,
      target: 'network',
      apiLimit: NEEDS_INDEX,
      adaptation:
        'the venue entry’s script played on 4 simulated validators running the whole node: each transaction sent to every mempool, ordered by consensus, executed by the block rule, the index read by every validator’s sources (liars are the run’s Byzantine validators); judged by the fair-value ledger and every whole-node invariant',
      run: (context) => {
        if (context.node === undefined) throw new Error('a whole-node entry needs the node factory');
        return runIncidentOnNetwork(`${incident}-network`, INCIDENTS[incident]!, {
          seed: context.seed,
          params: context.params,
          node: context.node,
        });
      },
    }),
  ),
  {
    id: 'issue9-many-resting-sells',
    apiLimit: NEEDS_INDEX,
    incident: 'issue 9: margin checked per order, spent by many',
    target: 'venue',
    adaptation:
      'ten resting offers each affordable alone, lifted at once by a partner, then the index rises 10%',
    run: (context) => runIncident(INCIDENTS['issue9-many-resting-sells']!, context),
  },
  {
    id: 'colluders-search',
    apiLimit: NEEDS_INDEX,
    incident: 'issue 12: colluders searching for value extraction',
    target: 'venue',
    adaptation:
      'three colluders search (random, then greedy) over self-trades at extreme prices, reduce-only games, taking quotes, withdrawals, index moves and expiry; rewarded by what they can withdraw',
    run: colluders,
  },
  {
    id: 'ronin-2022',
    apiLimit:
      'needs f validators’ FROST shares to sign with; the API publishes only the group key (the simulated entry steals them at n = 4 and 7)',
    incident: 'Ronin, Mar 2022: validator keys stolen',
    target: 'certificates',
    adaptation: 'f FROST shares stolen (n = 4 and 7) sign a forged price report',
    run: () => ronin(),
  },
  {
    id: 'harmony-2022',
    incident: 'Harmony Horizon, Jun 2022: a 2-of-5 signer set',
    target: 'certificates',
    adaptation: "two of five shares stolen; the attacker's own 2-of-5 keyset; re-keying the registry",
    run: () => harmony(),
  },
  {
    id: 'wormhole-2022',
    incident: 'Wormhole, Feb 2022: a forged signature set',
    target: 'certificates',
    adaptation:
      'a genuine signature on a forged report, random bytes, another domain, a retired epoch, an edited epoch',
    run: () => wormhole(),
  },
  {
    id: 'nomad-2022',
    incident: 'Nomad, Aug 2022: an accepted zero root',
    target: 'certificates',
    adaptation: 'no keyset, an all-zero group key, all-zero and identity signatures',
    run: () => nomad(),
  },
  {
    id: 'ronin-harmony-fake-deposit',
    apiLimit: NEEDS_BRIDGE_POWER,
    incident: 'Ronin (Mar 2022) and Harmony Horizon (Jun 2022): the bridge signers minted deposits',
    target: 'bridge',
    adaptation:
      'f of 4 and of 7 validators sign a deposit the vault never saw and the genuine one with the amount raised and the account changed; a Byzantine proposer carries them',
    run: () => fakeDepositByF(),
  },
  {
    id: 'deposit-reorged-away',
    apiLimit: NEEDS_BRIDGE_POWER,
    incident: 'deposit then reorg (the double-spend exchanges and bridges guard against with confirmations)',
    target: 'bridge',
    adaptation:
      'the attacker deposits, every validator looks while it is one block short of the confirmation depth, then the EVM chain is reorganized below it',
    run: () => depositReorgedAway(),
  },
  {
    id: 'deposit-replayed',
    apiLimit: NEEDS_BRIDGE_POWER,
    incident: 'replayed bridge messages (Qubit, Jan 2022; the Nomad copycats)',
    target: 'bridge',
    adaptation:
      'the reports that credited a deposit put into a later block, then the same deposit re-signed at the new height by every validator key',
    run: () => depositReplayed(),
  },
  {
    id: 'deposit-other-chain-or-vault',
    apiLimit: NEEDS_BRIDGE_POWER,
    incident: 'cross-deployment replay: a message valid on another chain or contract',
    target: 'bridge',
    adaptation:
      "deposits into the attacker's own vault on the same chain and into a vault on chain 1; reports naming them, signed by f keys and then by all",
    run: () => depositOtherChainOrVault(),
  },
  {
    id: 'withdrawal-replayed',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'replayed bridge messages (Qubit, Jan 2022; the Nomad copycats, Aug 2022)',
    target: 'bridge',
    adaptation:
      'a paid withdrawal claimed again, its checkpoint resubmitted, its id listed in a later checkpoint, and the certificate and proof taken to a second vault behind the same verifier, a vault with its own verifier, and chain 1',
    run: () => claimReplayed(),
  },
  {
    id: 'withdrawal-proof-for-another-root',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'BNB Bridge, Oct 2022: a forged Merkle proof minted 2M BNB',
    target: 'bridge',
    adaptation:
      "the thief's own tree's proof against the certified root, a height without a checkpoint, its genuine leaf with the amount raised, another's leaf with the recipient changed, an over-long proof",
    run: () => proofForAnotherRoot(),
  },
  {
    id: 'nomad-2022-vault',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'Nomad, Aug 2022: the zero root taken as proven',
    target: 'bridge',
    adaptation:
      'a zero withdrawals root signed by the genuine keyset; claims with empty proofs at heights with no root',
    run: () => nomadOnVault(),
  },
  {
    id: 'ronin-harmony-fake-checkpoint',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'Ronin (Mar 2022) and Harmony Horizon (Jun 2022): bridge signers released funds',
    target: 'bridge',
    adaptation:
      "f of 4 and of 7 validators certify a checkpoint paying 150,000 pUSD: their shares alone, the genuine checkpoint's signature, a keyset of their own named as theirs or the verifier's, a handover to it",
    run: () => fakeCheckpointByF(),
  },
  {
    id: 'wormhole-2022-vault',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'Wormhole, Feb 2022: a forged verification',
    target: 'bridge',
    adaptation:
      'a theft checkpoint with random signature words, z negated, R off the curve, the epoch edited, signed for chain 1 and for the zero-address placeholder',
    run: () => wormholeOnVault(),
  },
  {
    id: 'vault-drain-held',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'Ronin, Harmony and Multichain: the whole signer set stolen, the vault drained',
    target: 'bridge',
    adaptation:
      'every share stolen: twenty 1,000 pUSD withdrawals and one of 50,000 certified to the thief; the token bucket, the delay, a guardian stop and the curse',
    run: () => drainHeldByRateLimit(),
  },
  {
    id: 'old-keyset-after-handover',
    apiLimit: NEEDS_CHECKPOINT_KEYS,
    incident: 'Multichain, Jul 2023: keys that outlived their rotation',
    target: 'bridge',
    adaptation:
      "after the handover to epoch 2, epoch 1's stolen shares sign a checkpoint, a handover to the attacker and a claim",
    run: () => oldKeysetAfterHandover(),
  },
  ...(
    [
      ['cache-filler', 'a Byzantine leader proposing at height 2^50 with unknown parents and 1 MiB payloads'],
      ['sync-flooder', 'a peer flooding block-sync and certificate requests'],
      ['garbage', 'f validators sending undecodable and oversized messages'],
      ['replayer', 'f validators replaying old votes and certificates'],
    ] as const
  ).map(
    ([profile, adaptation]): CatalogueEntry => ({
      id: `issue10-${profile}`,
      incident: `issue 10: ${profile}`,
      target: 'network',
      adaptation: `${adaptation}, over the simulated network (consensus-only profile '${profile}')`,
      apiLimit: NEEDS_VALIDATOR,
      run: (context: CatalogueContext) => networkRun(context, profile, false, 1),
    }),
  ),
  {
    id: 'withholder-signer',
    apiLimit: NEEDS_VALIDATOR,
    incident: 'issue 12: validators that commit to price signing and never sign',
    target: 'network',
    adaptation:
      'f validators (n = 4 and 7) send nonce commitments and withhold every share, over the simulated network; the threshold-signing protocol price-signing runs',
    run: withholderSigner,
  },
  {
    id: 'whole-node-withholder-signer',
    apiLimit: NEEDS_VALIDATOR,
    incident: 'issue 12: validators that commit to price signing and never sign (the whole node)',
    target: 'network',
    adaptation:
      'the whole node on every validator, each running src/node/price-signing.ts (DKG, FROST sessions, announcements); f deal, commit and never send a share; refused when every report opened after the heal is certified under the group key (certificate-liveness)',
    run: (context: CatalogueContext) => networkRun(context, 'withholder-signer', true, 1),
  },
  {
    id: 'whole-node-oracle-liar',
    apiLimit: NEEDS_VALIDATOR,
    incident: 'issue 12: f validators lie about prices to move marks',
    target: 'network',
    adaptation:
      'the whole node on every validator; f report far-off prices, zero or huge confidences, stale times',
    run: (context: CatalogueContext) => networkRun(context, 'oracle-liar', true, 1),
  },
  {
    id: 'whole-node-front-runner',
    apiLimit: NEEDS_VALIDATOR,
    incident: 'issue 12: a Byzantine leader front-runs, censors or reorders',
    target: 'network',
    adaptation:
      "the whole node on every validator; f leaders rewrite their proposals (sandwich, censor, reverse); refused when every invariant holds — the leader's profit is reported as the fair-ordering baseline",
    run: (context: CatalogueContext) => networkRun(context, 'front-runner', true, 1),
  },
  {
    id: 'whole-node-griefer',
    apiLimit:
      'floods every validator’s mempool from many funded and fresh keys for a simulated minute; against a shared devnet that is a denial of service, not a test (the API’s rate limits are tested in test/e2e)',
    incident: 'issue 12: spam, order floods, cancel storms, fresh keys',
    target: 'network',
    adaptation: 'the whole node on every validator; a funded hostile trader floods the mempools',
    run: (context: CatalogueContext) => networkRun(context, 'griefer', true, 1),
  },
]);

export interface EntryResult {
  id: string;
  incident: string;
  target: Target;
  adaptation: string;
  seed: number;
  verdict: Outcome['verdict'];
  loss: string;
  summary: string;
  evidence: Outcome['evidence'];
  ms: number;
}

/** Runs every entry (or those `only` names) for each of `seeds` seeds from `seedStart`. */
export async function runCatalogue(options: {
  seeds?: number;
  seedStart?: number;
  params?: Partial<EngineParameters> | undefined;
  node?: SimNodeFactory | undefined;
  only?: readonly string[] | undefined;
  now?: () => number;
}): Promise<EntryResult[]> {
  const seeds = options.seeds ?? 1;
  const start = options.seedStart ?? 1;
  const now = options.now ?? (() => performance.now());
  const results: EntryResult[] = [];
  for (const entry of CATALOGUE) {
    if (options.only !== undefined && !options.only.includes(entry.id)) continue;
    for (let i = 0; i < seeds; i++) {
      const seed = start + i;
      const began = now();
      const outcome = await entry.run({ seed, params: options.params, node: options.node });
      results.push({
        id: entry.id,
        incident: entry.incident,
        target: entry.target,
        adaptation: entry.adaptation,
        seed,
        verdict: outcome.verdict,
        loss: usdc(outcome.loss),
        summary: outcome.summary,
        evidence: outcome.evidence,
        ms: Math.round(now() - began),
      });
    }
  }
  return results;
}

/** The readable table: one line per entry and seed. */
export function formatTable(results: readonly EntryResult[]): string {
  const rows = results.map((r) => [
    r.id,
    String(r.seed),
    r.target,
    r.verdict,
    r.verdict === 'succeeded' ? r.loss : '-',
    r.summary,
  ]);
  const header = ['attack', 'seed', 'target', 'verdict', 'loss USDC', 'why'];
  const widths = header.map((title, column) =>
    Math.min(48, Math.max(title.length, ...rows.map((row) => row[column]!.length))),
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column < cells.length - 1 ? cell.padEnd(widths[column]!) : cell)).join('  ');
  const refused = results.filter((r) => r.verdict === 'refused').length;
  return [
    line(header),
    ...rows.map(line),
    '',
    `${results.length} run(s) of ${new Set(results.map((r) => r.id)).size} attack(s): ${refused} refused, ${results.length - refused} succeeded`,
  ].join('\n');
}
