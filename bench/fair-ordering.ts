/**
 * `palisade bench fair-ordering [--json] [--quick] [--full] [--per-block] [--validators=N]
 *   [--no-devnet | --devnet-only] [--seconds=S] [--traders=N] [--batch=K] [--base-port=P]`:
 * what one validator spends per block to open k encrypted orders (k = 1, 16, 100, 1,000), each
 * figure beside a peer measured in the same run, as a ratio; then, unless --no-devnet, a devnet
 * with fair ordering carrying encrypted beside plain order flow in one run: throughput and
 * submit-to-execution latency, each beside the goal (./lib/fair-ordering-devnet.ts).
 *
 * Every order has its own identity (sender and the prefix it chose, src/crypto/shutter/key-shares.ts
 * `envelopeIdentity`), so a block of k orders has k keys. A block admits at most
 * MAX_BATCH_ENVELOPES (16) envelopes: k = 100 and 1,000 are cost curves, not blocks the chain makes.
 * Per block of k orders from k senders (`blocks`):
 * - identities: k hash-to-G1 (RFC 9380, Shutter's DST), uncached; and the same k looked up in
 *   `identityPointsOf`'s cache (a validator hashes an envelope's identity when its pool admits it);
 * - combine: the 2f + 1 validators' statements into k keys (`combineBatchKeyShares`: Lagrange
 *   interpolation of t shares per envelope);
 * - key check: the k keys in one weighted pairing check (src/chain/encrypted-batch.ts `isBatchKey`),
 *   beside checking each key alone by two pairings;
 * - share checks, only when the key check fails (a validator lied): each statement's k shares in
 *   one weighted check against its public share;
 * - decrypt: k ciphertexts, each with its own key, on noble and on mcl-wasm (the same interface),
 *   beside verifying k Ed25519 signatures (what admitting k plain orders costs).
 * The peer is the old scheme, one identity per block, timed with the same primitives: one hash,
 * one combine of t shares, one key checked, then the same k decryptions (one pairing each whatever
 * the key, so the decrypt figure is shared).
 *
 * The chain's path (`perBlock`): n signed statements for the block's k identities collected,
 * checked and combined (src/node/fair-ordering.ts `createBatchKeyCollector`), first with the
 * identity points not cached (a validator that did not pool the envelopes), then cached; the block
 * opened by src/chain/encrypted-batch.ts on noble and on mcl-wasm, beside the Ed25519 checks of as
 * many plain transactions; and the client's encryption per order.
 *
 * Per-item operations (hashing, per-key checks, decrypting, opening) are linear in k; where k × the
 * per-item time would take long, a sample of `sampled` items is timed and scaled to k (shown as
 * `sampled`; `--full` times all k). Combining and the batched checks are always timed on all k.
 */

