/**
 * Four validators' price signers (src/node/price-signing.ts: the real DKG and signing sessions)
 * and checkpoint signers (src/node/checkpoint-signing.ts) over an in-memory network with a manual
 * clock, so a test gets checkpoints certified by the node code itself.
 */
import { createEd25519Signer } from '../../src/crypto/ed25519.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { CheckpointCertificateCodec } from '../../src/interop/evm/checkpoint.ts';
import type { CertificateDomain } from '../../src/interop/price-certificate.ts';
import {
  type AppliedCheckpointBlock,
  type CheckpointSigner,
  createCheckpointSigner,
} from '../../src/node/checkpoint-signing.ts';
import { manualClock } from '../../src/node/manual-clock.ts';
import {
  createMemoryPriceKeyStore,
  createPriceSigner,
  type PriceSigner,
} from '../../src/node/price-signing.ts';

export interface CheckpointNetwork {
  prices: PriceSigner[];
  /** Empty until {@link CheckpointNetwork.attach}. */
  checkpoints: CheckpointSigner[];
  /** Creates every validator's checkpoint signer for the verifier's domain (known after the DKG). */
  attach(domain: CertificateDomain): void;
  /** Runs timers and delivers messages for `ms` of simulated time. */
  run(ms: number): void;
  /** Every validator but those in `silent` sees the block. */
  apply(block: Omit<AppliedCheckpointBlock, 'sign'>, silent?: ReadonlySet<number>): void;
  /** Drops every message a validator in this set sends from now on. */
  crashed: Set<number>;
}

const tagOf = (message: Uint8Array) => (message[1]! << 8) | message[2]!;

export async function startCheckpointNetwork(options: {
  everyBlocks: number;
  name: string;
}): Promise<CheckpointNetwork> {
  const n = 4;
  const { clock, advance } = manualClock();
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  const crashed = new Set<number>();
  const post = (from: number, to: number, message: Uint8Array) => {
    if (!crashed.has(from)) queue.push({ from, to, message });
  };
  const seeds = Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`${options.name} ${i}`)));
  const identities = seeds.map((seed) => createEd25519Signer(seed));
  const prices = identities.map((signer, self) =>
    createPriceSigner({
      chainId: 7,
      self,
      validators: identities.map((s) => s.publicKey),
      signer,
      secretKey: seeds[self]!,
      keyStore: createMemoryPriceKeyStore(),
      epoch: 1,
      threshold: 3,
      everyBlocks: 1_000_000,
      // Handovers only (no refresh here): checkpoints name the verifier's domain given to `attach`.
      domain: { chainId: 1, verifyingContract: new Uint8Array(20) },
      assets: [],
      clock,
      dkgDealMs: 2_000,
      dkgComplaintMs: 1_000,
      send: (to, message) => post(self, to, message),
      broadcast: (message) => {
        for (let to = 0; to < n; to++) if (to !== self) post(self, to, message);
      },
    }),
  );
  const checkpoints: CheckpointSigner[] = [];
  const attach = (domain: CertificateDomain) => {
    checkpoints.splice(0, checkpoints.length);
    prices.forEach((price, self) => {
      checkpoints.push(
        createCheckpointSigner({
          domain,
          everyBlocks: options.everyBlocks,
          prices: price,
          broadcast: (message) => {
            for (let to = 0; to < n; to++) if (to !== self) post(self, to, message);
          },
        }),
      );
    });
  };
  const deliver = () => {
    for (let budget = 0; queue.length > 0 && budget < 100_000; budget++) {
      const { from, to, message } = queue.shift()!;
      if (tagOf(message) === CheckpointCertificateCodec.tag) checkpoints[to]!.receive(from, message);
      else prices[to]!.receive(from, message);
    }
  };
  const run = (ms: number) => {
    deliver();
    advance(ms, deliver);
  };
  for (const price of prices) price.start();
  run(5_000);
  await Promise.all(prices.map((price) => price.ready()));
  return {
    prices,
    checkpoints,
    attach,
    run,
    crashed,
    apply(block, silent = new Set()) {
      checkpoints.forEach((checkpoint, i) => {
        if (!silent.has(i)) checkpoint.onBlock({ ...block, sign: true });
      });
      deliver();
    },
  };
}
