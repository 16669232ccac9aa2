/**
 * The execution layer's actions: what a transaction's payload carries (tags 0x03xx). One payload
 * holds exactly one action; its envelope tag says which. Every field is fixed-size, so an action
 * has one encoding and a decoder rejects anything longer (an unknown or extra field is
 * `TRAILING_BYTES`, never silently ignored).
 *
 * Units: money in base units of the quote asset (6 decimals, USDC-like); option prices in quote
 * base units per contract, which must be a multiple of the series' tick size; sizes in contracts
 * × 10^6 (`sizeE6`), a multiple of the series' lot size. Every u64 must decode to a safe integer
 * (message.ts refuses the rest with INVALID_VALUE naming the field); the engine turns such a size
 * or price (a "negative" u64 among them) into `INVALID_SIZE` / `INVALID_PRICE`, and range-checks
 * zero and off-lot values itself.
 */
import {
  ByteListType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  UintBigintType,
  type ValueOf,
} from '@chainsafe/ssz';
import { CodecError } from './errors.ts';
import { decodeAny, defineMessage, type MessageCodec } from './message.ts';
import { Address20 } from './oracle.ts';
import { Bool, Bytes32, Bytes64, Uint8, Uint16, Uint32, Uint64 } from './primitives.ts';

export const ORDER_SIDE = Object.freeze({ buy: 0, sell: 1 } as const);
export const ORDER_KIND = Object.freeze({ limit: 0, market: 1 } as const);
export const TIME_IN_FORCE = Object.freeze({ gtc: 0, ioc: 1, fok: 2 } as const);
export const MARGIN_MODE = Object.freeze({ standard: 0, portfolio: 1 } as const);

type Problem = { field: string; reason: string } | undefined;

function enumField(value: number, limit: number, field: string): Problem {
  return value < limit ? undefined : { field, reason: `must be below ${limit}` };
}

/** Credits an account with quote collateral; only the genesis-listed operator (bridge) may sign it. */
export const DepositType = new ContainerType({ account: Bytes32, amount: Uint64 }, { typeName: 'Deposit' });
export type Deposit = ValueOf<typeof DepositType>;
export const DepositCodec = defineMessage({
  name: 'Deposit',
  tag: 0x0301,
  type: DepositType,
});

/**
 * Takes quote collateral out of the signer's account (refused below initial margin) to `recipient`
 * on the EVM chain, paid by the vault in `token` (the genesis bridge's ERC-20; src/execution/
 * withdrawals.ts). Both are 20-byte addresses; a network without a bridge debits and pays nothing.
 */
export const WithdrawType = new ContainerType(
  { amount: Uint64, recipient: Address20, token: Address20 },
  { typeName: 'Withdraw' },
);
export type Withdraw = ValueOf<typeof WithdrawType>;
export const WithdrawCodec = defineMessage({
  name: 'Withdraw',
  tag: 0x0302,
  type: WithdrawType,
});

export const PlaceOrderType = new ContainerType(
  {
    seriesId: Uint32,
    /** {@link ORDER_SIDE} */
    side: Uint8,
    /** {@link ORDER_KIND}; a market order's `price` is ignored and must be 0. */
    kind: Uint8,
    /** {@link TIME_IN_FORCE}; a market order is IOC or FOK. */
    timeInForce: Uint8,
    postOnly: Bool,
    reduceOnly: Bool,
    /** Quote base units per contract; a multiple of the series' tick size. */
    price: Uint64,
    /** Contracts × 10^6; a positive multiple of the series' lot size. */
    sizeE6: Uint64,
    /** Chosen by the trader; 0 means none. A repeated non-zero id is answered, not re-executed. */
    clientOrderId: Uint64,
  },
  { typeName: 'PlaceOrder' },
);
export type PlaceOrder = ValueOf<typeof PlaceOrderType>;
export const PlaceOrderCodec = defineMessage({
  name: 'PlaceOrder',
  tag: 0x0303,
  type: PlaceOrderType,
  validate: (value) =>
    enumField(value.side, 2, 'side') ??
    enumField(value.kind, 2, 'kind') ??
    enumField(value.timeInForce, 3, 'timeInForce'),
});

