/**
 * The bridge's wire formats (tags 0x046x): what a validator reports of the EVM vault's deposits,
 * how the report rides on its votes beside its oracle observation, and what the engine commits of
 * the deposits it credited.
 *
 * `DepositReportBody` — one validator's confirmed, not yet credited deposits for one height:
 *   chainId      the Palisade chain (signed in the domain too)
 *   height       the height whose votes carry it; a block of any other height refuses it
 *   validator    the validator's Ed25519 identity key
 *   evmChainId, vault
 *                the EVM chain and the vault contract the deposits were read from; a report for
 *                another chain or vault than the genesis names is refused by every verifier
 *   deposits     strictly ascending by vault nonce (one entry per nonce, canonical), each with
 *                every field of the `Deposited` event and its place: transaction hash, log index,
 *                Palisade account, token, amount (uint256), nonce
 * `SignedDepositReport` — the body and the validator's Ed25519 signature in the bridge domain.
 * `VoteExtension` — a vote's extension when the validator reports deposits: its encoded
 *   `SignedObservation` (or nothing) and its encoded `SignedDepositReport`. A vote that reports no
 *   deposit carries the bare observation, as before.
 * `CreditedDepositsRecord` — the engine's record of the vault nonces it credited: every nonce up
 *   to `watermark`, and those above it in `above` (ascending). Part of the state root.
 * `WithdrawalsRecord` — the engine's withdrawals of the current checkpoint period
 *   (src/execution/withdrawals.ts): the vault it pays from (EVM chain id, vault, token, the
 *   checkpoint period, the smallest withdrawal and the per-account cap per period), the next
 *   withdrawal id, the checkpoint height the entries belong to, the entries (ascending id), the
 *   account index that made each, and their root in the vault's leaf layout. Part of the state root, so a
 *   state proof of it proves the withdrawals root a checkpoint certifies.
 * `CheckpointRecord` — a validator's stored checkpoint (src/node/checkpoint-signing.ts, node
 *   storage only, never on the wire): the checkpoint the keyset signs (height, block hash, state
 *   root, withdrawals root, epoch), the vault its leaves name, the period's withdrawals (ascending
 *   id) and, once certified, the encoded 0x0451 certificate (else empty). It is what the API needs
 *   to serve a withdrawal's proof after a restart.
 */
import {
  ByteListType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  UintBigintType,
  type ValueOf,
} from '@chainsafe/ssz';
import { MAX_EXTENSION_BYTES } from './consensus.ts';
import { defineMessage } from './message.ts';
import { Address20 } from './oracle.ts';
import { Bytes32, Bytes64, Uint32, Uint64 } from './primitives.ts';

/** Deposits one report carries; a validator with more reports the lowest nonces first. */
export const MAX_REPORTED_DEPOSITS = 8;
/** Credited nonces kept above the watermark (the vault assigns nonces in order, so few). */
export const MAX_CREDITED_ABOVE = 4096;

const Uint256 = new UintBigintType(32);

export const ReportedDepositType = new ContainerType(
  {
    transactionHash: Bytes32,
    logIndex: Uint32,
    /** The 32-byte Palisade account credited. */
    account: Bytes32,
    token: Address20,
    amount: Uint256,
    nonce: Uint64,
  },
  { typeName: 'ReportedDeposit' },
);
export type ReportedDeposit = ValueOf<typeof ReportedDepositType>;

export const DepositReportBodyType = new ContainerType(
  {
    chainId: Uint64,
    height: Uint64,
    validator: Bytes32,
    evmChainId: Uint64,
    vault: Address20,
    deposits: new ListCompositeType(ReportedDepositType, MAX_REPORTED_DEPOSITS),
  },
  { typeName: 'DepositReportBody' },
);
export type DepositReportBody = ValueOf<typeof DepositReportBodyType>;

