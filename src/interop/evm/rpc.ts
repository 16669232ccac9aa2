/**
 * The few EVM JSON-RPC reads a validator's deposit follower makes, over viem's HTTP transport, each
 * answer checked before it is believed: an RPC endpoint is one party, not the chain.
 *
 *   eth_blockNumber                      the head
 *   eth_getBlockByNumber(n, false)       number, hash, parent hash of block n
 *   eth_getLogs({ blockHash, address, topics: [Deposited] })
 *                                        the vault's Deposited logs of exactly that block (EIP-234:
 *                                        by hash, so a reorg between the two reads cannot mix the
 *                                        logs of one block with the header of another)
 *
 * Every failure is an {@link EvmRpcError} with a code: RPC_TIMEOUT (no answer within `timeoutMs`),
 * RPC_UNREACHABLE (connection or HTTP failure), RPC_ERROR (the node answered a JSON-RPC error),
 * RPC_MALFORMED (the answer is not what the method returns: a hash of the wrong length, a number
 * that is not a quantity, a log of another block, contract or event, a removed log, too many logs).
 * Bodies above `responseBytesMax` are refused unread (RPC_MALFORMED). viem retries nothing here
 * (`retryCount: 0`): the poller's next round is the retry, so one poll is bounded by `timeoutMs`
 * per request and `maxBlocksPerPoll` requests.
 */
import {
  createPublicClient,
  HttpRequestError,
  http,
  ResponseBodyTooLargeError,
  RpcError,
  RpcRequestError,
  TimeoutError,
} from 'viem';
import { fromHex } from '../../crypto/bytes.ts';
import { DEPOSITED_TOPIC, type VaultLog } from './deposits.ts';

/** Most Deposited logs accepted for one block (a block of 30M gas holds fewer than 600). */
export const DEPOSIT_LOGS_PER_BLOCK_MAX = 1024;

export const EVM_RPC_ERRORS = Object.freeze({
  RPC_TIMEOUT: 'the node did not answer within the time allowed',
  RPC_UNREACHABLE: 'the node could not be reached, or answered with an HTTP error',
  RPC_ERROR: 'the node answered with a JSON-RPC error',
  RPC_MALFORMED: 'the answer is not what the method returns',
} as const);

export type EvmRpcErrorCode = keyof typeof EVM_RPC_ERRORS;

export class EvmRpcError extends Error {
  override readonly name = 'EvmRpcError';
  readonly code: EvmRpcErrorCode;
  readonly method: string;
  /** The offending field of a malformed answer. */
  readonly field: string | undefined;
  constructor(code: EvmRpcErrorCode, method: string, detail: string, field?: string, options?: ErrorOptions) {
    super(`${code} (${method}): ${detail}`, options);
    this.code = code;
    this.method = method;
    this.field = field;
  }
}

export interface EvmBlockHeader {
  readonly number: bigint;
  readonly hash: Uint8Array;
  readonly parentHash: Uint8Array;
}

/** A vault log with the transaction that emitted it, checked to be of the block asked for. */
export interface BlockDepositLog extends VaultLog {
  readonly transactionHash: Uint8Array;
}

export interface EvmReader {
  /** @throws EvmRpcError */
  headNumber(): Promise<bigint>;
  /** Undefined when the node has no block at that number (above its head). @throws EvmRpcError */
  blockByNumber(number: bigint): Promise<EvmBlockHeader | undefined>;
  /** @throws EvmRpcError */
  depositLogs(vault: Uint8Array, block: EvmBlockHeader): Promise<BlockDepositLog[]>;
}

export interface EvmReaderOptions {
  /** The node's JSON-RPC URL. */
  url: string;
  /** Per-request timeout, the body's reading included; default 5 s. */
  timeoutMs?: number;
  /** Largest answer body read; default 4 MiB (a block's Deposited logs are far smaller). */
  responseBytesMax?: number;
}

const QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/i;

function quantity(method: string, value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !QUANTITY.test(value) || value.length > 66)
    throw new EvmRpcError('RPC_MALFORMED', method, 'not a quantity', field);
  return BigInt(value);
}

function data(method: string, value: unknown, field: string, bytes: number): Uint8Array {
  const decoded =
    typeof value === 'string' && value.startsWith('0x') && value.length === 2 + 2 * bytes
      ? fromHex(value)
      : undefined;
  if (decoded === undefined)
    throw new EvmRpcError('RPC_MALFORMED', method, `not ${bytes} bytes of hex`, field);
  return decoded;
}