export const CancelOrderType = new ContainerType({ orderId: Uint64 }, { typeName: 'CancelOrder' });
export type CancelOrder = ValueOf<typeof CancelOrderType>;
export const CancelOrderCodec = defineMessage({
  name: 'CancelOrder',
  tag: 0x0304,
  type: CancelOrderType,
});

/** Cancels the signer's open orders in one series, or in every series when `seriesId` is 0. */
export const CancelAllType = new ContainerType({ seriesId: Uint32 }, { typeName: 'CancelAll' });
export type CancelAll = ValueOf<typeof CancelAllType>;
export const CancelAllCodec = defineMessage({
  name: 'CancelAll',
  tag: 0x0305,
  type: CancelAllType,
});

/** Governance: lists a European, cash-settled option series. */
export const ListSeriesType = new ContainerType(
  {
    underlyingId: Uint16,
    isCall: Bool,
    /** Quote base units per unit of the underlying. */
    strike: Uint64,
    expiryMs: Uint64,
    /** Quote base units per contract. */
    tickSize: Uint64,
    /** Contracts per lot × 10^6. */
    lotSizeE6: Uint64,
    /** Units of the underlying per contract × 10^6. */
    multiplierE6: Uint64,
  },
  { typeName: 'ListSeries' },
);
export type ListSeries = ValueOf<typeof ListSeriesType>;
export const ListSeriesCodec = defineMessage({
  name: 'ListSeries',
  tag: 0x0306,
  type: ListSeriesType,
});

/** Governance: sets a series' mark volatility (clamped by the engine to its underlying's band). */
export const SetMarkVolType = new ContainerType(
  { seriesId: Uint32, volBps: Uint32 },
  { typeName: 'SetMarkVol' },
);
export type SetMarkVol = ValueOf<typeof SetMarkVolType>;
export const SetMarkVolCodec = defineMessage({
  name: 'SetMarkVol',
  tag: 0x0307,
  type: SetMarkVolType,
});

/** Chooses the signer's margin model ({@link MARGIN_MODE}). */
export const SetMarginModeType = new ContainerType({ mode: Uint8 }, { typeName: 'SetMarginMode' });
export type SetMarginMode = ValueOf<typeof SetMarginModeType>;
export const SetMarginModeCodec = defineMessage({
  name: 'SetMarginMode',
  tag: 0x0308,
  type: SetMarginModeType,
  validate: (value) => enumField(value.mode, 2, 'mode'),
});

/*
 * Governance (src/execution/governance.ts). No key acts alone: a `GovernanceProposal` carries one
 * governance action (any message of `governanceActionKinds`, encoded with its envelope) and the
 * governors' or guardians' signatures over its domain-separated digest. The bare `ListSeries` and
 * `SetMarkVol` actions above are governance actions; a transaction carrying one unwrapped is refused.
 */

/** The most signatures one proposal carries (a governor set holds at most as many keys). */
export const GOVERNANCE_SIGNATURES_MAX = 32;
/** The most keys a governor or guardian set holds. */
export const GOVERNANCE_KEYS_MAX = 32;
/** The largest governance action a proposal wraps, envelope included. */
export const GOVERNANCE_ACTION_BYTES_MAX = 3072;
/** `underlyingId` of a halt or resume that covers every underlying. */
export const ALL_UNDERLYINGS = 0;

/** Governance: halts new orders on one underlying's series, or on all of them (`ALL_UNDERLYINGS`). */
export const HaltMarketsType = new ContainerType({ underlyingId: Uint16 }, { typeName: 'HaltMarkets' });
export type HaltMarkets = ValueOf<typeof HaltMarketsType>;
export const HaltMarketsCodec = defineMessage({ name: 'HaltMarkets', tag: 0x0341, type: HaltMarketsType });

