/**
 * The red team's network venue: an incident of economic.ts played through the whole-node
 * simulator rather than on the engine alone. Every validator runs the node (mempool, consensus,
 * the block rule, oracle observations on votes, price signing) over the simulated network; the
 * script's transactions are signed by the traders' keys and sent to every validator's mempool,
 * consensus orders them, and the block rule executes them. The script reads the state of one
 * honest validator between its blocks, as an attacker reading the API would.
 *
 * What differs from the engine venue (venue.ts), and how the script's calls map:
 *   tx        queues an action; `block` signs it with the nonce the state gives plus what this
 *             batch already used, and sends it; a transaction no mempool admits is evidence
 *             (`not admitted: CODE`) and uses no nonce;
 *   block(ms) every validator's wall clock jumps `ms` ahead (the script's block time), the chain
 *             finalizes two blocks at the new time (so observations are fresh), then the batch is
 *             sent and the run goes on until every admitted transaction has executed;
 *   spotUsdc, feed, liars  what each validator's sources read: the honest index, a feed stuck for
 *             every source, or the last `liars.length` validators' lies (the run's Byzantine
 *             validators, so the oracle invariant judges the aggregate against the others).
 * The honest twin (venue.ts) executes each finalized block's height and time with the honest index
 * and no transaction, so "fair" is measured as on the engine venue. The verdict is the scenario's
 * (fair-value ledger, bystanders) and the run's: a whole-node invariant broken under the attack
 * (safety, conservation, no loss without a position, liveness, certificates) is a success of the
 * attack, named with the command that replays it.
 */

import type { ExecutionAction } from '../../codec/execution.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { toHex } from '../../crypto/bytes.ts';
import type { Engine } from '../../execution/engine.ts';
import { actionTransaction } from '../../execution/fixtures.ts';
import type { BlockResult } from '../../execution/types.ts';
import { encodeVoteExtension, signObservation } from '../../oracle/observation.ts';
import { runSimulation, SIM_CHAIN_ID, type SimControl, type SimScenario } from '../harness.ts';
import { profileByName } from '../profiles.ts';
import { SIM_ASSET, type SimApplied, type SimNodeFactory } from '../whole-node.ts';
import type { EconomicContext, Incident } from './economic.ts';
import { type Outcome, scenarioOn } from './scenario.ts';
import {
  createHonestTwin,
  freshEntry,
  type Liar,
  markUsdcOf,
  type ObservedEntry,
  type Venue,
  type VenueBlock,
  venueGenesis,
} from './venue.ts';

/** Validators in a network-venue run. */
export const NETWORK_VENUE_VALIDATORS = 4;
/** Virtual ms the run waits for the chain to move, or for a batch to execute, before it gives up. */
const BLOCKS_WAIT_MS = 2_000;
const BATCH_WAIT_MS = 4_000;
/** Blocks finalized at the new time before a batch is sent. */
const BLOCKS_BEFORE_BATCH = 2;

export interface NetworkContext extends EconomicContext {
  node: SimNodeFactory;
}

