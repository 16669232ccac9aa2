/**
 * The price keyset and threshold-signed price certificates, over the validators' authenticated
 * transport (the `from` of every message is a TLS-authenticated validator index).
 *
 * DKG (no dealer). At start, when the data directory holds no key package for the genesis epoch,
 * every validator runs `createDkgParticipant`: it broadcasts its signed round-one package every
 * `retryMs` until it has finished, sends each peer its round-two share once it holds every
 * round-one package (shares that arrive early are held, one per sender), and re-sends its packages
 * to any peer that is still asking after it finished. The result — the key package plus the
 * packages it sent, so it can still answer peers after a restart — is written AES-256-GCM
 * encrypted under a key derived (HKDF-SHA-256) from the validator's identity seed, file mode 0600,
 * fsynced and renamed into place. A DKG needs every validator online; a validator that restarts
 * before finishing starts a new polynomial, which the others refuse as a conflicting package:
 * delete every `price-keyset-*.key` and restart all validators to run it again (logged).
 *
 * Signing (RFC 9591, two rounds). After every finalized block whose height is a multiple of
 * `everyBlocks`, every validator holds the same aggregates (they are a function of finalized
 * blocks), so each knows, without being told, what to sign: for each asset with a fresh,
 * non-stale aggregate the EIP-712 `PriceReport` digest. The coordinator of (height, asset) is
 * validator (height / everyBlocks + asset index) mod n. Each validator commits fresh nonces and
 * sends the commitment to the coordinator; the coordinator takes the first `threshold` to arrive,
 * sends that list to those signers, verifies every share (RFC 9591 §5.4) — a bad share names its
 * validator, counted in `stats().badShares` — aggregates, verifies the certificate against the group
 * key and announces it to everyone, who verify it again before keeping it as the latest for the
 * asset. A signer signs a session at most once, with nonces it never reuses.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FrostPublic, FrostSecret, Nonces } from '@noble/curves/abstract/frost.js';
import { peekTag } from '../codec/message.ts';
import { CertificateAnnouncementCodec, SigningRequestCodec } from '../codec/node.ts';
import {
  type AggregatePriceValue,
  FrostCommitmentBodyCodec,
  FrostShareBodyCodec,
  SignedOraclePackageCodec,
} from '../codec/oracle.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import {
  createDkgParticipant,
  DkgError,
  type DkgParticipant,
  openDkgPackage,
  sealDkgPackage,
} from '../crypto/dkg.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import {
  type FrostCommitment,
  FrostError,
  type FrostKeyPackage,
  frostCommit,
  frostSignShare,
} from '../crypto/frost.ts';
import {
  assemblePriceCertificate,
  type CertificateDomain,
  decodePriceCertificate,
  encodePriceCertificate,
  feedIdOf,
  type PriceCertificate,
  type PriceReport,
  priceReportDigest,
  verifyPriceCertificate,
} from '../interop/price-certificate.ts';
import { AggregateFlag } from '../oracle/aggregate.ts';
import type { Clock, PeerId } from '../runtime/types.ts';
import type { OracleAsset } from './genesis.ts';

/** Signing sessions held at once (over assets and heights); older ones are abandoned. */
const MAX_SESSIONS = 256;
/** Commitments that arrived before we finalized their block, held at most. */
const MAX_EARLY_COMMITMENTS = 1024;

export interface PriceSignerOptions {
  chainId: number;
  self: number;
  validators: readonly Uint8Array[];
  signer: Ed25519Signer;
  /** The identity seed: the key-file encryption key is derived from it. */
  secretKey: Uint8Array;
  dataDirectory: string;
  epoch: number;
  threshold: number;
  everyBlocks: number;
  domain: CertificateDomain;
  assets: readonly OracleAsset[];
  clock: Clock;
  send(to: PeerId, message: Uint8Array): void;
  broadcast(message: Uint8Array): void;
  log?: (level: 'info' | 'warn', message: string, details?: Record<string, unknown>) => void;
  retryMs?: number;
  sessionTimeoutMs?: number;
}

export interface LatestCertificate {
  assetId: number;
  symbol: string;
  height: number;
  certificate: PriceCertificate;
  encoded: Uint8Array;
}

