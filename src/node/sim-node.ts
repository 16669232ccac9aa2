/**
 * The validator's own composition for the simulator: `createNodeApplication` (consensus
 * application, mempool, the block rule of src/chain, oracle observations on votes) over the
 * simulated runtime's storage and clock. The composition root provides it to the simulator
 * (`palisade sim --mode whole-node`, test/sim), so the simulator attacks exactly what a validator
 * runs; only the transport and the price-signing driver are not part of it yet.
 */
import type { SimNode, SimNodeFactory } from '../sim/whole-node.ts';
import { SIM_APPLICATION_LIMITS } from '../sim/whole-node.ts';
import { createNodeApplication } from './app.ts';

/**
 * @example runSimulation({ seed: 1, validators: 4, profile, node: createSimNode });
 */
export const createSimNode: SimNodeFactory = (parameters) => {
  const app = createNodeApplication({
    chainId: parameters.chainId,
    validators: parameters.validators,
    self: parameters.self,
    engineGenesis: parameters.engineGenesis,
    assets: parameters.assets.map((asset) => ({ ...asset, symbol: `ASSET-${asset.assetId}` })),
    storage: parameters.storage,
    wallClock: parameters.wallClock,
    monotonicClock: () => parameters.clock.now(),
    clock: parameters.clock,
    observe: parameters.observe,
    limits: SIM_APPLICATION_LIMITS,
  });
  const node: SimNode = {
    application: {
      propose: (context) => app.propose(context),
      verify: (context, payload) => app.verify(context, payload),
      finalized: (block) => app.finalized(block),
      processedHeight: () => app.processedHeight(),
      extension: (kind, view, digest) => app.extension(kind, view, digest),
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
    stateRootAt: (height) => app.stateRootAt(height),
    onApplied(listener) {
      app.onApplied((applied) => {
        listener({
          height: applied.summary.height,
          result: applied.result,
          aggregate: applied.aggregate,
          signers: applied.summary.transactions.map((outcome) =>
            outcome.signer.replace(/^0x/, '').toLowerCase(),
          ),
          replay: applied.replay,
        });
      });
    },
  };
  return node;
};
