/**
 * Withdrawal checkpoints, FROST-certified by the price keyset (src/node/price-signing.ts runs the
 * sessions; this module decides what to sign and keeps what was signed).
 *
 * After every applied block whose height h is a multiple of the bridge's `checkpointEveryBlocks`,
 * every validator holds the same finalized block hash, state root and withdrawals list (a function
 * of finalized blocks), so each computes the same EIP-712 `Checkpoint` (src/interop/evm/
 * certificates.ts): (h, block hash, state root, the period's withdrawals root, the keyset's
 * epoch), and opens a signing session for its digest with first coordinator (h / k) mod n. An
 * honest validator signs only the digest it computed itself, so f validators that agree on a fake
 * checkpoint never gather the 2f + 1 shares a signature needs.
 *
 * The coordinator that assembles the signature verifies the certificate, keeps it and broadcasts
 * it (wire format 0x0451, src/interop/evm/checkpoint.ts); every other validator keeps a received
 * certificate only when it verifies against the group key and certifies exactly the checkpoint
 * it computed for that height. Each checkpoint keeps its withdrawals list, so the API serves a
 * withdrawal's leaf, Merkle proof and checkpoint (what `palisade withdraw` submits to the vault).
 * At most `retainCheckpoints` checkpoints are kept (oldest forgotten first).
 *
 * Records persist. Given the node's storage, each checkpoint is written under
 * `bridge/checkpoint/<height>` as a `CheckpointRecord` (src/codec/bridge.ts) when it is computed
 * and again when its certificate is kept, and every record is read back at start. Without that, a
 * restarted validator would serve proofs only for checkpoints it replays after its price key
 * loads, and none for blocks below a restored snapshot. A record read back is kept only when it
 * decodes, its entries hash to its withdrawals root, and its certificate (if any) certifies
 * exactly that checkpoint in our domain; anything else (a torn write, an edited file) is deleted.
 * The signature is not checked again at start (the key may not be loaded yet): it was checked
 * before it was first kept, and the vault checks it on every claim.
 */
import { CheckpointRecordCodec } from '../codec/bridge.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import type { WithdrawalsView } from '../execution/engine.ts';
import type { WithdrawalEntry } from '../execution/state.ts';
import type { EngineBridge } from '../execution/types.ts';
import { withdrawalsRootOf, withdrawalsTree } from '../execution/withdrawals.ts';
import { type Checkpoint, checkpointDigest } from '../interop/evm/certificates.ts';
import {
  type CheckpointCertificate,
  decodeCheckpointCertificate,
  encodeCheckpointCertificate,
  verifyCheckpointCertificate,
} from '../interop/evm/checkpoint.ts';
import type { CertificateDomain } from '../interop/price-certificate.ts';
import type { Storage } from '../runtime/types.ts';
import type { PriceSigner } from './price-signing.ts';

/** Checkpoints kept by default: a day of them at one block a second and k = 10. */
export const DEFAULT_RETAINED_CHECKPOINTS = 8640;

export interface CheckpointSignerOptions {
  /** The verifier's EIP-712 domain (genesis `priceCertificates`: the bridge's EVM chain). */
  domain: CertificateDomain;
  everyBlocks: number;
  prices: Pick<PriceSigner, 'keyset' | 'signDigest' | 'closeDigest'>;
  broadcast(message: Uint8Array): void;
  log?: (level: 'info' | 'warn', message: string, details?: Record<string, unknown>) => void;
  retainCheckpoints?: number;
  /** The node's storage: records are written there and read back at start. */
  storage?: Storage;
}

export interface CheckpointRecord {
  checkpoint: Checkpoint;
  /** The vault the entries' leaves name. */
  bridge: EngineBridge;
  entries: readonly WithdrawalEntry[];
  /** The encoded certificate once known. */
  certificate: Uint8Array | undefined;
}

export interface WithdrawalProof {
  entry: WithdrawalEntry;
  /** The vault's leaf hash and its proof, bottom up, as `MerkleProof.verify` takes them. */
  leaf: Uint8Array;
  proof: Uint8Array[];
  record: CheckpointRecord;
}

export interface AppliedCheckpointBlock {
  height: number;
  blockHash: Uint8Array;
  stateRoot: Uint8Array;
  withdrawals: WithdrawalsView;
  /** False while replaying stored blocks at start: record the checkpoint, do not sign. */
  sign: boolean;
}