function reportBodyProblem(body: DepositReportBody, prefix: string) {
  for (let i = 0; i < body.deposits.length; i++) {
    const deposit = body.deposits[i]!;
    if (deposit.nonce === 0)
      return { field: `${prefix}deposits[${i}].nonce`, reason: 'vault nonces start at 1' };
    if (deposit.amount === 0n) return { field: `${prefix}deposits[${i}].amount`, reason: 'must be positive' };
    if (i > 0 && deposit.nonce <= body.deposits[i - 1]!.nonce)
      return { field: `${prefix}deposits[${i}].nonce`, reason: 'nonces must ascend strictly' };
  }
  return undefined;
}

export const DepositReportBodyCodec = defineMessage({
  name: 'DepositReportBody',
  tag: 0x0460,
  type: DepositReportBodyType,
  validate: (body) => reportBodyProblem(body, ''),
});

export const SignedDepositReportType = new ContainerType(
  { body: DepositReportBodyType, signature: Bytes64 },
  { typeName: 'SignedDepositReport' },
);
export type SignedDepositReport = ValueOf<typeof SignedDepositReportType>;

export const SignedDepositReportCodec = defineMessage({
  name: 'SignedDepositReport',
  tag: 0x0461,
  type: SignedDepositReportType,
  validate: (value) => reportBodyProblem(value.body, 'body.'),
});

export const VoteExtensionType = new ContainerType(
  {
    /** An encoded `SignedObservation`, or empty. */
    observation: new ByteListType(MAX_EXTENSION_BYTES),
    /** An encoded `SignedDepositReport`. */
    deposits: new ByteListType(SignedDepositReportCodec.maxBytes),
  },
  { typeName: 'VoteExtension' },
);
export type VoteExtension = ValueOf<typeof VoteExtensionType>;

export const VoteExtensionCodec = defineMessage({
  name: 'VoteExtension',
  tag: 0x0462,
  type: VoteExtensionType,
  maxBytes: MAX_EXTENSION_BYTES,
  validate: (value) =>
    value.deposits.length === 0
      ? { field: 'deposits', reason: 'a vote without deposits carries the bare observation' }
      : undefined,
});

/** Bytes a `VoteExtension` adds around its two parts (envelope and two offsets). */
export const VOTE_EXTENSION_OVERHEAD_BYTES = 3 + 2 * 4;

/**
 * How many deposits a report can carry in `maxBytes` (at most `MAX_REPORTED_DEPOSITS`): a vote
 * extension holds the observation first, and the report takes what is left.
 */
export function reportCapacity(maxBytes: number): number {
  const perDeposit = ReportedDepositType.maxSize;
  const empty = SignedDepositReportCodec.maxBytes - MAX_REPORTED_DEPOSITS * perDeposit;
  return Math.max(0, Math.min(MAX_REPORTED_DEPOSITS, Math.floor((maxBytes - empty) / perDeposit)));
}

export const CreditedDepositsRecordType = new ContainerType(
  { watermark: Uint64, above: new ListBasicType(Uint64, MAX_CREDITED_ABOVE) },
  { typeName: 'CreditedDepositsRecord' },
);
export type CreditedDepositsRecord = ValueOf<typeof CreditedDepositsRecordType>;

export const CreditedDepositsRecordCodec = defineMessage({
  name: 'CreditedDepositsRecord',
  tag: 0x0463,
  type: CreditedDepositsRecordType,
  validate: (value) => {
    for (let i = 0; i < value.above.length; i++) {
      const nonce = value.above[i]!;
      if (nonce <= value.watermark + 1 && i === 0)
        return { field: 'above[0]', reason: 'nonces above the watermark leave a gap after it' };
      if (i > 0 && nonce <= value.above[i - 1]!)
        return { field: `above[${i}]`, reason: 'must ascend strictly' };
    }
    return undefined;
  },
});

/** Withdrawals one checkpoint period holds; beyond it a withdrawal waits for the next period. */
export const MAX_WITHDRAWALS_PER_CHECKPOINT = 1024;

export const WithdrawalEntryType = new ContainerType(
  { id: Uint64, recipient: Address20, token: Address20, amount: Uint256 },
  { typeName: 'WithdrawalEntry' },
);