/** Governance: lifts a halt set by `HaltMarkets` (the same `underlyingId`). */
export const ResumeMarketsType = new ContainerType({ underlyingId: Uint16 }, { typeName: 'ResumeMarkets' });
export type ResumeMarkets = ValueOf<typeof ResumeMarketsType>;
export const ResumeMarketsCodec = defineMessage({
  name: 'ResumeMarkets',
  tag: 0x0342,
  type: ResumeMarketsType,
});

/** Governance: drops a queued proposal before its timelock ends. */
export const CancelProposalType = new ContainerType({ proposalId: Uint64 }, { typeName: 'CancelProposal' });
export type CancelProposal = ValueOf<typeof CancelProposalType>;
export const CancelProposalCodec = defineMessage({
  name: 'CancelProposal',
  tag: 0x0343,
  type: CancelProposalType,
});

/** The governor and guardian sets, their thresholds and the timelock (genesis, or a rotation). */
export const GovernanceConfigType = new ContainerType(
  {
    governors: new ListCompositeType(Bytes32, GOVERNANCE_KEYS_MAX),
    /** m: governor signatures every governance action needs. */
    threshold: Uint8,
    guardians: new ListCompositeType(Bytes32, GOVERNANCE_KEYS_MAX),
    /** g: guardian signatures a halt needs (lifting it needs m governors). */
    guardianThreshold: Uint8,
    /** Block time between a timelocked proposal's acceptance and its execution. */
    timelockMs: Uint64,
  },
  { typeName: 'GovernanceConfig' },
);
export type GovernanceConfigValue = ValueOf<typeof GovernanceConfigType>;

/** Governance: replaces the governor and guardian sets, thresholds and timelock (timelocked). */
export const SetGovernanceCodec = defineMessage({
  name: 'SetGovernance',
  tag: 0x0344,
  type: GovernanceConfigType,
});

/** Governance: sets one engine parameter by name (`GOVERNED_PARAMETERS`, timelocked). */
export const SetParameterType = new ContainerType(
  { name: new ByteListType(64), value: Uint64 },
  { typeName: 'SetParameter' },
);
export type SetParameter = ValueOf<typeof SetParameterType>;
export const SetParameterCodec = defineMessage({ name: 'SetParameter', tag: 0x0345, type: SetParameterType });

/** `ChangeValidators.op`. */
export const VALIDATOR_CHANGE = Object.freeze({ add: 0, remove: 1 } as const);
/** The longest `p2p` ("host:port") or `api` (URL) a validator entry carries. */
export const VALIDATOR_ADDRESS_BYTES_MAX = 256;

/**
 * Governance: adds or removes one validator at the next epoch boundary (issue 11; timelocked). An
 * added validator is named as genesis names one: its Ed25519 consensus key, where its transport
 * listens ("host:port") and its API URL; a removal names the key alone (addresses empty).
 */
export const ChangeValidatorsType = new ContainerType(
  {
    /** {@link VALIDATOR_CHANGE} */
    op: Uint8,
    publicKey: Bytes32,
    p2p: new ByteListType(VALIDATOR_ADDRESS_BYTES_MAX),
    api: new ByteListType(VALIDATOR_ADDRESS_BYTES_MAX),
  },
  { typeName: 'ChangeValidators' },
);
export type ChangeValidators = ValueOf<typeof ChangeValidatorsType>;
export const ChangeValidatorsCodec = defineMessage({
  name: 'ChangeValidators',
  tag: 0x0348,
  type: ChangeValidatorsType,
  validate: (value) => enumField(value.op, 2, 'op'),
});

