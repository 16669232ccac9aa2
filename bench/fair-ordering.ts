/**
 * `palisade bench fair-ordering [--json] [--quick] [--full] [--per-block] [--validators=N]
 *   [--no-devnet | --devnet-only] [--seconds=S] [--traders=N] [--batch=K] [--base-port=P]`:
 * what one validator spends per block to open k encrypted orders (k = 1, 100, 1,000), each figure beside a peer
 * measured in the same run, as a ratio; then, unless --no-devnet, a devnet with fair ordering
 * carrying encrypted beside plain order flow in one run: throughput, submit-to-execution latency
 * and finality-to-execution delay, each beside the goal (./lib/fair-ordering-devnet.ts).
 *
 * Per block of k orders from k senders (one identity each, src/crypto/shutter/key-shares.ts):
 * - identities: k hash-to-G1 (RFC 9380, Shutter's DST);
 * - share checks: the t shares of every identity, one validator's shares for the whole block in
 *   one weighted check (2 pairings + MSMs per validator), beside checking each share by its own
 *   two pairings;
 * - combine: Lagrange interpolation of t shares per identity;
 * - key check: all k combined keys in one weighted check (verifyDecryptionKeysBatch), beside
 *   checking each key alone;
 * - decrypt: k ciphertexts on noble and on mcl-wasm (the same interface), beside verifying k
 *   Ed25519 signatures (what admitting k plain orders costs).
 *
 * One identity per block (`perBlockIdentity`, the shape the chain uses): the n signed shares of the
 * block's one identity collected, checked and combined (src/node/fair-ordering.ts) once per block,
 * then the block opened by src/chain/encrypted-batch.ts on noble and on mcl-wasm, beside the
 * Ed25519 checks of as many plain transactions; and the client's encryption per order.
 *
 * Per-item operations (hashing, per-share and per-key checks, combining, decrypting) are linear in
 * k; where k × the per-item time would take long, a sample of `sampled` items is timed and scaled
 * to k (shown as `sampled`; `--full` times all k). Batched checks are always timed on all k.
 */

import { randomBytes } from 'node:crypto';
import { openEncryptedBatch } from '../src/chain/encrypted-batch.ts';
import { SignedOrderEnvelopeCodec } from '../src/codec/envelope.ts';
import { createEd25519Signer, ed25519Verify } from '../src/crypto/ed25519.ts';
import { sealOrder } from '../src/crypto/shutter/envelope.ts';
import {
  combineEonKeyset,
  combineEonSecretShare,
  dealEon,
  randomEonScalar,
} from '../src/crypto/shutter/eon-dkg.ts';
import {
  encodeShutterCiphertext,
  G1,
  type G1Point,
  G2,
  shutterDecryptBytes,
  shutterEncrypt,
  shutterIdentityPoint,
  verifyShutterDecryptionKey,
} from '../src/crypto/shutter/ibe.ts';
import {
  combineKeySharesWith,
  computeKeyShare,
  orderIdentity,
  releaseBatchKeyShare,
  verifyBlockKeysWith,
  verifyKeyShare,
} from '../src/crypto/shutter/key-shares.ts';
import {
  createMclBackend,
  nobleBackend,
  type PairingBackend,
} from '../src/crypto/shutter/pairing-backend.ts';
import { signTransaction, verifyTransactionSignature } from '../src/crypto/transaction.ts';
import { createBatchKeyCollector } from '../src/node/fair-ordering.ts';
import { createDecryptPool } from '../src/node/fair-ordering-decrypt.ts';
import { DEVNET_FAIR_DEFAULTS, devnetFairLines, runDevnetFairOrdering } from './lib/fair-ordering-devnet.ts';

const DECRYPT_SAMPLE = 100;
const round = (value: number) => Number(value.toFixed(value < 10 ? 2 : 1));
const ratio = (a: number, b: number) => Number((a / b).toFixed(2));

/** Times `body` over items [0, sample) and scales to `total`. */
function perItem(
  total: number,
  sample: number,
  body: (index: number) => void,
): { ms: number; sampled: number } {
  const count = Math.min(total, sample);
  const start = performance.now();
  for (let i = 0; i < count; i++) body(i);
  return { ms: round(((performance.now() - start) / count) * total), sampled: count };
}