import { randomBytes } from 'node:crypto';
import { batchKeyAt, isBatchKey, openEncryptedBatch } from '../src/chain/encrypted-batch.ts';
import { MAX_BATCH_ENVELOPES, SignedOrderEnvelopeCodec } from '../src/codec/envelope.ts';
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
  G2,
  shutterDecryptBytes,
  shutterEncrypt,
  shutterIdentityPoint,
  verifyShutterDecryptionKey,
} from '../src/crypto/shutter/ibe.ts';
import {
  combineBatchKeyShares,
  combineKeySharesWith,
  envelopeIdentity,
  identityPointsOf,
  releaseBatchKeyShares,
  verifyBlockKeysWith,
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

/** The mean of `times` runs of `body`, ms: for steps of about a millisecond. */
function mean(times: number, body: () => void): number {
  const start = performance.now();
  for (let i = 0; i < times; i++) body();
  return Number(((performance.now() - start) / times).toFixed(3));
}

const randomIdentity = (chainId: number) =>
  envelopeIdentity(chainId, new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32)));

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const full = args.includes('--full');
  // Only the chain's path (collector, openEncryptedBatch): skips the per-step figures.
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
  const sizes = quick ? [1, MAX_BATCH_ENVELOPES, 100] : [1, MAX_BATCH_ENVELOPES, 100, 1000];
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
  const chainId = 7;
  const eonKey = keyset.eonPublicKey.toBytes(true);

  const blocks = [];
  // The first pass (k = 1) only warms the JIT and mcl's tables; it is not reported.
  for (const [pass, k] of (perBlockOnly ? [] : [1, ...sizes]).entries()) {
    progress(pass === 0 ? 'warm-up' : `block of k = ${k} encrypted orders (one identity each)`);
    // Setup (not timed): k identities, every signer's statement (k shares), the wire ciphertexts.
    const preimages = Array.from({ length: k }, () => randomIdentity(chainId));
    const hashIdentities = (() => {
      const fresh = Array.from({ length: Math.min(k, Math.max(sample, 50)) }, () => randomIdentity(chainId));
      return perItem(k, fresh.length, (j) => identityPointsOf([fresh[j]!]));
    })();
    const points = identityPointsOf(preimages);
    const hashCachedMs = once(() => identityPointsOf(preimages));
    const signers = Array.from({ length: threshold }, (_, i) => i);
    const statements = signers.map((i) => ({
      validatorIndex: i,
      shares: points.map((point) => mcl.g1Multiply(point, secretShares[i]!)!),
    }));
    const order = new Uint8Array(96); // an order's plaintext: three blocks after padding
    // Decryption is timed on at most DECRYPT_SAMPLE items unless --full, so only those are encrypted.
    const wires = points
      .slice(0, full ? k : Math.min(k, DECRYPT_SAMPLE))
      .map((point) =>
        encodeShutterCiphertext(
          shutterEncrypt(order, keyset.eonPublicKey, G1.fromBytes(point), new Uint8Array(randomBytes(32))),
        ),
      );
    const signed = preimages.map((message) => ({ message, signature: signer.sign(message) }));
    const byBackend = (backend: PairingBackend) => {
      let key: Uint8Array = new Uint8Array(0);
      const combineMs = once(() => {
        const combined = combineBatchKeyShares(statements, threshold, backend);
        if (combined === undefined) throw new Error('combine');
        key = combined;
      });
      const keyBatchMs = once(() => {
        if (!isBatchKey(preimages, key, keyset.eonPublicKey, backend)) throw new Error('key batch');
      });
      // Only on the slow path (the combined keys failed their check): every statement's own check.
      const shareBatchMs = once(() => {
        for (const statement of statements)
          if (
            !verifyBlockKeysWith(
              backend,
              statement.shares,
              points,
              keyset.publicShares[statement.validatorIndex]!.toBytes(true),
            )
          )
            throw new Error('share batch');
      });
      const decryptSample = full
        ? Number.POSITIVE_INFINITY
        : backend.name === 'noble'
          ? sample
          : DECRYPT_SAMPLE;
      const decrypt = perItem(k, decryptSample, (j) => {
        if (!shutterDecryptBytes(wires[j]!, batchKeyAt(key, j), backend).ok) throw new Error('decrypt');
      });
      // The old scheme's key work, one identity for the whole block: its t shares combined, its key
      // checked (the first identity of this block stands for it).
      const firstShares = statements.map((s) => ({ validatorIndex: s.validatorIndex, share: s.shares[0]! }));
      const oneCombineMs = mean(5, () => {
        if (!combineKeySharesWith(backend, firstShares, threshold).ok) throw new Error('combine one');
      });
      const oneKey = batchKeyAt(key, 0);
      const oneKeyCheckMs = mean(5, () => {
        if (!verifyBlockKeysWith(backend, [oneKey], [points[0]!], eonKey)) throw new Error('key one');
      });
      return {
        combineMs,
        keyBatchMs,
        shareBatchMs,
        decryptMs: decrypt.ms,
        decryptSampled: decrypt.sampled,
        oneCombineMs,
        oneKeyCheckMs,
        key,
      };
    };
    const noble = byBackend(nobleBackend);
    const fast = byBackend(mcl);
    const keyEach = perItem(k, sample, (j) => {
      const keyJ = G1.fromBytes(batchKeyAt(noble.key, j));
      if (!verifyShutterDecryptionKey(keyJ, keyset.eonPublicKey, G1.fromBytes(points[j]!)))
        throw new Error('key');
    });
    const ed25519 = perItem(k, Number.POSITIVE_INFINITY, (j) => {
      if (!ed25519Verify(signer.publicKey, signed[j]!.message, signed[j]!.signature)) throw new Error('sig');
    });
    type Figure =
      | 'shareBatchMs'
      | 'combineMs'
      | 'keyBatchMs'
      | 'decryptMs'
      | 'oneCombineMs'
      | 'oneKeyCheckMs';
    const pick = (key: Figure) => ({
      nobleMs: noble[key],
      mclMs: fast[key],
      ratioNobleToMcl: ratio(noble[key], fast[key]),
    });
    const best = (key: Figure) => Math.min(noble[key], fast[key]);
    if (pass === 0) continue;
    const keyWork = best('combineMs') + best('keyBatchMs');
    const totalBestMs = round(hashIdentities.ms + keyWork + best('decryptMs'));
    const totalCachedMs = round(hashCachedMs + keyWork + best('decryptMs'));
    const oneIdentityMs = round(
      hashIdentities.ms / k + best('oneCombineMs') + best('oneKeyCheckMs') + best('decryptMs'),
    );
    blocks.push({
      k,
      overBlockLimit: k > MAX_BATCH_ENVELOPES,
      hashIdentitiesMs: hashIdentities.ms,
      hashIdentitiesSampled: hashIdentities.sampled,
      hashIdentitiesCachedMs: hashCachedMs,
      combine: pick('combineMs'),
      keyCheckBatched: {
        ...pick('keyBatchMs'),
        oneByOneNobleMs: keyEach.ms,
        ratioOneByOneToBatched: ratio(keyEach.ms, noble.keyBatchMs),
      },
      shareChecksOnBadKey: pick('shareBatchMs'),
      decrypt: { ...pick('decryptMs'), sampledNoble: noble.decryptSampled, sampledMcl: fast.decryptSampled },
      ed25519VerifyMs: ed25519.ms,
      ratioDecryptToEd25519: ratio(best('decryptMs'), ed25519.ms),
      totalBestMs,
      totalBestCachedMs: totalCachedMs,
      oneIdentityPerBlock: {
        combine: pick('oneCombineMs'),
        keyCheck: pick('oneKeyCheckMs'),
        totalBestMs: oneIdentityMs,
      },
      ratioPerEnvelopeToOneIdentity: ratio(totalBestMs, oneIdentityMs),
      ratioPerEnvelopeCachedToOneIdentity: ratio(totalCachedMs, oneIdentityMs),
    });
  }

  // The chain's path: n signed statements for the block's k identities through the collector
  // (src/node/fair-ordering.ts), then the block opened by src/chain/encrypted-batch.ts; each order
  // costs its decryption and two Ed25519 checks (envelope and inner transaction).
  const perBlock = [];
  const decryptPool = createDecryptPool({ threads: 2, inline: mcl });
  const validatorSigners = Array.from({ length: validators }, () =>
    createEd25519Signer(new Uint8Array(randomBytes(32))),
  );
  for (const [pass, k] of [1, ...sizes].entries()) {
    const height = 1000 + pass;
    progress(pass === 0 ? 'warm-up (the chain path)' : `the chain path, k = ${k}`);
    // The sampled orders are real envelopes, the first `count` of the block; the rest are identities.
    const count = full ? k : Math.min(k, sample);
    const traders = Array.from({ length: count }, () => createEd25519Signer(new Uint8Array(randomBytes(32))));
    const prefixes = traders.map(() => new Uint8Array(randomBytes(32)));
    const identities = [
      ...traders.map((trader, j) => envelopeIdentity(chainId, trader.publicKey, prefixes[j]!)),
      ...Array.from({ length: k - count }, () => randomIdentity(chainId)),
    ];
    // Hashed here without filling identityPointsOf's cache, so the first collector hashes them.
    const points = identities.map((identity) => shutterIdentityPoint(identity).toBytes(true));
    const released = validatorSigners.map((validatorSigner, i) => {
      const share = releaseBatchKeyShares(
        {
          chainId,
          eon: 1,
          validatorIndex: i,
          secretShare: secretShares[i]!,
          signer: validatorSigner,
          backend: mcl,
        },
        { batch: height, finalizedHeight: height, identities, points },
      );
      if (!share.ok) throw new Error('release');
      return share.share;
    });
    const collect = (backend: PairingBackend) => {
      let key: Uint8Array = new Uint8Array(0);
      const ms = once(() => {
        const collector = createBatchKeyCollector(
          {
            chainId,
            eon: 1,
            threshold,
            eonPublicKey: keyset.eonPublicKey,
            validatorKeys: validatorSigners.map((v) => v.publicKey),
            publicShares: keyset.publicShares,
            backend,
          },
          height,
          identities,
        );
        for (const share of released) if (!collector.offer(share).ok) throw new Error('offer');
        const combined = collector.combine();
        if (!combined.ok) throw new Error('combine');
        key = combined.key;
      });
      return { ms, key };
    };
    // The first collector hashes the k identities (not cached yet); the later ones find them.
    const uncached = collect(nobleBackend);
    const collectNoble = collect(nobleBackend);
    const collectMcl = collect(mcl);
    const key = collectMcl.key;
    const sampleKey = key.subarray(0, 48 * count);
    const transactions = traders.map((trader) =>
      signTransaction(trader, { chainId, nonce: 0, expiryHeight: height + 70, payload: new Uint8Array(80) }),
    );
    const encryptStart = performance.now();
    const envelopes = traders.map((trader, j) =>
      SignedOrderEnvelopeCodec.encode(
        sealOrder(trader, {
          chainId,
          eon: 1,
          eonPublicKey: keyset.eonPublicKey,
          identityPrefix: prefixes[j]!,
          expiryHeight: height + 6,
          fee: 1,
          transaction: transactions[j]!,
          sigma: new Uint8Array(randomBytes(32)),
        }),
      ),
    );
    const encryptPerOrderMs = (performance.now() - encryptStart) / count;
    // The block's key check is timed on all k; the rest is per order, timed on the sample, scaled.
    const openOn = (backend: PairingBackend) => {
      const keyCheck = (ids: readonly Uint8Array[], keys: Uint8Array) => {
        const start = performance.now();
        if (!isBatchKey(ids, keys, keyset.eonPublicKey, backend)) throw new Error('key check');
        return performance.now() - start;
      };
      const start = performance.now();
      const opened = openEncryptedBatch({
        chainId,
        eon: 1,
        eonPublicKey: keyset.eonPublicKey,
        height,
        envelopes,
        key: sampleKey,
        nextNonce: () => 0,
        backend,
      });
      if (!opened.ok || opened.transactions.length !== envelopes.length) throw new Error('open');
      const sampleMs = performance.now() - start;
      const perOrder = Math.max(0, sampleMs - keyCheck(identities.slice(0, count), sampleKey)) / count;
      return keyCheck(identities, key) + perOrder * k;
    };
    // Decryption alone, inline on mcl and split across two worker threads (each on mcl).
    const ciphertexts = envelopes.map((bytes) => SignedOrderEnvelopeCodec.decode(bytes).ciphertext);
    const inlineStart = performance.now();
    ciphertexts.forEach((ciphertext, j) => {
      if (!shutterDecryptBytes(ciphertext, batchKeyAt(sampleKey, j), mcl).ok) throw new Error('decrypt');
    });
    const decryptInlineMs = ((performance.now() - inlineStart) / count) * k;
    await decryptPool.decrypt(ciphertexts.slice(0, 2), sampleKey.subarray(0, 96)); // threads warm
    const threadedStart = performance.now();
    const threaded = await decryptPool.decrypt(ciphertexts, sampleKey);
    if (!threaded.every((result) => result.ok)) throw new Error('threaded decrypt');
    const decryptThreadsMs = ((performance.now() - threadedStart) / count) * k;
    const openNobleMs = openOn(nobleBackend);
    const openMclMs = openOn(mcl);
    const plainStart = performance.now();
    for (const transaction of transactions)
      if (!verifyTransactionSignature(transaction)) throw new Error('plain');
    const plainMs = ((performance.now() - plainStart) / count) * k;
    if (pass === 0) continue;
    const bestCollect = Math.min(collectNoble.ms, collectMcl.ms);
    perBlock.push({
      k,
      overBlockLimit: k > MAX_BATCH_ENVELOPES,
      sampled: count,
      collectUncachedNobleMs: uncached.ms,
      collectNobleMs: collectNoble.ms,
      collectMclMs: collectMcl.ms,
      encryptPerOrderMs: round(encryptPerOrderMs),
      openBlockNobleMs: round(openNobleMs),
      openBlockMclMs: round(openMclMs),
      decryptMclInlineMs: round(decryptInlineMs),
      decryptMclTwoThreadsMs: round(decryptThreadsMs),
      ratioInlineToThreads: ratio(decryptInlineMs, decryptThreadsMs),
      plainSignatureChecksMs: round(plainMs),
      ratioEncryptedToPlain: ratio(bestCollect + Math.min(openNobleMs, openMclMs), plainMs),
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
    maxBatchEnvelopes: MAX_BATCH_ENVELOPES,
    pairing: {
      nobleMs: pairingNoble.ms / 10,
      mclMs: pairingMcl.ms / 10,
      ratio: ratio(pairingNoble.ms, pairingMcl.ms),
    },
    blocks,
    perBlock,
    ...(devnet === undefined ? {} : { devnet }),
  };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(
    `n=${validators} t=${threshold}; one validator's work per block; one pairing: noble ${result.pairing.nobleMs.toFixed(2)} ms, mcl-wasm ${result.pairing.mclMs.toFixed(2)} ms (×${result.pairing.ratio})`,
  );
  console.log(
    `one identity per envelope; a block admits at most ${MAX_BATCH_ENVELOPES} envelopes: k above that (marked "curve") is a cost curve, not a block the chain makes`,
  );
  const pair = (figure: { nobleMs: number; mclMs: number; ratioNobleToMcl: number }) =>
    `noble ${figure.nobleMs} ms / mcl ${figure.mclMs} ms (×${figure.ratioNobleToMcl})`;
  const kLabel = (b: { k: number; overBlockLimit: boolean }) =>
    `k=${b.k}${b.overBlockLimit ? ' (curve)' : ''}`;
  for (const b of blocks) {
    console.log(
      `${kLabel(b)}: identities (hash to G1) ${b.hashIdentitiesMs} ms uncached, ${b.hashIdentitiesCachedMs} ms cached` +
        ` | combine ${threshold} statements into ${b.k} keys: ${pair(b.combine)}` +
        ` | key check, one weighted check: ${pair(b.keyCheckBatched)}; one by one (noble) ${b.keyCheckBatched.oneByOneNobleMs} ms = ×${b.keyCheckBatched.ratioOneByOneToBatched}` +
        ` | share checks if the key check fails: ${pair(b.shareChecksOnBadKey)}` +
        ` | decrypt (own key each): ${pair(b.decrypt)}; Ed25519 verify of as many ${b.ed25519VerifyMs} ms (decrypt ×${b.ratioDecryptToEd25519})` +
        ` | total with the faster of each ${b.totalBestMs} ms uncached, ${b.totalBestCachedMs} ms cached` +
        ` | peer, one identity per block (1 hash + combine ${pair(b.oneIdentityPerBlock.combine)} + key check ${pair(b.oneIdentityPerBlock.keyCheck)} + the same decryptions): ${b.oneIdentityPerBlock.totalBestMs} ms; per-envelope ×${b.ratioPerEnvelopeToOneIdentity} uncached, ×${b.ratioPerEnvelopeCachedToOneIdentity} cached`,
    );
  }
  console.log(
    "the chain's path: collect n signed statements, check and combine (createBatchKeyCollector), then open the block",
  );
  for (const b of perBlock)
    console.log(
      `${kLabel(b)}: collect ${validators} statements + combine + check the keys: identities uncached (noble) ${b.collectUncachedNobleMs} ms; cached: noble ${b.collectNobleMs} ms / mcl ${b.collectMclMs} ms` +
        ` | encrypt (client, noble, not prepared) ${b.encryptPerOrderMs} ms per order` +
        ` | open the block (key check, envelope check, decrypt, decode, signer and signature check): noble ${b.openBlockNobleMs} ms / mcl ${b.openBlockMclMs} ms` +
        ` | decrypt alone on mcl: inline ${b.decryptMclInlineMs} ms, two threads ${b.decryptMclTwoThreadsMs} ms (×${b.ratioInlineToThreads})` +
        ` | plain: Ed25519 of as many ${b.plainSignatureChecksMs} ms (encrypted, cached, ×${b.ratioEncryptedToPlain})`,
    );
  if (!full)
    console.log(
      `per-item figures above ${sample} items (hashing: ${Math.max(sample, 50)}) are timed on a sample and scaled (--full times all)`,
    );
  if (devnet !== undefined) for (const line of devnetFairLines(devnet)) console.log(line);
  return 0;
}