export const GovernanceSignatureType = new ContainerType(
  { publicKey: Bytes32, signature: Bytes64 },
  { typeName: 'GovernanceSignature' },
);
export type GovernanceSignature = ValueOf<typeof GovernanceSignatureType>;

/**
 * A governance proposal: `proposalId` (chosen by its authors, executed at most once), the block
 * time after which it may no longer be submitted, the wrapped action's encoding, and signatures
 * over `PALISADE/GOVERNANCE/PROPOSAL/v1 ‖ chain id ‖ u64 proposalId ‖ u64 expiryMs ‖ action`.
 */
export const GovernanceProposalType = new ContainerType(
  {
    proposalId: Uint64,
    expiryMs: Uint64,
    action: new ByteListType(GOVERNANCE_ACTION_BYTES_MAX),
    signatures: new ListCompositeType(GovernanceSignatureType, GOVERNANCE_SIGNATURES_MAX),
  },
  { typeName: 'GovernanceProposal' },
);
export type GovernanceProposal = ValueOf<typeof GovernanceProposalType>;
export const GovernanceProposalCodec = defineMessage({
  name: 'GovernanceProposal',
  tag: 0x0340,
  type: GovernanceProposalType,
});

/**
 * Every action a proposal may wrap. A new kind adds its codec here, a member to `GovernanceAction` and a case to src/execution/governance.ts's `applyGoverned`
 * and `governanceClassOf`.
 */
export type GovernanceAction =
  | { kind: 'listSeries'; value: ListSeries }
  | { kind: 'setMarkVol'; value: SetMarkVol }
  | { kind: 'haltMarkets'; value: HaltMarkets }
  | { kind: 'resumeMarkets'; value: ResumeMarkets }
  | { kind: 'cancelProposal'; value: CancelProposal }
  | { kind: 'setGovernance'; value: GovernanceConfigValue }
  | { kind: 'setParameter'; value: SetParameter }
  | { kind: 'changeValidators'; value: ChangeValidators };

const governanceActionKinds = new Map<MessageCodec<unknown>, GovernanceAction['kind']>([
  [ListSeriesCodec as MessageCodec<unknown>, 'listSeries'],
  [SetMarkVolCodec as MessageCodec<unknown>, 'setMarkVol'],
  [HaltMarketsCodec as MessageCodec<unknown>, 'haltMarkets'],
  [ResumeMarketsCodec as MessageCodec<unknown>, 'resumeMarkets'],
  [CancelProposalCodec as MessageCodec<unknown>, 'cancelProposal'],
  [SetGovernanceCodec as MessageCodec<unknown>, 'setGovernance'],
  [SetParameterCodec as MessageCodec<unknown>, 'setParameter'],
  [ChangeValidatorsCodec as MessageCodec<unknown>, 'changeValidators'],
]);

const governanceCodecs: Record<GovernanceAction['kind'], MessageCodec<unknown>> = Object.freeze(
  Object.fromEntries([...governanceActionKinds].map(([codec, kind]) => [kind, codec])) as Record<
    GovernanceAction['kind'],
    MessageCodec<unknown>
  >,
);

/**
 * Decodes the action a proposal wraps.
 * @example decodeGovernanceAction(encodeGovernanceAction({ kind: 'haltMarkets', value: { underlyingId: 0 } }))
 * @throws CodecError when the bytes are not exactly one governance action
 */
export function decodeGovernanceAction(bytes: Uint8Array): GovernanceAction {
  const { codec, value } = decodeAny(bytes);
  const kind = governanceActionKinds.get(codec);
  if (kind === undefined)
    throw new CodecError('WRONG_TYPE', 'action', `${codec.name} is not a governance action`);
  return { kind, value } as GovernanceAction;
}

/** Encodes a governance action for a proposal. */
export function encodeGovernanceAction(action: GovernanceAction): Uint8Array {
  return governanceCodecs[action.kind].encode(action.value);
}