function once(body: () => void): number {
  const start = performance.now();
  body();
  return round(performance.now() - start);
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const full = args.includes('--full');
  // Only the chain's shape (one identity per block): skips the per-(block, sender) figures.
  const perBlockOnly = args.includes('--per-block');
  const validatorsArgument = args.find((arg) => arg.startsWith('--validators='));
  const validators = validatorsArgument ? Number(validatorsArgument.slice('--validators='.length)) : 4;
  if (!Number.isInteger(validators) || validators < 4 || validators > 64) {
    console.error('palisade bench fair-ordering: --validators must be an integer in [4, 64]');
    return 2;
  }
  const numberArgument = (name: string, fallback: number, min: number, max: number) => {
    const raw = args.find((arg) => arg.startsWith(`--${name}=`));
    const value = raw === undefined ? fallback : Number(raw.slice(name.length + 3));
    if (!Number.isInteger(value) || value < min || value > max)
      throw new RangeError(`--${name} must be an integer in [${min}, ${max}]`);
    return value;
  };
  const devnetOnly = args.includes('--devnet-only');
  const withDevnet = devnetOnly || !args.includes('--no-devnet');
  let devnetOptions: Omit<Parameters<typeof runDevnetFairOrdering>[0], 'say'>;
  try {
    devnetOptions = {
      validators,
      traders: numberArgument('traders', DEVNET_FAIR_DEFAULTS.traders, 1, 64),
      batch: numberArgument('batch', DEVNET_FAIR_DEFAULTS.batch, 1, 64),
      warmupSeconds: DEVNET_FAIR_DEFAULTS.warmupSeconds,
      seconds: numberArgument('seconds', quick ? 10 : DEVNET_FAIR_DEFAULTS.seconds, 2, 3600),
      ...(args.some((arg) => arg.startsWith('--base-port='))
        ? { basePort: numberArgument('base-port', 0, 1024, 65_000) }
        : {}),
    };
  } catch (error) {
    console.error(`palisade bench fair-ordering: ${(error as Error).message}`);
    return 2;
  }
  if (devnetOnly) {
    const devnet = await runDevnetFairOrdering({
      ...devnetOptions,
      say: (text) => {
        if (!json) process.stderr.write(`${text}\n`);
      },
    });
    if (json)
      console.log(JSON.stringify({ benchmark: 'fair-ordering', node: process.version, devnet }, null, 2));
    else for (const line of devnetFairLines(devnet)) console.log(line);
    return 0;
  }
  const f = Math.floor((validators - 1) / 3);
  const threshold = 2 * f + 1;
  const sizes = quick ? [1, 100] : [1, 100, 1000];
  const sample = full ? Number.POSITIVE_INFINITY : quick ? 5 : 20;
  const progress = (text: string) => {
    if (!json) process.stderr.write(`${text}\n`);
  };

  progress(`eon DKG n = ${validators}, t = ${threshold}`);
  const dealings = Array.from({ length: validators }, (_, j) => dealEon(j, threshold, validators));
  const keyset = combineEonKeyset(dealings, threshold, validators);
  const secretShares = Array.from({ length: validators }, (_, i) => combineEonSecretShare(dealings, i));
  const mcl = await createMclBackend();
  const signer = createEd25519Signer(new Uint8Array(randomBytes(32)));

  const blocks = [];
  // The first pass (k = 1) only warms the JIT and mcl's tables; it is not reported.
  for (const [pass, k] of (perBlockOnly ? [] : [1, ...sizes]).entries()) {
    progress(pass === 0 ? 'warm-up' : `block of k = ${k} encrypted orders`);
    const senders = Array.from({ length: k }, () => new Uint8Array(randomBytes(32)));
    const preimages = senders.map((sender) => orderIdentity(7, 100, sender));
    // Setup (not timed): the orders, every validator's share for every identity, the wire ciphertexts.
    const identities: G1Point[] = preimages.map((preimage) => shutterIdentityPoint(preimage));
    const order = new Uint8Array(96); // an order's plaintext: three blocks after padding
    // Decryption is timed on at most DECRYPT_SAMPLE items unless --full, so only those are encrypted.
    const wires = identities
      .slice(0, full ? k : Math.min(k, DECRYPT_SAMPLE))
      .map((identity) =>
        encodeShutterCiphertext(
          shutterEncrypt(order, keyset.eonPublicKey, identity, new Uint8Array(randomBytes(32))),
        ),
      );
    const signers = Array.from({ length: threshold }, (_, i) => i);
    const shares = identities.map((identity) =>
      signers.map((i) => ({ validatorIndex: i, share: computeKeyShare(secretShares[i]!, identity) })),
    );
    const signed = senders.map((sender) => ({ message: sender, signature: signer.sign(sender) }));

    const hashIdentities = perItem(k, Math.max(sample, 50), (j) => shutterIdentityPoint(preimages[j]!));
    const identityBytes = identities.map((identity) => identity.toBytes(true));
    const shareBytes = shares.map((row) =>
      row.map(({ validatorIndex, share }) => ({ validatorIndex, share: share.toBytes(true) })),
    );
    const shareEach = perItem(k * threshold, sample, (index) => {
      const j = Math.floor(index / threshold);
      const { validatorIndex, share } = shares[j]![index % threshold]!;
      if (!verifyKeyShare(share, keyset.publicShares[validatorIndex]!, identities[j]!))
        throw new Error('share');
    });
    const eonKey = keyset.eonPublicKey.toBytes(true);
    const byBackend = (backend: PairingBackend) => {
      // One validator's shares for the whole block in one check per validator.
      const shareBatchMs = once(() => {
        for (const i of signers) {
          const own = shareBytes.map((row) => row.find((s) => s.validatorIndex === i)!.share);
          if (!verifyBlockKeysWith(backend, own, identityBytes, keyset.publicShares[i]!.toBytes(true)))
            throw new Error('share batch');
        }
      });
      const keys: Uint8Array[] = [];
      const combineMs = once(() => {
        for (const row of shareBytes) {
          const combined = combineKeySharesWith(backend, row, threshold);
          if (!combined.ok) throw new Error('combine');
          keys.push(combined.key);
        }
      });
      const keyBatchMs = once(() => {
        if (!verifyBlockKeysWith(backend, keys, identityBytes, eonKey)) throw new Error('key batch');
      });
      const decryptSample = full
        ? Number.POSITIVE_INFINITY
        : backend.name === 'noble'
          ? sample
          : DECRYPT_SAMPLE;
      const decrypt = perItem(k, decryptSample, (j) => {
        if (!shutterDecryptBytes(wires[j]!, keys[j]!, backend).ok) throw new Error('decrypt');
      });
      return {
        shareBatchMs,
        combineMs,
        keyBatchMs,
        decryptMs: decrypt.ms,
        decryptSampled: decrypt.sampled,
        keys,
      };
    };
    const noble = byBackend(nobleBackend);
    const fast = byBackend(mcl);
    const nobleKeys = noble.keys.map((bytes) => G1.fromBytes(bytes));
    const keyEach = perItem(k, sample, (j) => {
      if (!verifyShutterDecryptionKey(nobleKeys[j]!, keyset.eonPublicKey, identities[j]!))
        throw new Error('key');
    });
    const ed25519 = perItem(k, Number.POSITIVE_INFINITY, (j) => {
      if (!ed25519Verify(signer.publicKey, signed[j]!.message, signed[j]!.signature)) throw new Error('sig');
    });
    type Figure = 'shareBatchMs' | 'combineMs' | 'keyBatchMs' | 'decryptMs';
    const pick = (key: Figure) => ({
      nobleMs: noble[key],
      mclMs: fast[key],
      ratioNobleToMcl: ratio(noble[key], fast[key]),
    });
    const best = (key: Figure) => Math.min(noble[key], fast[key]);
    if (pass === 0) continue;
    blocks.push({
      k,
      hashIdentitiesMs: hashIdentities.ms,
      shareChecksBatched: {
        ...pick('shareBatchMs'),
        oneByOneNobleMs: shareEach.ms,
        ratioOneByOneToBatched: ratio(shareEach.ms, noble.shareBatchMs),
      },
      combine: pick('combineMs'),
      keyChecksBatched: {
        ...pick('keyBatchMs'),
        oneByOneNobleMs: keyEach.ms,
        ratioOneByOneToBatched: ratio(keyEach.ms, noble.keyBatchMs),
      },
      decrypt: { ...pick('decryptMs'), sampledNoble: noble.decryptSampled, sampledMcl: fast.decryptSampled },
      ed25519VerifyMs: ed25519.ms,
      ratioDecryptToEd25519: ratio(best('decryptMs'), ed25519.ms),
      totalBestMs: round(
        hashIdentities.ms + best('shareBatchMs') + best('combineMs') + best('keyBatchMs') + best('decryptMs'),
      ),
    });
  }

  // One identity per block (the shape the chain uses, src/chain/encrypted-batch.ts): the key work is
  // one collection of n signed shares whatever k, and each order costs its decryption and two
  // Ed25519 checks (envelope and inner transaction).
  const perBlockIdentity = [];
  const decryptPool = createDecryptPool({ threads: 2, inline: mcl });
  const validatorSigners = Array.from({ length: validators }, () =>
    createEd25519Signer(new Uint8Array(randomBytes(32))),
  );
  const chainId = 7;
  for (const [pass, k] of [1, ...sizes].entries()) {
    const height = 1000 + pass;
    progress(pass === 0 ? 'warm-up (one identity per block)' : `one identity per block, k = ${k}`);
    const released = validatorSigners.map((validatorSigner, i) => {
      const share = releaseBatchKeyShare(
        { chainId, eon: 1, validatorIndex: i, secretShare: secretShares[i]!, signer: validatorSigner },
        { batch: height, finalizedHeight: height },
      );
      if (!share.ok) throw new Error('release');
      return share.share;
    });
    let key: Uint8Array = new Uint8Array(0);
    const collectMs = once(() => {
      const collector = createBatchKeyCollector(
        {
          chainId,
          eon: 1,
          threshold,
          eonPublicKey: keyset.eonPublicKey,
          validatorKeys: validatorSigners.map((v) => v.publicKey),
          publicShares: keyset.publicShares,
        },
        height,
      );
      for (const share of released) if (!collector.offer(share).ok) throw new Error('offer');
      const combined = collector.combine();
      if (!combined.ok) throw new Error('combine');
      key = combined.key;
    });
    const count = full ? k : Math.min(k, sample);
    const traders = Array.from({ length: count }, () => createEd25519Signer(new Uint8Array(randomBytes(32))));
    const transactions = traders.map((trader) =>
      signTransaction(trader, { chainId, nonce: 0, expiryHeight: height, payload: new Uint8Array(80) }),
    );
    const encryptStart = performance.now();
    const envelopes = traders.map((trader, j) =>
      SignedOrderEnvelopeCodec.encode(
        sealOrder(trader, {
          chainId,
          eon: 1,
          eonPublicKey: keyset.eonPublicKey,
          targetHeight: height,
          fee: 1,
          transaction: transactions[j]!,
          sigma: new Uint8Array(randomBytes(32)),
        }),
      ),
    );
    const encryptPerOrderMs = (performance.now() - encryptStart) / count;
    // The key check is once per block; the rest is per order, timed on the sample and scaled to k.
    const openOn = (backend: PairingBackend) => {
      const timed = (list: Uint8Array[]) => {
        const start = performance.now();
        const opened = openEncryptedBatch({
          chainId,
          eon: 1,
          eonPublicKey: keyset.eonPublicKey,
          height,
          envelopes: list,
          key,
          nextNonce: () => 0,
          backend,
        });
        if (!opened.ok || opened.transactions.length !== list.length) throw new Error('open');
        return performance.now() - start;
      };
      const fixed = timed([]);
      const perOrder = Math.max(0, timed(envelopes) - fixed) / count;
      return fixed + perOrder * k;
    };
    // Decryption alone, inline on mcl and split across two worker threads (each on mcl).
    const ciphertexts = envelopes.map((bytes) => SignedOrderEnvelopeCodec.decode(bytes).ciphertext);
    const inlineStart = performance.now();
    for (const ciphertext of ciphertexts)
      if (!shutterDecryptBytes(ciphertext, key, mcl).ok) throw new Error('decrypt');
    const decryptInlineMs = ((performance.now() - inlineStart) / count) * k;
    await decryptPool.decrypt(ciphertexts.slice(0, 2), key); // threads loaded and warm
    const threadedStart = performance.now();
    const threaded = await decryptPool.decrypt(ciphertexts, key);
    if (!threaded.every((result) => result.ok)) throw new Error('threaded decrypt');
    const decryptThreadsMs = ((performance.now() - threadedStart) / count) * k;
    const openNobleMs = openOn(nobleBackend);
    const openMclMs = openOn(mcl);
    const plainStart = performance.now();
    for (const transaction of transactions)
      if (!verifyTransactionSignature(transaction)) throw new Error('plain');
    const plainMs = ((performance.now() - plainStart) / count) * k;
    if (pass === 0) continue;
    perBlockIdentity.push({
      k,
      sampled: count,
      collectAndCombineSharesMs: collectMs,
      encryptPerOrderMs: round(encryptPerOrderMs),
      openBlockNobleMs: round(openNobleMs),
      openBlockMclMs: round(openMclMs),
      decryptMclInlineMs: round(decryptInlineMs),
      decryptMclTwoThreadsMs: round(decryptThreadsMs),
      ratioInlineToThreads: ratio(decryptInlineMs, decryptThreadsMs),
      plainSignatureChecksMs: round(plainMs),
      ratioEncryptedToPlain: ratio(collectMs + Math.min(openNobleMs, openMclMs), plainMs),
    });
  }

  await decryptPool.close();

  // One pairing on each backend, the unit everything above is made of.
  const p = G1.BASE.multiply(randomEonScalar()).toBytes(true);
  const q = G2.BASE.multiply(randomEonScalar()).toBytes(true);
  const pairingNoble = perItem(10, 10, () => nobleBackend.pairingBytes(p, q));
  const pairingMcl = perItem(10, 10, () => mcl.pairingBytes(p, q));
  const devnet = withDevnet ? await runDevnetFairOrdering({ ...devnetOptions, say: progress }) : undefined;
  const result = {
    benchmark: 'fair-ordering',
    node: process.version,
    validators,
    threshold,
    pairing: {
      nobleMs: pairingNoble.ms / 10,
      mclMs: pairingMcl.ms / 10,
      ratio: ratio(pairingNoble.ms, pairingMcl.ms),
    },
    blocks,
    perBlockIdentity,
    ...(devnet === undefined ? {} : { devnet }),
  };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(
    `n=${validators} t=${threshold}; one validator's work per block; one pairing: noble ${result.pairing.nobleMs.toFixed(2)} ms, mcl-wasm ${result.pairing.mclMs.toFixed(2)} ms (×${result.pairing.ratio})`,
  );
  const pair = (figure: { nobleMs: number; mclMs: number; ratioNobleToMcl: number }) =>
    `noble ${figure.nobleMs} ms / mcl ${figure.mclMs} ms (×${figure.ratioNobleToMcl})`;
  for (const b of blocks) {
    console.log(
      `k=${b.k}: identities ${b.hashIdentitiesMs} ms` +
        ` | share checks, batched per validator: ${pair(b.shareChecksBatched)}; one by one (noble) ${b.shareChecksBatched.oneByOneNobleMs} ms = ×${b.shareChecksBatched.ratioOneByOneToBatched}` +
        ` | combine: ${pair(b.combine)}` +
        ` | key checks, one batch: ${pair(b.keyChecksBatched)}; one by one (noble) ${b.keyChecksBatched.oneByOneNobleMs} ms = ×${b.keyChecksBatched.ratioOneByOneToBatched}` +
        ` | decrypt: ${pair(b.decrypt)}; Ed25519 verify of as many ${b.ed25519VerifyMs} ms (decrypt ×${b.ratioDecryptToEd25519})` +
        ` | total with the faster of each ${b.totalBestMs} ms`,
    );
  }
  console.log("one identity per block (the chain's shape): key work once per block, then each order");
  for (const b of perBlockIdentity)
    console.log(
      `k=${b.k}: collect ${validators} signed shares + combine + check the key ${b.collectAndCombineSharesMs} ms` +
        ` | encrypt (client, noble) ${b.encryptPerOrderMs} ms per order` +
        ` | open the block (envelope check, decrypt, decode, signer and signature check): noble ${b.openBlockNobleMs} ms / mcl ${b.openBlockMclMs} ms` +
        ` | decrypt alone on mcl: inline ${b.decryptMclInlineMs} ms, two threads ${b.decryptMclTwoThreadsMs} ms (×${b.ratioInlineToThreads})` +
        ` | plain: Ed25519 of as many ${b.plainSignatureChecksMs} ms (encrypted ×${b.ratioEncryptedToPlain})`,
    );
  if (!full)
    console.log(`per-item figures above 20 items are timed on a sample and scaled (--full times all)`);
  if (devnet !== undefined) for (const line of devnetFairLines(devnet)) console.log(line);
  return 0;
}