/** Plays `incident` through the whole-node simulator (see the header). */
export async function runIncidentOnNetwork(
  id: string,
  incident: Incident,
  context: NetworkContext,
): Promise<Outcome> {
  const n = NETWORK_VENUE_VALIDATORS;
  const options = { ...incident.venue, seed: context.seed, params: context.params };
  const { genesis, signerOf } = venueGenesis(options, SIM_CHAIN_ID);
  const labels = Object.keys(options.traders);
  const keyOf = (label: string) => toHex(signerOf(label).publicKey);
  const honestTraders = new Set(
    labels.filter((label) => !incident.roles.coalition.includes(label)).map(keyOf),
  );
  const twin = createHonestTwin(genesis, context.seed, n);
  let offsetMs = 0;
  let outcome: Outcome | undefined;
  let stuck: string | undefined;

  const state: { spotUsdc: number; feed: ObservedEntry | undefined; liars: Liar[] } = {
    spotUsdc: options.spotUsdc,
    feed: undefined,
    liars: [],
  };
  const observedEntry = (index: number, height: number): ObservedEntry | undefined => {
    const fresh = freshEntry(state.spotUsdc);
    const liar = state.liars[index - (n - state.liars.length)];
    return liar !== undefined ? liar(height, fresh.priceTicks) : (state.feed ?? fresh);
  };

  const scenario: SimScenario = {
    engineGenesis: genesis,
    assets: [SIM_ASSET],
    honestTraders,
    clockOffsetMs: () => offsetMs,
    observe(index, signer, height, wallMs) {
      const entry = observedEntry(index, height);
      if (entry === undefined) return undefined;
      return encodeVoteExtension(
        signObservation(signer, {
          chainId: SIM_CHAIN_ID,
          height,
          validator: signer.publicKey,
          timestampMs: wallMs,
          entries: [
            {
              assetId: SIM_ASSET.assetId,
              priceTicks: entry.priceTicks,
              confidenceTicks: entry.confidenceTicks,
              sourceCount: 3,
              sourceTimeMs: wallMs - entry.sourceAgeMs,
            },
          ],
        }),
      );
    },
    async drive(control) {
      const venue = networkVenue(control);
      // Marks exist before the script starts, as on the engine venue.
      await venue.settle();
      const s = scenarioOn(venue, labels, incident.roles);
      await incident.script(s);
      if (stuck !== undefined) s.fact(stuck);
      outcome = s.finish(incident.refusedBecause);
    },
  };

  /** The venue the script sees, over the running simulation. */
  const networkVenue = (control: SimControl): Venue & { settle(): Promise<void> } => {
    const engine = (): Engine => {
      const current = control.engine();
      if (current === undefined) throw new Error('the network venue has no honest validator to read');
      return current;
    };
    const blocks: VenueBlock[] = [];
    const listeners: ((block: VenueBlock) => void)[] = [];
    const refusedListeners: ((note: string | undefined, code: string) => void)[] = [];
    let pending: { label: string; action: ExecutionAction; note: string | undefined }[] = [];
    /** Sent and not yet executed, per signer in nonce order: the notes the blocks are matched with. */
    const inFlight = new Map<string, { nonce: number; note: string | undefined }[]>();
    let appliedHeight = 0;
    control.onApplied((applied: SimApplied) => {
      appliedHeight = applied.height;
      // The twin follows from the first block the script sees: the heights before it are empty
      // blocks of the honest index for it too, a millisecond apart.
      const timeMs = engine().timeMs;
      for (let height = twin.engine.height + 1; height < applied.height; height++)
        twin.block(height, timeMs - (applied.height - height), state.spotUsdc);
      const honest: BlockResult = twin.block(applied.height, timeMs, state.spotUsdc);
      const notes = applied.signers.map((signer) => inFlight.get(signer)?.shift()?.note);
      const block: VenueBlock = { result: applied.result, aggregate: applied.aggregate, honest, notes };
      blocks.push(block);
      for (const listener of listeners) listener(block);
    });
    const moreBlocks = async (count: number) => {
      const from = appliedHeight;
      if (!(await control.run(() => appliedHeight >= from + count, BLOCKS_WAIT_MS)))
        stuck ??= `the chain did not finalize ${count} blocks within ${BLOCKS_WAIT_MS} virtual ms after height ${from}`;
    };
    const venue: Venue & { settle(): Promise<void> } = {
      get engine() {
        return engine();
      },
      honest: twin.engine,
      genesis,
      get spotUsdc() {
        return state.spotUsdc;
      },
      set spotUsdc(value: number) {
        state.spotUsdc = value;
      },
      get feed() {
        return state.feed;
      },
      set feed(value: ObservedEntry | undefined) {
        state.feed = value;
      },
      get liars() {
        return state.liars;
      },
      set liars(value: Liar[]) {
        if (value.length > (n - 1) / 3)
          throw new Error(`a network venue has ${Math.floor((n - 1) / 3)} lying validators at most`);
        state.liars = value;
      },
      signer: signerOf,
      key: keyOf,
      tx(label, action, note) {
        pending.push({ label, action, note });
        return venue;
      },
      async block(advanceMs = 1000) {
        offsetMs += advanceMs;
        await moreBlocks(BLOCKS_BEFORE_BATCH);
        const batch = pending;
        pending = [];
        const used = new Map<string, number>();
        const waiting: { signer: string; nonce: number }[] = [];
        for (const { label, action, note } of batch) {
          const signer = signerOf(label);
          const key = keyOf(label);
          const nonce = (engine().account(key)?.nonce ?? 0) + (used.get(label) ?? 0);
          const bytes = SignedTransactionCodec.encode(
            actionTransaction(signer, nonce, action, { chainId: SIM_CHAIN_ID }),
          );
          const { admitted, code } = control.submit(bytes);
          if (admitted === 0) {
            for (const listener of refusedListeners) listener(note, code ?? 'unknown');
            continue;
          }
          used.set(label, (used.get(label) ?? 0) + 1);
          const queue = inFlight.get(key) ?? [];
          queue.push({ nonce, note });
          inFlight.set(key, queue);
          waiting.push({ signer: key, nonce });
        }
        const executed = () =>
          waiting.every(({ signer, nonce }) => (engine().account(signer)?.nonce ?? 0) > nonce);
        if (!(await control.run(executed, BATCH_WAIT_MS)))
          stuck ??= `a batch of ${waiting.length} admitted transactions did not all execute within ${BATCH_WAIT_MS} virtual ms`;
        // Whatever did not execute is forgotten: the next batch takes its nonces from the state.
        inFlight.clear();
      },
      blocks,
      markUsdc: (seriesId, from) => markUsdcOf(from ?? engine(), seriesId),
      onBlock(listener) {
        listeners.push(listener);
      },
      onRefused(listener) {
        refusedListeners.push(listener);
      },
      async settle() {
        await moreBlocks(BLOCKS_BEFORE_BATCH);
      },
    };
    return venue;
  };

  const liars = incident.lyingValidators ?? 0;
  const result = await runSimulation({
    seed: context.seed,
    validators: n,
    byzantine: liars,
    profile: profileByName(liars > 0 ? 'oracle-liar' : 'calm')!,
    node: context.node,
    scenario,
  });
  if (outcome === undefined) throw new Error('the network venue run ended before its script');
  const run = `whole node at n = ${n} (${liars} Byzantine), finalized ${result.finalizedMin}..${result.finalizedMax}, ${result.market?.acceptedOrders ?? 0} honest orders accepted, ${result.market?.certificates?.certified ?? 0} price reports certified; replay: palisade redteam --only ${id} --seed-start ${context.seed}${context.params === undefined ? '' : ' --inject no-band'}`;
  if (result.violations.length === 0) {
    outcome.evidence.facts.push(`${run}; every invariant kept`);
    return outcome;
  }
  const broken = result.violations.map((violation) => `${violation.invariant}: ${violation.detail}`);
  outcome.evidence.facts.push(run, ...broken);
  return {
    ...outcome,
    verdict: 'succeeded',
    summary: `the whole-node run broke ${broken.length} invariant(s): ${broken.join('; ')}${outcome.verdict === 'succeeded' ? `; ${outcome.summary}` : ''}`,
  };
}