export interface PriceSignerStats {
  dkg: 'running' | 'done' | 'failed';
  dkgCulprits: number[];
  sessionsStarted: number;
  certificates: number;
  failedSessions: number;
  /** Bad signature shares seen as coordinator, by validator index. */
  badShares: Record<number, number>;
}

export interface PriceSigner {
  start(): void;
  stop(): void;
  /** Takes a DKG (0x04xx) or signing (0x05xx) message from an authenticated peer. */
  receive(from: PeerId, message: Uint8Array): void;
  /** Called after every finalized block with the block's aggregates. */
  onAggregates(height: number, prices: readonly AggregatePriceValue[], nowMs: number): void;
  keyset():
    | { epoch: number; groupPublicKey: Uint8Array; threshold: number; participants: number }
    | undefined;
  latest(): LatestCertificate[];
  stats(): PriceSignerStats;
  /** Resolves once the DKG has produced (or loaded) a key package. */
  ready(): Promise<void>;
}

interface Session {
  readonly digestHex: string;
  readonly digest: Uint8Array;
  readonly report: PriceReport;
  readonly asset: OracleAsset;
  readonly height: number;
  readonly coordinator: number;
  readonly createdMs: number;
  nonces: Nonces | undefined;
  readonly own: FrostCommitment;
  /** Coordinator only. */
  readonly commitments: Map<number, FrostCommitment>;
  chosen: FrostCommitment[] | undefined;
  readonly shares: Map<number, Uint8Array>;
  signed: boolean;
  done: boolean;
}

// ---------------------------------------------------------------------------------------------
// Key file

interface KeyFile {
  version: 1;
  epoch: number;
  index: number;
  threshold: number;
  participants: number;
  groupPublicKey: string;
  public: {
    signers: { min: number; max: number };
    commitments: string[];
    verifyingShares: Record<string, string>;
  };
  secret: { identifier: string; signingShare: string };
  round1: string;
  round2: Record<string, string>;
}

function keyFilePath(dataDirectory: string, epoch: number): string {
  return join(dataDirectory, `price-keyset-${epoch}.key`);
}

function fileKey(secretKey: Uint8Array, chainId: number, epoch: number): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      secretKey,
      Buffer.from(`chain ${chainId}`),
      `palisade/price-keyset/v1/epoch ${epoch}`,
      32,
    ),
  );
}

/** Writes the key package encrypted, 0600, fsynced, then renamed into place (never half-written). */
export function writeKeyFile(path: string, key: Buffer, contents: KeyFile): void {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(contents), 'utf8'), cipher.final()]);
  const sealed = JSON.stringify({
    cipher: 'aes-256-gcm',
    kdf: 'hkdf-sha256(identity seed)',
    iv: iv.toString('hex'),
    tag: cipher.getAuthTag().toString('hex'),
    data: body.toString('hex'),
  });
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, sealed);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Reads a key file; undefined when absent; throws when present but unreadable (wrong key, torn). */
export function readKeyFile(path: string, key: Buffer): KeyFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const sealed = JSON.parse(text) as { iv: string; tag: string; data: string };
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'hex'));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'hex'));
  const plain = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'hex')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as KeyFile;
}

function bytesOf(hexText: string): Uint8Array<ArrayBuffer> {
  const bytes = fromHex(hexText);
  if (bytes === undefined) throw new TypeError('key file holds malformed hex');
  return Uint8Array.from(bytes);
}

function toKeyPackage(file: KeyFile): FrostKeyPackage {
  const publicPackage: FrostPublic = {
    signers: file.public.signers,
    commitments: file.public.commitments.map(bytesOf),
    verifyingShares: Object.fromEntries(
      Object.entries(file.public.verifyingShares).map(([id, share]) => [id, bytesOf(share)]),
    ),
  };
  const secret: FrostSecret = {
    identifier: file.secret.identifier,
    signingShare: bytesOf(file.secret.signingShare),
  };
  return Object.freeze({
    epoch: file.epoch,
    index: file.index,
    threshold: file.threshold,
    participants: file.participants,
    groupPublicKey: bytesOf(file.groupPublicKey),
    public: publicPackage,
    secret,
  });
}