export interface CheckpointSigner {
  onBlock(block: AppliedCheckpointBlock): void;
  /** A 0x0451 certificate from an authenticated peer; anything that does not verify is dropped. */
  receive(from: number, bytes: Uint8Array): void;
  byHeight(height: number): CheckpointRecord | undefined;
  /** The highest certified checkpoint. */
  latest(): CheckpointRecord | undefined;
  /** A withdrawal's proof in the checkpoint that holds it; undefined when unknown or forgotten. */
  proof(id: number): WithdrawalProof | undefined;
  stats(): { opened: number; certified: number; dropped: number };
}

const RECORD_PREFIX = 'bridge/checkpoint/';
const recordKey = (height: number) => `${RECORD_PREFIX}${height.toString(16).padStart(12, '0')}`;

function encodeRecord(record: CheckpointRecord): Uint8Array {
  const { checkpoint, bridge } = record;
  return CheckpointRecordCodec.encode({
    height: Number(checkpoint.height),
    blockHash: checkpoint.blockHash,
    stateRoot: checkpoint.stateRoot,
    withdrawalsRoot: checkpoint.withdrawalsRoot,
    epoch: Number(checkpoint.epoch),
    evmChainId: bridge.evmChainId,
    vault: bridge.vault,
    token: bridge.token,
    checkpointEveryBlocks: bridge.checkpointEveryBlocks,
    entries: record.entries.map((entry) => ({ ...entry })),
    certificate: record.certificate ?? new Uint8Array(0),
  });
}

/** The record in `bytes` when it is whole and consistent (see the header), else undefined. */
function decodeRecord(
  bytes: Uint8Array,
  domain: CheckpointSignerOptions['domain'],
): CheckpointRecord | undefined {
  let value: ReturnType<typeof CheckpointRecordCodec.decode>;
  try {
    value = CheckpointRecordCodec.decode(bytes);
  } catch {
    return undefined;
  }
  const bridge = {
    evmChainId: value.evmChainId,
    vault: value.vault,
    token: value.token,
    checkpointEveryBlocks: value.checkpointEveryBlocks,
  };
  const entries = value.entries.map((entry) => ({ ...entry }));
  if (!bytesEqual(withdrawalsRootOf(bridge, entries), value.withdrawalsRoot)) return undefined;
  const checkpoint: Checkpoint = {
    height: BigInt(value.height),
    blockHash: value.blockHash,
    stateRoot: value.stateRoot,
    withdrawalsRoot: value.withdrawalsRoot,
    epoch: BigInt(value.epoch),
  };
  if (value.certificate.length > 0) {
    let certificate: CheckpointCertificate;
    try {
      certificate = decodeCheckpointCertificate(value.certificate);
    } catch {
      return undefined;
    }
    const certified = certificate.checkpoint;
    if (
      certificate.domain.chainId !== domain.chainId ||
      !bytesEqual(certificate.domain.verifyingContract, domain.verifyingContract) ||
      !bytesEqual(checkpointDigest(certified, domain), checkpointDigest(checkpoint, domain))
    )
      return undefined;
  }
  return {
    checkpoint,
    bridge,
    entries,
    certificate: value.certificate.length > 0 ? value.certificate : undefined,
  };
}

/**
 * @example const checkpoints = createCheckpointSigner({ domain, everyBlocks: 10, prices, broadcast });
 */