function anyData(method: string, value: unknown, field: string): Uint8Array {
  const decoded =
    typeof value === 'string' && value.startsWith('0x') && value.length <= 2 + 2 * 4096
      ? fromHex(value)
      : undefined;
  if (decoded === undefined) throw new EvmRpcError('RPC_MALFORMED', method, 'not hex data', field);
  return decoded;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hexOf(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * A checked reader of one JSON-RPC endpoint.
 * @example const reader = createEvmReader({ url: 'http://127.0.0.1:8545' }); await reader.headNumber();
 */
export function createEvmReader(options: EvmReaderOptions): EvmReader {
  const timeoutMs = options.timeoutMs ?? 5000;
  const responseBytesMax = options.responseBytesMax ?? 4 * 1024 * 1024;
  const client = createPublicClient({
    transport: http(options.url, {
      timeout: timeoutMs,
      retryCount: 0,
      maxResponseBodySize: responseBytesMax,
    }),
  });

  async function call(method: string, params: readonly unknown[]): Promise<unknown> {
    try {
      return await client.request({ method, params } as never);
    } catch (error) {
      if (error instanceof TimeoutError)
        throw new EvmRpcError('RPC_TIMEOUT', method, `no answer in ${timeoutMs} ms`, undefined, {
          cause: error,
        });
      if (error instanceof RpcRequestError || error instanceof RpcError)
        throw new EvmRpcError('RPC_ERROR', method, error.shortMessage, undefined, { cause: error });
      // viem reports a body that is not JSON as an HTTP failure caused by the parser's error.
      if (error instanceof HttpRequestError && error.cause instanceof SyntaxError)
        throw new EvmRpcError('RPC_MALFORMED', method, 'the body is not JSON', 'body', { cause: error });
      if (error instanceof ResponseBodyTooLargeError)
        throw new EvmRpcError('RPC_MALFORMED', method, `a body over ${responseBytesMax} bytes`, 'body', {
          cause: error,
        });
      if (error instanceof HttpRequestError)
        throw new EvmRpcError('RPC_UNREACHABLE', method, error.shortMessage, undefined, { cause: error });
      // Anything else viem raises (an unparsable body, a transport failure) is the answer's fault.
      const message = error instanceof Error ? error.message.split('\n')[0]! : 'unknown failure';
      throw new EvmRpcError('RPC_MALFORMED', method, message, undefined, { cause: error });
    }
  }

  return Object.freeze({
    async headNumber() {
      return quantity('eth_blockNumber', await call('eth_blockNumber', []), 'result');
    },
    async blockByNumber(number: bigint) {
      const method = 'eth_getBlockByNumber';
      const block = await call(method, [`0x${number.toString(16)}`, false]);
      if (block === null) return undefined;
      if (!isObject(block)) throw new EvmRpcError('RPC_MALFORMED', method, 'not a block', 'result');
      const header = {
        number: quantity(method, block.number, 'number'),
        hash: data(method, block.hash, 'hash', 32),
        parentHash: data(method, block.parentHash, 'parentHash', 32),
      };
      if (header.number !== number)
        throw new EvmRpcError(
          'RPC_MALFORMED',
          method,
          `block ${header.number} answered for ${number}`,
          'number',
        );
      return header;
    },
    async depositLogs(vault: Uint8Array, block: EvmBlockHeader) {
      const method = 'eth_getLogs';
      const logs = await call(method, [
        { blockHash: hexOf(block.hash), address: hexOf(vault), topics: [hexOf(DEPOSITED_TOPIC)] },
      ]);
      if (!Array.isArray(logs))
        throw new EvmRpcError('RPC_MALFORMED', method, 'not a list of logs', 'result');
      if (logs.length > DEPOSIT_LOGS_PER_BLOCK_MAX)
        throw new EvmRpcError(
          'RPC_MALFORMED',
          method,
          `more than ${DEPOSIT_LOGS_PER_BLOCK_MAX} logs`,
          'result',
        );
      const checked: BlockDepositLog[] = [];
      const indices = new Set<bigint>();
      for (const [i, log] of logs.entries()) {
        const field = (name: string) => `${i}.${name}`;
        if (!isObject(log)) throw new EvmRpcError('RPC_MALFORMED', method, 'not a log', field('log'));
        if (log.removed === true)
          throw new EvmRpcError('RPC_MALFORMED', method, 'a removed log', field('removed'));
        if (!bytesEqual(data(method, log.blockHash, field('blockHash'), 32), block.hash))
          throw new EvmRpcError('RPC_MALFORMED', method, 'a log of another block', field('blockHash'));
        if (quantity(method, log.blockNumber, field('blockNumber')) !== block.number)
          throw new EvmRpcError(
            'RPC_MALFORMED',
            method,
            'a log of another block number',
            field('blockNumber'),
          );
        const address = data(method, log.address, field('address'), 20);
        if (!bytesEqual(address, vault))
          throw new EvmRpcError('RPC_MALFORMED', method, 'a log of another contract', field('address'));
        if (!Array.isArray(log.topics) || log.topics.length > 4)
          throw new EvmRpcError('RPC_MALFORMED', method, 'not a list of at most 4 topics', field('topics'));
        const topics = log.topics.map((topic, t) => data(method, topic, field(`topics.${t}`), 32));
        if (topics[0] === undefined || !bytesEqual(topics[0], DEPOSITED_TOPIC))
          throw new EvmRpcError('RPC_MALFORMED', method, 'not a Deposited log', field('topics.0'));
        const logIndex = quantity(method, log.logIndex, field('logIndex'));
        if (logIndex > BigInt(Number.MAX_SAFE_INTEGER) || indices.has(logIndex))
          throw new EvmRpcError(
            'RPC_MALFORMED',
            method,
            'a repeated or out-of-range log index',
            field('logIndex'),
          );
        indices.add(logIndex);
        checked.push({
          address,
          topics,
          data: anyData(method, log.data, field('data')),
          logIndex: Number(logIndex),
          transactionHash: data(method, log.transactionHash, field('transactionHash'), 32),
        });
      }
      return checked.sort((a, b) => a.logIndex - b.logIndex);
    },
  });
}