/**
 * Registers the signer's ownership commitment `Poseidon(secret)` (a BN254 field element, 32 bytes
 * big-endian) for the margin proofs of src/privacy: once per account, and no two accounts share one.
 */
export const RegisterCommitmentType = new ContainerType(
  { commitment: Bytes32 },
  { typeName: 'RegisterCommitment' },
);
export type RegisterCommitment = ValueOf<typeof RegisterCommitmentType>;
export const RegisterCommitmentCodec = defineMessage({
  name: 'RegisterCommitment',
  tag: 0x0310,
  type: RegisterCommitmentType,
});

export type ExecutionAction =
  | { kind: 'governanceProposal'; value: GovernanceProposal }
  | { kind: 'deposit'; value: Deposit }
  | { kind: 'withdraw'; value: Withdraw }
  | { kind: 'placeOrder'; value: PlaceOrder }
  | { kind: 'cancelOrder'; value: CancelOrder }
  | { kind: 'cancelAll'; value: CancelAll }
  | { kind: 'listSeries'; value: ListSeries }
  | { kind: 'setMarkVol'; value: SetMarkVol }
  | { kind: 'setMarginMode'; value: SetMarginMode }
  | { kind: 'registerCommitment'; value: RegisterCommitment };

const actionKinds = new Map<MessageCodec<unknown>, ExecutionAction['kind']>([
  [GovernanceProposalCodec as MessageCodec<unknown>, 'governanceProposal'],
  [DepositCodec as MessageCodec<unknown>, 'deposit'],
  [WithdrawCodec as MessageCodec<unknown>, 'withdraw'],
  [PlaceOrderCodec as MessageCodec<unknown>, 'placeOrder'],
  [CancelOrderCodec as MessageCodec<unknown>, 'cancelOrder'],
  [CancelAllCodec as MessageCodec<unknown>, 'cancelAll'],
  [ListSeriesCodec as MessageCodec<unknown>, 'listSeries'],
  [SetMarkVolCodec as MessageCodec<unknown>, 'setMarkVol'],
  [SetMarginModeCodec as MessageCodec<unknown>, 'setMarginMode'],
  [RegisterCommitmentCodec as MessageCodec<unknown>, 'registerCommitment'],
]);

/**
 * Decodes a transaction payload into one execution action.
 * @example const action = decodeAction(WithdrawCodec.encode({ amount: 5 })); // { kind: 'withdraw', ... }
 * @throws CodecError when the bytes are not exactly one valid execution action
 */
export function decodeAction(payload: Uint8Array): ExecutionAction {
  const { codec, value } = decodeAny(payload);
  const kind = actionKinds.get(codec);
  if (kind === undefined)
    throw new CodecError('WRONG_TYPE', 'payload', `${codec.name} is not an execution action`);
  return { kind, value } as ExecutionAction;
}

/** Encodes an action as a transaction payload. */
export function encodeAction(action: ExecutionAction): Uint8Array {
  switch (action.kind) {
    case 'governanceProposal':
      return GovernanceProposalCodec.encode(action.value);
    case 'deposit':
      return DepositCodec.encode(action.value);
    case 'withdraw':
      return WithdrawCodec.encode(action.value);
    case 'placeOrder':
      return PlaceOrderCodec.encode(action.value);
    case 'cancelOrder':
      return CancelOrderCodec.encode(action.value);
    case 'cancelAll':
      return CancelAllCodec.encode(action.value);
    case 'listSeries':
      return ListSeriesCodec.encode(action.value);
    case 'setMarkVol':
      return SetMarkVolCodec.encode(action.value);
    case 'setMarginMode':
      return SetMarginModeCodec.encode(action.value);
    case 'registerCommitment':
      return RegisterCommitmentCodec.encode(action.value);
  }
}

/*
 * State records committed under the state root (see `execution/engine.ts` for the keys). They
 * are never decoded from untrusted input by the engine; light clients decode them from proofs,
 * so they are bounded like every other message.
 */

