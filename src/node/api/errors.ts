/**
 * Every error code the API answers with, its HTTP status and what it means. An error body is
 * always `{ "error": { "code", "message", "field"? } }`; `field` names the request field at fault
 * ("<part>/<JSON pointer>", e.g. `body/transaction` or `querystring/limit`) when there is one.
 * Mempool refusals keep the mempool's own codes, so a client sees why its transaction was refused.
 */
import type { MempoolRefusalCode } from '../../mempool/mempool.ts';

export const API_ERRORS = Object.freeze({
  INVALID_REQUEST: { status: 400, meaning: 'a parameter, query or body field fails its schema' },
  URI_TOO_LONG: { status: 414, meaning: 'a path parameter is over 100 characters' },
  MALFORMED_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  BODY_TOO_LARGE: { status: 413, meaning: 'the body is over the size limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the body is neither application/json nor octet-stream' },
  NOT_FOUND: { status: 404, meaning: 'no such route' },
  BLOCK_NOT_FOUND: { status: 404, meaning: 'no finalized block at that height' },
  TRANSACTION_NOT_FOUND: { status: 404, meaning: 'the node neither holds nor recently finalized it' },
  ACCOUNT_NOT_FOUND: { status: 404, meaning: 'the engine has never seen that account' },
  SERIES_NOT_FOUND: { status: 404, meaning: 'no listed series has that id' },
  ASSET_NOT_FOUND: { status: 404, meaning: 'no oracle asset has that symbol' },
  NO_HISTORY: { status: 404, meaning: 'this node keeps only the latest certificates' },
  CHECKPOINT_NOT_FOUND: { status: 404, meaning: 'no certified withdrawals checkpoint kept there' },
  WITHDRAWAL_NOT_FOUND: { status: 404, meaning: 'the withdrawal is in no certified checkpoint kept' },
  DEPOSIT_NOT_FOUND: { status: 404, meaning: 'the vault nonce is neither credited nor reported' },
  BOUNDARY_NOT_FOUND: { status: 404, meaning: 'no validator-set proof kept for that boundary height' },
  TOO_MANY_SUBSCRIBERS: { status: 503, meaning: 'the stream is at its subscriber limit' },
  INTERNAL: { status: 500, meaning: 'a bug: the node logged it' },
  // The mempool's refusals of a submitted transaction (src/mempool/mempool.ts).
  MALFORMED: { status: 400, meaning: 'not a canonical SignedTransaction encoding' },
  TOO_LARGE: { status: 413, meaning: 'the transaction is over the mempool size limit' },
  WRONG_CHAIN: { status: 400, meaning: 'signed for another chain id' },
  EXPIRED: { status: 400, meaning: 'its expiry height is below the next block' },
  DUPLICATE: { status: 409, meaning: 'the same transaction is already pending' },
  NONCE_TOO_LOW: { status: 409, meaning: 'the account has already used this nonce' },
  NONCE_GAP: { status: 422, meaning: 'the nonce is too far ahead of the account' },
  NONCE_IN_USE: { status: 409, meaning: 'another pending transaction has this nonce' },
  RATE_LIMITED: { status: 429, meaning: 'the account submits too fast' },
  GLOBAL_RATE_LIMITED: { status: 429, meaning: 'this validator’s admission rate is spent' },
  NO_ACCOUNT: { status: 403, meaning: 'the signer has no account: a deposit opens one' },
  BAD_SIGNATURE: { status: 400, meaning: 'the signature is not the signer’s over this body' },
  MEMPOOL_FULL: { status: 503, meaning: 'the mempool is full and nothing can be evicted' },
  // The envelope pool's refusals of an encrypted order (src/node/fair-ordering-pool.ts), and the
  // engine's rule for a market that takes encrypted orders only.
  ENCRYPTION_REQUIRED: {
    status: 403,
    meaning: 'this market takes encrypted orders only (POST /v1/envelopes)',
  },
  FAIR_ORDERING_DISABLED: { status: 404, meaning: 'this network takes no encrypted orders' },
  EON_KEY_PENDING: { status: 503, meaning: 'the validators are still making the eon key' },
  ENVELOPE_MALFORMED: { status: 400, meaning: 'not a canonical SignedOrderEnvelope encoding' },
  ENVELOPE_WRONG_CHAIN: { status: 400, meaning: 'the envelope is for another chain id' },
  ENVELOPE_WRONG_EON: { status: 400, meaning: 'encrypted to another eon than the current one' },
  ENVELOPE_EXPIRED: { status: 400, meaning: 'its expiry height is below the next block' },
  ENVELOPE_TOO_FAR_AHEAD: { status: 422, meaning: 'its expiry height is too far above the next block' },
  ENVELOPE_REPLAYED_NONCE: { status: 409, meaning: 'the account has already used this nonce' },
  ENVELOPE_MALFORMED_CIPHERTEXT: { status: 400, meaning: 'the ciphertext is not a Shutter ciphertext' },
  ENVELOPE_BAD_SIGNATURE: { status: 400, meaning: 'the signature is not the sender’s over this envelope' },
  ENVELOPE_CIPHERTEXT_MISMATCH: {
    status: 400,
    meaning: 'the ciphertext does not match what the envelope signs',
  },
  ENVELOPE_SLOT_TAKEN: { status: 409, meaning: 'an envelope of this sender and nonce is pending' },
  ENVELOPE_IDENTITY_REUSED: {
    status: 409,
    meaning: 'another envelope of this sender used this identity prefix: its key opens both',
  },
  ENVELOPE_SENDER_LIMIT: { status: 429, meaning: 'the sender has the most envelopes pending it may' },
  ENVELOPE_POOL_FULL: { status: 503, meaning: 'the envelope pool is full' },
} as const satisfies Record<string, { status: number; meaning: string }> &
  Record<MempoolRefusalCode, { status: number; meaning: string }>);

export type ApiErrorCode = keyof typeof API_ERRORS;

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; field?: string };
}

/** An error a route throws on purpose; the error handler turns it into its status and body. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly statusCode: number;
  readonly field: string | undefined;

  constructor(code: ApiErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = API_ERRORS[code].status;
    this.field = field;
  }

  body(): ApiErrorBody {
    return errorBody(this.code, this.message, this.field);
  }
}

export function errorBody(code: ApiErrorCode, message: string, field?: string): ApiErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}