function fromKeyPackage(key: FrostKeyPackage, round1: Uint8Array, round2: Map<number, Uint8Array>): KeyFile {
  return {
    version: 1,
    epoch: key.epoch,
    index: key.index,
    threshold: key.threshold,
    participants: key.participants,
    groupPublicKey: toHex(key.groupPublicKey),
    public: {
      signers: { min: key.public.signers.min, max: key.public.signers.max },
      commitments: key.public.commitments.map((c) => toHex(c)),
      verifyingShares: Object.fromEntries(
        Object.entries(key.public.verifyingShares).map(([id, share]) => [id, toHex(share)]),
      ),
    },
    secret: { identifier: key.secret.identifier, signingShare: toHex(key.secret.signingShare) },
    round1: toHex(round1),
    round2: Object.fromEntries([...round2.entries()].map(([to, bytes]) => [String(to), toHex(bytes)])),
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * @example const prices = createPriceSigner({ ...options }); prices.start(); transport.onMessage((from, m) => prices.receive(from, m));
 */
export function createPriceSigner(options: PriceSignerOptions): PriceSigner {
  const n = options.validators.length;
  const retryMs = options.retryMs ?? 1000;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 15_000;
  const log = options.log ?? (() => {});
  const path = keyFilePath(options.dataDirectory, options.epoch);
  const encryptionKey = fileKey(options.secretKey, options.chainId, options.epoch);
  const session = {
    chainId: options.chainId,
    epoch: options.epoch,
    participants: n,
    threshold: options.threshold,
  };

  let key: FrostKeyPackage | undefined;
  let participant: DkgParticipant | undefined;
  let dkgState: PriceSignerStats['dkg'] = 'running';
  let dkgCulprits: number[] = [];
  let round1Sealed: Uint8Array | undefined;
  const round2Sealed = new Map<number, Uint8Array>();
  const round1Seen = new Map<number, string>();
  const round2Seen = new Set<number>();
  const earlyRound2 = new Map<number, Uint8Array>();
  let collecting2 = false;
  const lastAnswerMs = new Map<number, number>();
  let cancelRetry: (() => void) | undefined;
  let running = false;
  let resolveReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const sessions = new Map<string, Session>();
  const earlyCommitments = new Map<string, { from: number; commitment: FrostCommitment }[]>();
  let earlyCount = 0;
  const latestByAsset = new Map<number, LatestCertificate>();
  const badShares: Record<number, number> = {};
  let sessionsStarted = 0;
  let certificates = 0;
  let failedSessions = 0;

  // ------------------------------------------------------------------ DKG

  const finishDkg = () => {
    if (participant === undefined) return;
    key = participant.finish();
    writeKeyFile(path, encryptionKey, fromKeyPackage(key, round1Sealed!, round2Sealed));
    dkgState = 'done';
    cancelRetry?.();
    log('info', 'price keyset ready', { epoch: key.epoch, groupPublicKey: toHex(key.groupPublicKey) });
    resolveReady();
  };

  const failDkg = (error: DkgError) => {
    dkgState = 'failed';
    dkgCulprits = [...error.culprits];
    cancelRetry?.();
    log('warn', 'DKG failed', { code: error.code, culprits: error.culprits, message: error.message });
  };

  const receiveShare = (bytes: Uint8Array, body: { sender: number }) => {
    if (round2Seen.has(body.sender)) return;
    const opened = openDkgPackage(bytes, options.chainId, options.validators);
    if (opened.kind !== 'round2') return;
    participant!.receiveRound2(opened.body);
    round2Seen.add(body.sender);
    if (round2Seen.size === n - 1) finishDkg();
  };

  const startRound2 = () => {
    const shares = participant!.round2();
    collecting2 = true;
    for (const body of shares) {
      const sealed = sealDkgPackage(options.signer, body);
      round2Sealed.set(body.recipient, sealed);
      options.send(body.recipient, sealed);
    }
    for (const [sender, bytes] of earlyRound2) receiveShare(bytes, { sender });
    earlyRound2.clear();
  };

  const onDkgPackage = (from: PeerId, bytes: Uint8Array) => {
    const opened = openDkgPackage(bytes, options.chainId, options.validators);
    if (opened.body.sender !== from) return;
    if (opened.body.epoch !== options.epoch) return;
    if (dkgState !== 'running') {
      // A peer still asking: answer with what we sent, at most once per retry interval.
      if (opened.kind !== 'round1' || round1Sealed === undefined) return;
      const now = options.clock.now();
      if (now - (lastAnswerMs.get(from) ?? Number.NEGATIVE_INFINITY) < retryMs) return;
      lastAnswerMs.set(from, now);
      options.send(from, round1Sealed);
      const share = round2Sealed.get(from);
      if (share !== undefined) options.send(from, share);
      return;
    }
    if (opened.kind === 'round1') {
      const fingerprint = toHex(bytes);
      const previous = round1Seen.get(from);
      if (previous !== undefined) {
        if (previous !== fingerprint)
          log('warn', 'conflicting DKG round-one package (did the peer restart mid-DKG?)', { peer: from });
        return;
      }
      participant!.receiveRound1(opened.body);
      round1Seen.set(from, fingerprint);
      if (round1Seen.size === n - 1) startRound2();
      return;
    }
    if (opened.body.recipient !== options.self) return;
    if (!collecting2) {
      if (!earlyRound2.has(from)) earlyRound2.set(from, bytes.slice());
      return;
    }
    receiveShare(bytes, opened.body);
  };

  const retry = () => {
    if (!running || dkgState !== 'running') return;
    if (round1Sealed !== undefined) options.broadcast(round1Sealed);
    for (const [to, share] of round2Sealed) options.send(to, share);
    cancelRetry = options.clock.setTimer(retryMs, retry);
  };

  // ------------------------------------------------------------------ signing

  const coordinatorOf = (height: number, assetIndex: number) =>
    (Math.floor(height / options.everyBlocks) + assetIndex) % n;

  const prune = (nowMs: number) => {
    for (const [digestHex, entry] of sessions) {
      if (nowMs - entry.createdMs > sessionTimeoutMs) {
        if (!entry.done && entry.coordinator === options.self) failedSessions++;
        sessions.delete(digestHex);
      }
    }
    while (sessions.size > MAX_SESSIONS) {
      const oldest = sessions.keys().next().value as string;
      sessions.delete(oldest);
    }
  };

  const requestShares = (entry: Session) => {
    if (entry.chosen !== undefined || entry.commitments.size < options.threshold) return;
    entry.chosen = [...entry.commitments.values()]
      .slice(0, options.threshold)
      .sort((a, b) => a.signer - b.signer);
    const request = SigningRequestCodec.encode({
      chainId: options.chainId,
      epoch: options.epoch,
      message: entry.digest,
      commitments: entry.chosen.map((c) => ({ signer: c.signer, hiding: c.hiding, binding: c.binding })),
    });
    for (const commitment of entry.chosen) {
      if (commitment.signer === options.self) signShare(entry, entry.chosen);
      else options.send(commitment.signer, request);
    }
  };

  const addCommitment = (entry: Session, commitment: FrostCommitment) => {
    if (entry.chosen !== undefined || entry.commitments.has(commitment.signer)) return;
    entry.commitments.set(commitment.signer, commitment);
    requestShares(entry);
  };

  const signShare = (entry: Session, chosen: readonly FrostCommitment[]) => {
    if (entry.signed || entry.nonces === undefined || key === undefined) return;
    entry.signed = true;
    const nonces = entry.nonces;
    entry.nonces = undefined;
    const share = frostSignShare(key, nonces, chosen, entry.digest);
    if (entry.coordinator === options.self) addShare(entry, options.self, share);
    else
      options.send(
        entry.coordinator,
        FrostShareBodyCodec.encode({
          chainId: options.chainId,
          epoch: options.epoch,
          message: entry.digest,
          signer: options.self,
          share,
        }),
      );
  };

  const keep = (entry: LatestCertificate) => {
    const current = latestByAsset.get(entry.assetId);
    if (current === undefined || current.height < entry.height) latestByAsset.set(entry.assetId, entry);
  };

  const addShare = (entry: Session, signer: number, share: Uint8Array) => {
    if (key === undefined || entry.done || entry.chosen === undefined) return;
    if (!entry.chosen.some((c) => c.signer === signer) || entry.shares.has(signer)) return;
    entry.shares.set(signer, share);
    if (entry.shares.size < entry.chosen.length) return;
    entry.done = true;
    try {
      const certificate = assemblePriceCertificate({
        report: entry.report,
        domain: options.domain,
        publicPackage: key.public,
        commitments: entry.chosen,
        shares: entry.shares,
      });
      if (!verifyPriceCertificate(certificate, { epoch: key.epoch, groupPublicKey: key.groupPublicKey })) {
        failedSessions++;
        log('warn', 'assembled price certificate does not verify', { height: entry.height });
        return;
      }
      const encoded = encodePriceCertificate(certificate);
      certificates++;
      keep({
        assetId: entry.asset.assetId,
        symbol: entry.asset.symbol,
        height: entry.height,
        certificate,
        encoded,
      });
      options.broadcast(
        CertificateAnnouncementCodec.encode({
          assetId: entry.asset.assetId,
          height: entry.height,
          certificate: encoded,
        }),
      );
    } catch (error) {
      if (!(error instanceof FrostError)) throw error;
      failedSessions++;
      if (error.code === 'BAD_SIGNATURE_SHARE')
        for (const bad of error.signers) badShares[bad] = (badShares[bad] ?? 0) + 1;
      log('warn', 'price signing failed', {
        code: error.code,
        validators: error.signers,
        height: entry.height,
      });
    }
  };

  const onCommitment = (from: PeerId, bytes: Uint8Array) => {
    const body = FrostCommitmentBodyCodec.decode(bytes);
    if (body.signer !== from || body.chainId !== options.chainId || body.epoch !== options.epoch) return;
    const commitment: FrostCommitment = { signer: from, hiding: body.hiding, binding: body.binding };
    const digestHex = toHex(body.message);
    const entry = sessions.get(digestHex);
    if (entry === undefined) {
      // We may not have finalized this block yet: hold the commitment for a while, bounded.
      if (earlyCount >= MAX_EARLY_COMMITMENTS) return;
      const list = earlyCommitments.get(digestHex) ?? [];
      if (list.length >= n) return;
      list.push({ from, commitment });
      earlyCommitments.set(digestHex, list);
      earlyCount++;
      return;
    }
    if (entry.coordinator === options.self) addCommitment(entry, commitment);
  };

  const onRequest = (from: PeerId, bytes: Uint8Array) => {
    const request = SigningRequestCodec.decode(bytes);
    if (request.chainId !== options.chainId || request.epoch !== options.epoch) return;
    const entry = sessions.get(toHex(request.message));
    if (entry === undefined || entry.coordinator !== from) return;
    const mine = request.commitments.find((c) => c.signer === options.self);
    // Our share is only ever computed over our own commitment, exactly as we sent it.
    if (
      mine === undefined ||
      toHex(mine.hiding) !== toHex(entry.own.hiding) ||
      toHex(mine.binding) !== toHex(entry.own.binding)
    )
      return;
    if (request.commitments.length < options.threshold) return;
    signShare(
      entry,
      request.commitments.map((c) => ({ signer: c.signer, hiding: c.hiding, binding: c.binding })),
    );
  };

  const onShare = (from: PeerId, bytes: Uint8Array) => {
    const body = FrostShareBodyCodec.decode(bytes);
    if (body.signer !== from || body.chainId !== options.chainId || body.epoch !== options.epoch) return;
    const entry = sessions.get(toHex(body.message));
    if (entry === undefined || entry.coordinator !== options.self) return;
    addShare(entry, from, body.share);
  };

  const onAnnouncement = (bytes: Uint8Array) => {
    if (key === undefined) return;
    const announcement = CertificateAnnouncementCodec.decode(bytes);
    const asset = options.assets.find((a) => a.assetId === announcement.assetId);
    if (asset === undefined) return;
    const certificate = decodePriceCertificate(announcement.certificate);
    if (toHex(certificate.report.feedId) !== toHex(feedIdOf(asset.symbol))) return;
    if (
      certificate.domain.chainId !== options.domain.chainId ||
      toHex(certificate.domain.verifyingContract) !== toHex(options.domain.verifyingContract)
    )
      return;
    if (!verifyPriceCertificate(certificate, { epoch: key.epoch, groupPublicKey: key.groupPublicKey }))
      return;
    keep({
      assetId: asset.assetId,
      symbol: asset.symbol,
      height: announcement.height,
      certificate,
      encoded: announcement.certificate.slice(),
    });
  };

  return {
    start() {
      if (running) return;
      running = true;
      const file = readKeyFile(path, encryptionKey);
      if (file !== undefined) {
        key = toKeyPackage(file);
        round1Sealed = bytesOf(file.round1);
        for (const [to, hexText] of Object.entries(file.round2))
          round2Sealed.set(Number(to), bytesOf(hexText));
        dkgState = 'done';
        resolveReady();
        return;
      }
      participant = createDkgParticipant(session, options.self);
      round1Sealed = sealDkgPackage(options.signer, participant.round1());
      retry();
    },

    stop() {
      running = false;
      cancelRetry?.();
    },

    receive(from, message) {
      if (!running || from === options.self) return;
      try {
        const tag = peekTag(message);
        if (tag === SignedOraclePackageCodec.tag) onDkgPackage(from, message);
        else if (tag === FrostCommitmentBodyCodec.tag) onCommitment(from, message);
        else if (tag === SigningRequestCodec.tag) onRequest(from, message);
        else if (tag === FrostShareBodyCodec.tag) onShare(from, message);
        else if (tag === CertificateAnnouncementCodec.tag) onAnnouncement(message);
      } catch (error) {
        if (
          error instanceof DkgError &&
          (error.code === 'BAD_SHARE' || error.code === 'BAD_PROOF_OF_KNOWLEDGE')
        ) {
          failDkg(error);
          return;
        }
        // Malformed or out-of-session input from a peer changes nothing here.
        log('warn', 'dropped price-signing message', { peer: from, reason: (error as Error).message });
      }
    },

    onAggregates(height, prices, nowMs) {
      prune(nowMs);
      if (!running || key === undefined || height % options.everyBlocks !== 0) return;
      options.assets.forEach((asset, assetIndex) => {
        const price = prices.find((p) => p.assetId === asset.assetId);
        if (price === undefined || price.priceTicks <= 0n || (price.flags & AggregateFlag.STALE) !== 0)
          return;
        const report: PriceReport = {
          feedId: feedIdOf(asset.symbol),
          price: price.priceTicks,
          confidence: price.confidenceTicks,
          exponent: -asset.decimals,
          publishTime: Math.floor(price.publishTimeMs / 1000),
          epoch: key!.epoch,
        };
        const digest = priceReportDigest(report, options.domain);
        const digestHex = toHex(digest);
        if (sessions.has(digestHex)) return;
        const { nonces, commitment } = frostCommit(key!);
        const entry: Session = {
          digestHex,
          digest,
          report,
          asset,
          height,
          coordinator: coordinatorOf(height, assetIndex),
          createdMs: nowMs,
          nonces,
          own: commitment,
          commitments: new Map(),
          chosen: undefined,
          shares: new Map(),
          signed: false,
          done: false,
        };
        sessions.set(digestHex, entry);
        sessionsStarted++;
        if (entry.coordinator === options.self) {
          addCommitment(entry, commitment);
          for (const early of earlyCommitments.get(digestHex) ?? []) addCommitment(entry, early.commitment);
        } else {
          options.send(
            entry.coordinator,
            FrostCommitmentBodyCodec.encode({
              chainId: options.chainId,
              epoch: options.epoch,
              message: digest,
              signer: options.self,
              hiding: commitment.hiding,
              binding: commitment.binding,
            }),
          );
        }
        const held = earlyCommitments.get(digestHex);
        if (held !== undefined) {
          earlyCount -= held.length;
          earlyCommitments.delete(digestHex);
        }
      });
      // Early commitments for sessions we never opened (stale for us) are forgotten with the rest.
      if (earlyCount > MAX_EARLY_COMMITMENTS / 2) {
        earlyCommitments.clear();
        earlyCount = 0;
      }
    },

    keyset: () =>
      key === undefined
        ? undefined
        : {
            epoch: key.epoch,
            groupPublicKey: key.groupPublicKey,
            threshold: key.threshold,
            participants: key.participants,
          },

    latest: () => [...latestByAsset.values()].sort((a, b) => a.assetId - b.assetId),

    stats: () => ({
      dkg: dkgState,
      dkgCulprits: [...dkgCulprits],
      sessionsStarted,
      certificates,
      failedSessions,
      badShares: { ...badShares },
    }),

    ready: () => readyPromise,
  };
}