/** A quote amount that may be negative (a bankrupt account before its loss is covered). */
const SignedAmountType = new ContainerType(
  { negative: Bool, magnitude: new UintBigintType(16) },
  { typeName: 'SignedAmount' },
);

export const POSITION_RECORDS_MAX = 1024;
export const CLIENT_ORDER_IDS_MAX = 64;

export const AccountRecordType = new ContainerType(
  {
    publicKey: Bytes32,
    nonce: Uint64,
    balance: SignedAmountType,
    marginMode: Uint8,
    positions: new ListCompositeType(
      new ContainerType(
        // entryCost: the premium paid for the position (negative: received), for ADL's ranking.
        { seriesId: Uint32, short: Bool, lots: Uint64, entryCost: SignedAmountType },
        { typeName: 'PositionRecord' },
      ),
      POSITION_RECORDS_MAX,
    ),
    /** The most recent client order ids and the orders they created, oldest first. */
    clientOrderIds: new ListCompositeType(
      new ContainerType({ clientOrderId: Uint64, orderId: Uint64 }, { typeName: 'ClientOrderIdRecord' }),
      CLIENT_ORDER_IDS_MAX,
    ),
  },
  { typeName: 'AccountRecord' },
);
export type AccountRecord = ValueOf<typeof AccountRecordType>;
export const AccountRecordCodec = defineMessage({
  name: 'AccountRecord',
  tag: 0x0320,
  type: AccountRecordType,
});

export const OrderRecordType = new ContainerType(
  {
    orderId: Uint64,
    owner: Bytes32,
    seriesId: Uint32,
    side: Uint8,
    priceTicks: Uint64,
    remainingLots: Uint64,
    clientOrderId: Uint64,
    reduceOnly: Bool,
    sequence: Uint64,
  },
  { typeName: 'OrderRecord' },
);
export type OrderRecord = ValueOf<typeof OrderRecordType>;
export const OrderRecordCodec = defineMessage({
  name: 'OrderRecord',
  tag: 0x0321,
  type: OrderRecordType,
});

export const SERIES_STATUS = Object.freeze({ active: 0, expired: 1, settled: 2 } as const);

export const SeriesRecordType = new ContainerType(
  {
    seriesId: Uint32,
    underlyingId: Uint16,
    isCall: Bool,
    strike: Uint64,
    expiryMs: Uint64,
    tickSize: Uint64,
    lotSizeE6: Uint64,
    multiplierE6: Uint64,
    markVolBps: Uint32,
    /** Block time of governance's last SetMarkVol on the series (0: never): the hourly bound runs from it. */
    markVolSetMs: Uint64,
    /** {@link SERIES_STATUS} */
    status: Uint8,
    /** The 30-minute TWAP it settled at; 0 until settled. */
    settlementPrice: Uint64,
    openInterestLots: Uint64,
  },
  { typeName: 'SeriesRecord' },
);
export type SeriesRecord = ValueOf<typeof SeriesRecordType>;
export const SeriesRecordCodec = defineMessage({
  name: 'SeriesRecord',
  tag: 0x0322,
  type: SeriesRecordType,
});

const Amount128 = new UintBigintType(16);
export const LedgerRecordType = new ContainerType(
  {
    height: Uint64,
    timeMs: Uint64,
    totalDeposits: Amount128,
    totalWithdrawals: Amount128,
    feePool: Amount128,
    insuranceFund: Amount128,
    socializedLossTotal: Amount128,
    unrecoveredLoss: Amount128,
    nextOrderId: Uint64,
    nextSeriesId: Uint32,
  },
  { typeName: 'LedgerRecord' },
);
export type LedgerRecord = ValueOf<typeof LedgerRecordType>;
export const LedgerRecordCodec = defineMessage({
  name: 'LedgerRecord',
  tag: 0x0323,
  type: LedgerRecordType,
});