export const WithdrawalsRecordType = new ContainerType(
  {
    evmChainId: Uint64,
    vault: Address20,
    token: Address20,
    checkpointEveryBlocks: Uint64,
    minWithdrawal: Uint256,
    maxWithdrawalsPerAccount: Uint64,
    nextId: Uint64,
    checkpointHeight: Uint64,
    entries: new ListCompositeType(WithdrawalEntryType, MAX_WITHDRAWALS_PER_CHECKPOINT),
    /** The account index that made each entry (same order): what the per-account cap counts. */
    withdrawers: new ListBasicType(Uint64, MAX_WITHDRAWALS_PER_CHECKPOINT),
    root: Bytes32,
  },
  { typeName: 'WithdrawalsRecord' },
);
export type WithdrawalsRecord = ValueOf<typeof WithdrawalsRecordType>;

export const WithdrawalsRecordCodec = defineMessage({
  name: 'WithdrawalsRecord',
  tag: 0x0464,
  type: WithdrawalsRecordType,
  validate: (value) => {
    if (value.checkpointEveryBlocks < 1)
      return { field: 'checkpointEveryBlocks', reason: 'must be positive' };
    if (value.minWithdrawal < 1n) return { field: 'minWithdrawal', reason: 'must be positive' };
    if (value.maxWithdrawalsPerAccount < 1 || value.maxWithdrawalsPerAccount > MAX_WITHDRAWALS_PER_CHECKPOINT)
      return { field: 'maxWithdrawalsPerAccount', reason: 'must be 1 to the period bound' };
    if (value.withdrawers.length !== value.entries.length)
      return { field: 'withdrawers', reason: 'one account per entry' };
    const perAccount = new Map<number, number>();
    for (const [i, index] of value.withdrawers.entries()) {
      const count = (perAccount.get(index) ?? 0) + 1;
      if (count > value.maxWithdrawalsPerAccount)
        return { field: `withdrawers[${i}]`, reason: 'more entries than the per-account cap' };
      perAccount.set(index, count);
    }
    for (let i = 0; i < value.entries.length; i++) {
      const entry = value.entries[i]!;
      if (entry.id < 1 || entry.id >= value.nextId)
        return { field: `entries[${i}].id`, reason: 'must be an id already given' };
      if (i > 0 && entry.id <= value.entries[i - 1]!.id)
        return { field: `entries[${i}].id`, reason: 'must ascend strictly' };
    }
    return undefined;
  },
});

/**
 * Room for one encoded `CheckpointCertificate` (0x0451: 3 envelope bytes and a 205-byte body);
 * the codec layer cannot import the interop codec, so the bound is stated here with slack.
 */
export const MAX_CHECKPOINT_CERTIFICATE_BYTES = 256;

export const CheckpointRecordType = new ContainerType(
  {
    height: Uint64,
    blockHash: Bytes32,
    stateRoot: Bytes32,
    withdrawalsRoot: Bytes32,
    epoch: Uint64,
    evmChainId: Uint64,
    vault: Address20,
    token: Address20,
    checkpointEveryBlocks: Uint64,
    entries: new ListCompositeType(WithdrawalEntryType, MAX_WITHDRAWALS_PER_CHECKPOINT),
    /** The encoded certificate, or empty while the checkpoint is not certified. */
    certificate: new ByteListType(MAX_CHECKPOINT_CERTIFICATE_BYTES),
  },
  { typeName: 'CheckpointRecord' },
);
export type CheckpointRecordValue = ValueOf<typeof CheckpointRecordType>;

export const CheckpointRecordCodec = defineMessage({
  name: 'CheckpointRecord',
  tag: 0x0465,
  type: CheckpointRecordType,
  validate: (value) => {
    if (value.height < 1) return { field: 'height', reason: 'checkpoints start after genesis' };
    if (value.checkpointEveryBlocks < 1 || value.height % value.checkpointEveryBlocks !== 0)
      return { field: 'checkpointEveryBlocks', reason: 'must be positive and divide the height' };
    for (let i = 0; i < value.entries.length; i++) {
      const entry = value.entries[i]!;
      if (entry.id < 1) return { field: `entries[${i}].id`, reason: 'ids start at 1' };
      if (i > 0 && entry.id <= value.entries[i - 1]!.id)
        return { field: `entries[${i}].id`, reason: 'must ascend strictly' };
    }
    return undefined;
  },
});
