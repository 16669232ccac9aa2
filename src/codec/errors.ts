/**
 * Decoding errors. Untrusted bytes that do not decode get a `CodecError` with a stable code and
 * the path of the offending field (`order.priceTicks`), never a half-built object. Network code
 * uses `verdict` to score the peer that sent them.
 */
export type CodecErrorCode =
  | 'MESSAGE_TOO_LARGE'
  | 'MESSAGE_TOO_SHORT'
  | 'UNKNOWN_VERSION'
  | 'UNKNOWN_TYPE'
  | 'WRONG_TYPE'
  | 'MALFORMED_FIELD'
  | 'FIELD_TOO_LONG'
  | 'INVALID_VALUE'
  | 'TRAILING_BYTES'
  | 'INVALID_JSON'
  | 'UNKNOWN_FIELD';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  /** Bytes that fail to decode are the sender's fault: reject the message and score the peer. */
  readonly verdict = 'reject' as const;
  readonly code: CodecErrorCode;
  /** Dotted path of the field that failed, or the message name when it is the whole message. */
  readonly field: string;

  constructor(code: CodecErrorCode, field: string, detail: string, options?: { cause?: unknown }) {
    super(`${code} at ${field}: ${detail}`, options);
    this.code = code;
    this.field = field;
  }
}