export function createCheckpointSigner(options: CheckpointSignerOptions): CheckpointSigner {
  const retain = options.retainCheckpoints ?? DEFAULT_RETAINED_CHECKPOINTS;
  const log = options.log ?? (() => {});
  const records = new Map<number, CheckpointRecord>();
  const heightOfWithdrawal = new Map<number, number>();
  let latestCertified: number | undefined;
  let opened = 0;
  let certified = 0;
  let dropped = 0;
  const storage = options.storage;

  const forget = () => {
    while (records.size > retain) {
      const [height, record] = records.entries().next().value as [number, CheckpointRecord];
      records.delete(height);
      storage?.delete(recordKey(height));
      for (const entry of record.entries) heightOfWithdrawal.delete(entry.id);
    }
  };

  const noteCertified = (height: number) => {
    if (latestCertified === undefined || height > latestCertified) latestCertified = height;
  };

  const keep = (record: CheckpointRecord, certificate: CheckpointCertificate) => {
    if (record.certificate !== undefined) return;
    record.certificate = encodeCheckpointCertificate(certificate);
    certified++;
    const height = Number(record.checkpoint.height);
    storage?.put(recordKey(height), encodeRecord(record));
    noteCertified(height);
  };

  // Keys sort as the heights they encode, so the records load (and are forgotten) oldest first.
  for (const key of storage?.keys(RECORD_PREFIX) ?? []) {
    const bytes = storage!.get(key);
    const record = bytes === undefined ? undefined : decodeRecord(bytes, options.domain);
    const height = Number.parseInt(key.slice(RECORD_PREFIX.length), 16);
    if (record === undefined || Number(record.checkpoint.height) !== height) {
      storage!.delete(key);
      log('warn', 'dropped a stored checkpoint record that does not read back whole', { key });
      continue;
    }
    records.set(height, record);
    for (const entry of record.entries) heightOfWithdrawal.set(entry.id, height);
    if (record.certificate !== undefined) noteCertified(height);
  }
  forget();

  const groupKeyset = (epoch: bigint) => {
    const keyset = options.prices.keyset();
    // Refresh keeps the group key: every epoch up to ours verifies with it.
    if (keyset === undefined || epoch > BigInt(keyset.epoch)) return undefined;
    return { epoch: Number(epoch), groupPublicKey: keyset.groupPublicKey };
  };

  return {
    onBlock(block) {
      if (block.height === 0 || block.height % options.everyBlocks !== 0 || records.has(block.height)) return;
      const keyset = options.prices.keyset();
      if (keyset === undefined) return;
      const checkpoint: Checkpoint = {
        height: BigInt(block.height),
        blockHash: Uint8Array.from(block.blockHash),
        stateRoot: Uint8Array.from(block.stateRoot),
        withdrawalsRoot: block.withdrawals.root.slice(),
        epoch: BigInt(keyset.epoch),
      };
      const entries = block.withdrawals.checkpointHeight === block.height ? block.withdrawals.entries : [];
      const record: CheckpointRecord = {
        checkpoint,
        bridge: block.withdrawals.bridge,
        entries,
        certificate: undefined,
      };
      records.set(block.height, record);
      storage?.put(recordKey(block.height), encodeRecord(record));
      for (const entry of entries) heightOfWithdrawal.set(entry.id, block.height);
      forget();
      if (!block.sign) return;
      const digest = checkpointDigest(checkpoint, options.domain);
      // The turn, unreduced: the price signer reduces it by the member count of the key's epoch,
      // which a validator-set change moves away from the genesis count.
      const base = Math.floor(block.height / options.everyBlocks);
      const started = options.prices.signDigest(digest, keyset.epoch, base, (signature) => {
        const certificate = { domain: options.domain, checkpoint, signature };
        const encoded = encodeCheckpointCertificate(certificate);
        const verdict = verifyCheckpointCertificate(encoded, groupKeyset(checkpoint.epoch)!, options.domain);
        if (!verdict.ok) {
          log('warn', 'assembled checkpoint certificate does not verify', { height: block.height });
          return;
        }
        keep(record, certificate);
        options.broadcast(encoded);
      });
      if (started) opened++;
    },

    receive(from, bytes) {
      let certificate: CheckpointCertificate;
      try {
        certificate = decodeCheckpointCertificate(bytes);
      } catch {
        dropped++;
        return;
      }
      const record = records.get(Number(certificate.checkpoint.height));
      const keyset = groupKeyset(certificate.checkpoint.epoch);
      const ours = record?.checkpoint;
      // Only the checkpoint we computed ourselves, signed by the group key, is kept.
      if (
        record === undefined ||
        ours === undefined ||
        keyset === undefined ||
        !bytesEqual(ours.blockHash, certificate.checkpoint.blockHash) ||
        !bytesEqual(ours.stateRoot, certificate.checkpoint.stateRoot) ||
        !bytesEqual(ours.withdrawalsRoot, certificate.checkpoint.withdrawalsRoot) ||
        !verifyCheckpointCertificate(bytes, keyset, options.domain).ok
      ) {
        dropped++;
        log('warn', 'dropped checkpoint certificate', { peer: from });
        return;
      }
      if (certificate.checkpoint.epoch !== ours.epoch) record.checkpoint = certificate.checkpoint;
      options.prices.closeDigest(checkpointDigest(ours, options.domain), Number(ours.epoch));
      keep(record, certificate);
    },

    byHeight: (height) => records.get(height),

    latest: () => (latestCertified === undefined ? undefined : records.get(latestCertified)),

    proof(id) {
      const height = heightOfWithdrawal.get(id);
      const record = height === undefined ? undefined : records.get(height);
      if (record === undefined) return undefined;
      const index = record.entries.findIndex((entry) => entry.id === id);
      const tree = withdrawalsTree(record.bridge, record.entries)!;
      return { entry: record.entries[index]!, leaf: tree.leafHash(index), proof: tree.proof(index), record };
    },

    stats: () => ({ opened, certified, dropped }),
  };
}
