/**
 * The validator's own composition for the simulator: `createNodeApplication` (consensus
 * application, mempool, the block rule of src/chain, oracle observations on votes) over the
 * simulated runtime's storage and clock, and the price-signing driver (src/node/price-signing.ts:
 * DKG, FROST certificates, announcements) over the simulated network, with its key files on the
 * simulated validator's disk. The composition root provides it to the simulator (`palisade sim
 * --mode whole-node`, test/sim), so the simulator attacks exactly what a validator runs; only the
 * TLS transport is not part of it (the simulated network authenticates senders as it does).
 */
import { AggregateFlag } from '../oracle/aggregate.ts';
import type { SimNode, SimNodeFactory, SimOpenedReport } from '../sim/whole-node.ts';
import { SIM_APPLICATION_LIMITS, SIM_MEMPOOL_LIMITS } from '../sim/whole-node.ts';
import { createNodeApplication } from './app.ts';
import { createPriceSigner, type PriceKeyStore } from './price-signing.ts';

/** The price key files as entries of the simulated validator's disk. */
function diskKeyStore(disk: Map<string, string>): PriceKeyStore {
  const prefix = 'price-keyset-';
  return {
    epochs: () =>
      [...disk.keys()]
        .filter((name) => name.startsWith(prefix))
        .map((name) => Number(name.slice(prefix.length)))
        .filter(Number.isSafeInteger),
    read: (epoch) => disk.get(`${prefix}${epoch}`),
    write: (epoch, text) => {
      disk.set(`${prefix}${epoch}`, text);
    },
    remove: (epoch) => {
      disk.delete(`${prefix}${epoch}`);
    },
  };
}

/**
 * @example runSimulation({ seed: 1, validators: 4, profile, node: createSimNode });
 */
export const createSimNode: SimNodeFactory = (parameters) => {
  const assets = parameters.assets.map((asset) => ({ ...asset, symbol: `ASSET-${asset.assetId}` }));
  const app = createNodeApplication({
    chainId: parameters.chainId,
    validators: parameters.validators,
    self: parameters.self,
    engineGenesis: parameters.engineGenesis,
    assets,
    storage: parameters.storage,
    wallClock: parameters.wallClock,
    monotonicClock: () => parameters.clock.now(),
    clock: parameters.clock,
    observe: parameters.observe,
    limits: { ...SIM_APPLICATION_LIMITS, ...parameters.applicationLimits },
    mempoolLimits: { ...SIM_MEMPOOL_LIMITS, ...parameters.mempoolLimits },
    ...(parameters.admitWithoutAccount === true ? { admitWithoutAccount: true } : {}),
    // Fair ordering as a validator runs it: key shares on votes, the envelope pool, the block rule's decryption.
    ...(parameters.fairOrdering === undefined
      ? {}
      : {
          fairOrdering: {
            rules: parameters.fairOrdering.rules,
            secretShare: parameters.fairOrdering.secretShare,
            signer: parameters.signer,
          },
        }),
  });
  const signing = parameters.priceSigning;
  const prices = createPriceSigner({
    chainId: parameters.chainId,
    self: parameters.self,
    validators: parameters.validators,
    signer: parameters.signer,
    secretKey: parameters.secretKey,
    keyStore: diskKeyStore(parameters.disk),
    epoch: 1,
    threshold: signing.threshold,
    everyBlocks: signing.everyBlocks,
    domain: signing.domain,
    assets,
    clock: parameters.clock,
    send: parameters.send,
    broadcast: parameters.broadcast,
    retryMs: signing.retryMs,
    attemptMs: signing.attemptMs,
    sessionTimeoutMs: signing.sessionTimeoutMs,
    dkgDealMs: signing.dkgDealMs,
    dkgComplaintMs: signing.dkgComplaintMs,
  });
  const opened: SimOpenedReport[] = [];
  // As src/node/node.ts does: every block executed live (not replayed) feeds price signing.
  app.onApplied((applied) => {
    if (applied.replay) return;
    const height = applied.summary.height;
    if (prices.keyset() !== undefined && height % signing.everyBlocks === 0)
      for (const price of applied.aggregate.prices)
        if (price.priceTicks > 0n && (price.flags & AggregateFlag.STALE) === 0)
          opened.push({
            height,
            assetId: price.assetId,
            priceTicks: price.priceTicks,
            confidenceTicks: price.confidenceTicks,
            publishTime: Math.floor(price.publishTimeMs / 1000),
          });
    prices.onAggregates(height, applied.aggregate.prices, parameters.clock.now());
  });
  const node: SimNode = {
    application: {
      propose: (context) => app.propose(context),
      verify: (context, payload) => app.verify(context, payload),
      finalized: (block) => app.finalized(block),
      processedHeight: () => app.processedHeight(),
      finalizedAhead: (block) => app.finalizedAhead(block),
      extension: (kind, view, digest) => app.extension(kind, view, digest),
      wantsLateExtension: (extension) => app.wantsLateExtension(extension),
      verifyExtension: (signer, kind, view, digest, extension) =>
        app.verifyExtension(signer, kind, view, digest, extension),
    },
    get engine() {
      return app.engine;
    },
    open: () => {
      app.open();
    },
    admit(bytes, nowMs) {
      const result = app.mempool.admit(bytes, { height: app.engine.height + 1, nowMs });
      return result.status === 'accepted'
        ? { status: result.status }
        : { status: result.status, code: result.code };
    },
    submitEnvelope(bytes) {
      const admission = app.submitEnvelope(bytes);
      return admission.ok ? { status: 'accepted' } : { status: 'refused', code: admission.code };
    },
    stateRootAt: (height) => app.stateRootAt(height),
    prices: {
      start: () => prices.start(),
      receive: (from, message) => prices.receive(from, message),
      keyset: () => prices.keyset(),
      opened: () => opened,
      stats: () => prices.stats(),
    },
    onApplied(listener) {
      app.onApplied((applied) => {
        listener({
          height: applied.summary.height,
          result: applied.result,
          aggregate: applied.aggregate,
          signers: applied.summary.transactions.map((outcome) =>
            outcome.signer.replace(/^0x/, '').toLowerCase(),
          ),
          nonces: applied.summary.transactions.map((outcome) => outcome.nonce),
          replay: applied.replay,
          fair: { admitted: applied.fair.admitted, openedHeights: applied.fair.openedHeights },
        });
      });
    },
  };
  return node;
};
