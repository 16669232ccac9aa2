/**
 * The bridge's withdrawal routes: what a relayer needs to claim a withdrawal from the vault.
 *
 *   GET /v1/bridge/checkpoints/latest         the highest checkpoint the validators certified
 *   GET /v1/bridge/checkpoints/:height        the certified checkpoint at a height (a multiple of
 *                                             the genesis `bridge.checkpointEveryBlocks`)
 *   GET /v1/bridge/withdrawals/:id            a withdrawal's leaf fields, the vault's leaf hash, its
 *                                             Merkle proof and the certified checkpoint holding it
 *   GET /v1/bridge/deposits?status&limit      vault deposits this node has seen reported, highest
 *                                             nonce first: credited, or pending with its reporters
 *   GET /v1/bridge/deposits/:nonce            one deposit's status (src/node/deposit-status.ts)
 *
 * Nothing here is trusted: the vault verifies the certificate (`encoded`, src/interop/evm/
 * checkpoint.ts) through PalisadeVerifier and the proof against the root it certified. Numbers
 * follow docs/api.md: the amount is money (a decimal string, with `amountDecimal`), heights,
 * epochs, ids and the chain id are JSON numbers.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../../codec/json.ts';
import { toHex } from '../../crypto/bytes.ts';
import type { CheckpointRecord, WithdrawalProof } from '../checkpoint-signing.ts';
import type { DepositState, DepositStatusJson } from '../deposit-status.ts';
import type { NodeView } from '../view.ts';
import { ApiError } from './errors.ts';
import { BASE_UNITS_PATTERN, BYTES32_PATTERN, errorSchema, object, UNIT_DECIMAL_PATTERN } from './schemas.ts';

export interface CheckpointJson {
  height: number;
  blockHash: string;
  stateRoot: string;
  withdrawalsRoot: string;
  epoch: number;
  /** The verifier's EIP-712 domain the certificate is signed in. */
  chainId: number;
  verifyingContract: string;
  /** Withdrawals the root covers. */
  withdrawals: number;
  /** The `CheckpointCertificate` (0x0451) bytes: what `submitCheckpoint` takes, decoded. */
  encoded: string;
}

export interface WithdrawalProofJson {
  withdrawal: { id: number; token: string; recipient: string; amount: string; amountDecimal: string };
  leaf: string;
  proof: string[];
  checkpoint: CheckpointJson;
}

const count: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const bytes32: JsonSchema = { type: 'string', pattern: BYTES32_PATTERN };
const address: JsonSchema = { type: 'string', pattern: '^0x[0-9a-f]{40}$' };

export const checkpointSchema = object({
  height: count,
  blockHash: bytes32,
  stateRoot: bytes32,
  withdrawalsRoot: bytes32,
  epoch: count,
  chainId: count,
  verifyingContract: address,
  withdrawals: count,
  encoded: { type: 'string', pattern: '^0x([0-9a-f]{2})*$' },
});

export const withdrawalProofSchema = object({
  withdrawal: object({
    id: count,
    token: address,
    recipient: address,
    amount: { type: 'string', pattern: BASE_UNITS_PATTERN },
    amountDecimal: { type: 'string', pattern: UNIT_DECIMAL_PATTERN },
  }),
  leaf: bytes32,
  proof: { type: 'array', items: bytes32, maxItems: 32 },
  checkpoint: checkpointSchema,
});

const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [{ type: 'null' }, schema] });

export const depositStatusSchema = object({
  nonce: count,
  status: { type: 'string', enum: ['pending', 'credited'] },
  quorum: count,
  validators: count,
  reporters: { type: 'array', items: count, maxItems: 1024 },
  reported: count,
  contents: count,
  height: nullable(count),
  creditedHeight: nullable(count),
  transactionHash: nullable(bytes32),
  logIndex: nullable(count),
  account: nullable(bytes32),
  token: nullable(address),
  amount: nullable({ type: 'string', pattern: BASE_UNITS_PATTERN }),
  amountDecimal: nullable({ type: 'string', pattern: UNIT_DECIMAL_PATTERN }),
});

/** Deposits one list answer holds at most (and by default). */
export const DEPOSITS_LIMIT_MAX = 500;
const DEPOSITS_LIMIT_DEFAULT = 100;

const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;

