/**
 * One validator's follower of the EVM chain over JSON-RPC: it polls the head, reads each block's
 * header and the vault's Deposited logs (src/interop/evm/rpc.ts, every answer checked), and feeds
 * them to the sans-IO deposit follower (src/interop/evm/deposits.ts `createDepositFollower`), which
 * releases a deposit only once its block is `confirmations` deep on the current chain.
 *
 * ## One poll
 *   1. Read the head number H.
 *   2. Re-read the last block fed: if its hash at that number changed, the chain was reorganized.
 *      Walk back (at most `confirmations` + 1 blocks, all still unconfirmed) to the highest block
 *      whose hash is unchanged and continue from the one above it; the sans-IO follower drops the
 *      replaced blocks (their deposits were never released). A change at or below the confirmed
 *      block is a reorg beyond the confirmation depth: the sans-IO follower halts, and so do we.
 *   3. Read blocks from the next one up to H, at most `maxBlocksPerPoll` of them; each block's
 *      logs are read by its hash; a block whose parent is not the block fed before it (a reorg
 *      between two reads) ends the poll, and the next poll re-reads from step 2.
 *   4. Each deposit the sans-IO follower releases goes to `report`, once: a nonce reported before
 *      is never reported again (the follower never releases one twice; this is the guard).
 * An RPC failure throws {@link EvmRpcError} after reporting whatever was released before it; the
 * state stays consistent (everything fed was checked), so the next poll carries on.
 */
import { invariant } from '../../codec/invariant.ts';
import {
  createDepositFollower,
  DepositError,
  type DepositEvent,
  type DepositFollower,
  decodeDepositLog,
} from './deposits.ts';
import { type EvmBlockHeader, type EvmReader, EvmRpcError } from './rpc.ts';

export interface RpcDepositFollowerOptions {
  reader: EvmReader;
  /** The vault's 20-byte address. */
  vault: Uint8Array;
  /** Depth at which a deposit is released (1 = in the head block). */
  confirmations: number;
  /** The first block to read (the vault's deployment block). */
  fromBlock: bigint;
  /** Receives each released deposit, once, in chain order. */
  report: (deposit: DepositEvent) => void;
  /** Most blocks read in one poll; default 64. */
  maxBlocksPerPoll?: number;
}

export interface PollOutcome {
  head: bigint;
  /** The highest block read and fed so far. */
  followed: bigint | undefined;
  /** The deepest released block. */
  confirmed: bigint | undefined;
  /** Deposits released in this poll. */
  released: number;
  /** Blocks read again because the chain changed under them. */
  reorgedBlocks: number;
}

export interface RpcDepositFollower {
  /**
   * One round (module header).
   * @throws EvmRpcError on an RPC failure or malformed answer (nothing is lost; poll again)
   * @throws DepositError REORG_BEYOND_CONFIRMATIONS / HALTED when a released block was replaced
   */
  poll(): Promise<PollOutcome>;
  readonly follower: DepositFollower;
}

/** Unconfirmed blocks remembered, by number: what the walk back in step 2 compares. */
interface Fed {
  number: bigint;
  hash: Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * @example
 * const follower = createRpcDepositFollower({ reader, vault, confirmations: 12, fromBlock, report });
 * setInterval(() => follower.poll().catch(log), 2000);
 */
export function createRpcDepositFollower(options: RpcDepositFollowerOptions): RpcDepositFollower {
  const { reader, vault, confirmations, report } = options;
  invariant(vault.length === 20, 'the vault address is 20 bytes');
  invariant(options.fromBlock >= 0n, 'fromBlock must not be negative');
  const maxBlocksPerPoll = options.maxBlocksPerPoll ?? 64;
  invariant(Number.isSafeInteger(maxBlocksPerPoll) && maxBlocksPerPoll >= 1, 'maxBlocksPerPoll ≥ 1');
  const follower = createDepositFollower({ confirmations });
  // The blocks fed and not yet released, ascending; the confirmed one is `follower.confirmedNumber`.
  let fed: Fed[] = [];
  let confirmedBlock: Fed | undefined;
  let next = options.fromBlock;
  // Reported nonces: a watermark below which all were reported, and the ones above it.
  let reportedWatermark = 0n;
  const reportedAbove = new Set<bigint>();

  const wasReported = (nonce: bigint) => nonce <= reportedWatermark || reportedAbove.has(nonce);

  function feed(header: EvmBlockHeader, deposits: DepositEvent[]): number {
    const released = follower.addBlock({ ...header, deposits });
    fed = fed.filter((block) => block.number < header.number);
    fed.push({ number: header.number, hash: header.hash });
    const confirmedNumber = follower.confirmedNumber;
    if (confirmedNumber !== undefined) {
      const index = fed.findIndex((block) => block.number === confirmedNumber);
      if (index >= 0) {
        confirmedBlock = fed[index];
        fed = fed.slice(index + 1);
      }
    }
    let count = 0;
    for (const deposit of released) {
      if (wasReported(deposit.nonce)) continue;
      reportedAbove.add(deposit.nonce);
      while (reportedAbove.has(reportedWatermark + 1n)) {
        reportedWatermark += 1n;
        reportedAbove.delete(reportedWatermark);
      }
      report(deposit);
      count++;
    }
    return count;
  }

  /** Step 2: where to read from, after comparing what was fed with the chain now. */
  async function rewind(): Promise<number> {
    let rewound = 0;
    for (let steps = 0; fed.length > 0 && steps <= confirmations + 1; steps++) {
      const last = fed[fed.length - 1]!;
      const now = await reader.blockByNumber(last.number);
      if (now !== undefined && same(now.hash, last.hash)) break;
      fed.pop();
      next = last.number;
      rewound++;
    }
    return rewound;
  }

  return {
    follower,
    async poll() {
      const head = await reader.headNumber();
      const reorgedBlocks = await rewind();
      let released = 0;
      let reads = 0;
      while (next <= head && reads < maxBlocksPerPoll) {
        reads++;
        const header = await reader.blockByNumber(next);
        if (header === undefined) break;
        const parent = fed[fed.length - 1] ?? confirmedBlock;
        // The chain moved between two reads: stop here; the next poll's rewind sorts it out. Above
        // the released block itself there is nothing to rewind: the sans-IO follower judges it
        // (a fork below a released block halts it).
        const moved = parent !== undefined && !same(parent.hash, header.parentHash);
        if (moved && fed.length > 0) break;
        const logs = await reader.depositLogs(vault, header);
        const deposits = logs.map((log) => {
          try {
            return decodeDepositLog(log, vault, header, log.transactionHash);
          } catch (error) {
            throw new EvmRpcError('RPC_MALFORMED', 'eth_getLogs', (error as Error).message, 'data', {
              cause: error,
            });
          }
        });
        try {
          released += feed(header, deposits);
        } catch (error) {
          if (error instanceof DepositError && error.code === 'BLOCK_GAP') break;
          throw error;
        }
        next = header.number + 1n;
      }
      return {
        head,
        followed: next > options.fromBlock ? next - 1n : undefined,
        confirmed: follower.confirmedNumber,
        released,
        reorgedBlocks,
      };
    },
  };
}