/** Most past epochs the validator-set record keeps (their sets check old certificates). */
export const VALIDATOR_EPOCHS_KEPT = 16;

export const ValidatorMemberType = new ContainerType(
  {
    publicKey: Bytes32,
    p2p: new ByteListType(VALIDATOR_ADDRESS_BYTES_MAX),
    api: new ByteListType(VALIDATOR_ADDRESS_BYTES_MAX),
  },
  { typeName: 'ValidatorMember' },
);

/**
 * The consensus validator set (src/execution/validator-set.ts): the current epoch, its members in
 * index order, the change scheduled for the next boundary (at most one), and the recent epochs'
 * keys with the height of the boundary block each began after (0: genesis).
 */
export const ValidatorSetRecordType = new ContainerType(
  {
    epochBlocks: Uint64,
    epoch: Uint64,
    members: new ListCompositeType(ValidatorMemberType, 256),
    pending: new ListCompositeType(
      new ContainerType(
        { proposalId: Uint64, effectiveHeight: Uint64, change: ChangeValidatorsType },
        { typeName: 'PendingValidatorChange' },
      ),
      1,
    ),
    epochs: new ListCompositeType(
      new ContainerType(
        { epoch: Uint64, sinceHeight: Uint64, keys: new ListCompositeType(Bytes32, 256) },
        { typeName: 'ValidatorEpochRecord' },
      ),
      VALIDATOR_EPOCHS_KEPT,
    ),
  },
  { typeName: 'ValidatorSetRecord' },
);
export type ValidatorSetRecord = ValueOf<typeof ValidatorSetRecordType>;
export const ValidatorSetRecordCodec = defineMessage({
  name: 'ValidatorSetRecord',
  tag: 0x0349,
  type: ValidatorSetRecordType,
});

export const IndexRecordType = new ContainerType(
  { underlyingId: Uint16, price: Uint64, publishTimeMs: Uint64 },
  { typeName: 'IndexRecord' },
);
export type IndexRecord = ValueOf<typeof IndexRecordType>;
export const IndexRecordCodec = defineMessage({
  name: 'IndexRecord',
  tag: 0x0324,
  type: IndexRecordType,
});

/**
 * Governance's committed state (src/execution/governance.ts): the current sets, the ids of
 * proposals accepted whose expiry has not passed (a replay of one is refused), the queue of
 * timelocked proposals, and the halts governance set.
 */
export const GOVERNANCE_USED_IDS_MAX = 1024;
export const GOVERNANCE_QUEUE_MAX = 64;
export const GovernanceRecordType = new ContainerType(
  {
    config: GovernanceConfigType,
    used: new ListCompositeType(
      new ContainerType({ proposalId: Uint64, expiryMs: Uint64 }, { typeName: 'UsedProposal' }),
      GOVERNANCE_USED_IDS_MAX,
    ),
    queue: new ListCompositeType(
      new ContainerType(
        { proposalId: Uint64, executeAtMs: Uint64, action: new ByteListType(GOVERNANCE_ACTION_BYTES_MAX) },
        { typeName: 'QueuedProposal' },
      ),
      GOVERNANCE_QUEUE_MAX,
    ),
    /** Underlyings halted by governance, ascending; `ALL_UNDERLYINGS` (0) halts every one. */
    halted: new ListBasicType(Uint16, 256),
    /** Parameters governance set (`SetParameter`), by name ascending: they override genesis. */
    parameters: new ListCompositeType(
      new ContainerType({ name: new ByteListType(64), value: Uint64 }, { typeName: 'ParameterOverride' }),
      64,
    ),
  },
  { typeName: 'GovernanceRecord' },
);
export type GovernanceRecord = ValueOf<typeof GovernanceRecordType>;
export const GovernanceRecordCodec = defineMessage({
  name: 'GovernanceRecord',
  tag: 0x0347,
  type: GovernanceRecordType,
});