/** Whole units of a 6-decimal quote amount, exactly (docs/api.md `<name>Decimal`). */
export function unitsOf(amount: bigint): string {
  const whole = amount / 1_000_000n;
  const fraction = (amount % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

/** The JSON of a certified checkpoint (the caller checked that it is certified). */
export function checkpointJson(
  record: CheckpointRecord,
  domain: { chainId: number; verifyingContract: Uint8Array },
): CheckpointJson {
  const { checkpoint } = record;
  return {
    height: Number(checkpoint.height),
    blockHash: hex(checkpoint.blockHash),
    stateRoot: hex(checkpoint.stateRoot),
    withdrawalsRoot: hex(checkpoint.withdrawalsRoot),
    epoch: Number(checkpoint.epoch),
    chainId: domain.chainId,
    verifyingContract: hex(domain.verifyingContract),
    withdrawals: record.entries.length,
    encoded: hex(record.certificate!),
  };
}

export function withdrawalProofJson(
  proof: WithdrawalProof,
  domain: { chainId: number; verifyingContract: Uint8Array },
): WithdrawalProofJson {
  return {
    withdrawal: {
      id: proof.entry.id,
      token: hex(proof.entry.token),
      recipient: hex(proof.entry.recipient),
      amount: proof.entry.amount.toString(),
      amountDecimal: unitsOf(proof.entry.amount),
    },
    leaf: hex(proof.leaf),
    proof: proof.proof.map(hex),
    checkpoint: checkpointJson(proof.record, domain),
  };
}

/**
 * Registers the bridge routes on `api`; a view without a bridge answers CHECKPOINT_NOT_FOUND,
 * DEPOSIT_NOT_FOUND, or an empty deposit list.
 * @example registerBridge(api, view);
 */
export function registerBridge(api: FastifyInstance, view: NodeView): void {
  const response = (schema: JsonSchema) => ({ 200: schema, '4xx': errorSchema, '5xx': errorSchema });
  api.get(
    '/v1/bridge/checkpoints/latest',
    {
      schema: {
        description: 'The highest certified withdrawals checkpoint',
        response: response(checkpointSchema),
      },
    },
    async () => {
      const checkpoint = await view.checkpoint?.('latest');
      if (checkpoint === undefined) throw new ApiError('CHECKPOINT_NOT_FOUND', 'no checkpoint certified yet');
      return checkpoint;
    },
  );
  api.get<{ Params: { height: number } }>(
    '/v1/bridge/checkpoints/:height',
    {
      schema: {
        description: 'The certified withdrawals checkpoint at a height',
        params: object({ height: count }),
        response: response(checkpointSchema),
      },
    },
    async (request) => {
      const checkpoint = await view.checkpoint?.(request.params.height);
      if (checkpoint === undefined)
        throw new ApiError(
          'CHECKPOINT_NOT_FOUND',
          `no certified checkpoint kept at height ${request.params.height}`,
        );
      return checkpoint;
    },
  );
  api.get<{ Params: { id: number } }>(
    '/v1/bridge/withdrawals/:id',
    {
      schema: {
        description: "A withdrawal's leaf, Merkle proof and the certified checkpoint that holds it",
        params: object({ id: count }),
        response: response(withdrawalProofSchema),
      },
    },
    async (request) => {
      const proof = await view.withdrawalProof?.(request.params.id);
      if (proof === undefined)
        throw new ApiError(
          'WITHDRAWAL_NOT_FOUND',
          `withdrawal ${request.params.id} is not in a certified checkpoint this node keeps`,
        );
      return proof;
    },
  );
  api.get<{ Querystring: { status?: DepositState; limit: number } }>(
    '/v1/bridge/deposits',
    {
      schema: {
        description: 'Vault deposits this node has seen reported, highest nonce first',
        querystring: object(
          {
            status: { type: 'string', enum: ['pending', 'credited'] },
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: DEPOSITS_LIMIT_MAX,
              default: DEPOSITS_LIMIT_DEFAULT,
            },
          },
          ['status', 'limit'],
        ),
        response: response(object({ deposits: { type: 'array', items: depositStatusSchema } })),
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      const deposits: DepositStatusJson[] =
        (await view.deposits?.({ ...(status === undefined ? {} : { status }), limit })) ?? [];
      return { deposits };
    },
  );
  api.get<{ Params: { nonce: number } }>(
    '/v1/bridge/deposits/:nonce',
    {
      schema: {
        description:
          "A vault deposit's status: credited, or pending with who reported it of the 2f + 1 needed",
        params: object({ nonce: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }),
        response: response(depositStatusSchema),
      },
    },
    async (request) => {
      const deposit = await view.deposit?.(request.params.nonce);
      if (deposit === undefined)
        throw new ApiError(
          'DEPOSIT_NOT_FOUND',
          `vault nonce ${request.params.nonce} is neither credited nor reported in a block this node kept`,
        );
      return deposit;
    },
  );
}
