/**
 * A local EVM JSON-RPC node: Hardhat's EDR (`@nomicfoundation/edr`, the Rust EVM that Hardhat 3
 * runs, from the registry with a prebuilt native module) behind a small HTTP server on loopback.
 * EDR is a provider object (`handleRequest`), not a server; `hardhat node` puts the same object
 * behind HTTP but needs a Hardhat project around it, so we do the serving in a few lines. It
 * starts in well under a second, which is why the devnet and the contract tests use it rather
 * than anvil (a separate binary, not on the npm registry) or @ethereumjs/vm (no JSON-RPC server).
 *
 * Two modes:
 *   tests   auto-mining only, every method served (`evm_snapshot` / `evm_revert` make reorgs);
 *   devnet  also a block every `blockIntervalMs` (so that deposits get their confirmations with
 *           no other traffic) and a journal: each state-changing call that succeeded (a sent
 *           transaction, `evm_mine`) is appended to `journal` with the block it landed in. EDR
 *           keeps its chain in memory; a restart replays the journal, mining empty blocks up to
 *           each entry's block first, so contracts, balances and the vault's deposit nonces are
 *           what they were, at the same block numbers. Calls that cannot be replayed faithfully
 *           (`evm_revert`, `evm_snapshot`, `hardhat_*` state edits) are refused in this mode.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ContractDecoder,
  EdrContext,
  GENERIC_CHAIN_TYPE,
  genericChainProviderFactory,
  l1GenesisState,
  l1HardforkLatest,
  l1HardforkToString,
  MineOrdering,
  type Provider,
} from '@nomicfoundation/edr';
import { privateKeyToAccount } from 'viem/accounts';

/** Hardhat's chain id, which wallets and tools expect of a local node. */
export const EDR_DEFAULT_CHAIN_ID = 31337n;

/**
 * Keys of the funded accounts: the integers 1..16 as 32-byte keys. Public test-only keys, never
 * for a real network (anyone can derive them).
 */
export const EDR_ACCOUNT_KEYS: readonly `0x${string}`[] = Object.freeze(
  Array.from({ length: 16 }, (_, i) => `0x${(i + 1).toString(16).padStart(64, '0')}` as `0x${string}`),
);

/** Body bytes accepted per request. */
const REQUEST_BYTES_MAX = 1 << 20;
/** Methods that change state and are journaled (replayable). */
const JOURNALED = new Set(['eth_sendTransaction', 'eth_sendRawTransaction', 'evm_mine']);
/** Methods refused when journaling: their effect cannot be replayed from a journal. */
const UNREPLAYABLE =
  /^(evm_(revert|snapshot|setAutomine|setIntervalMining|setNextBlockTimestamp|increaseTime)|hardhat_)/;

export class EdrServerError extends Error {
  override readonly name = 'EdrServerError';
  readonly code: 'BAD_JOURNAL' | 'REPLAY_DIVERGED';
  constructor(code: EdrServerError['code'], message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export interface EdrServerOptions {
  chainId?: bigint;
  /** 0 (default): any free port. */
  port?: number;
  /** Mine a block this often (devnet); absent: only when a transaction arrives. */
  blockIntervalMs?: number;
  /** Journal file (devnet): replayed at start, appended to while serving. */
  journal?: string;
}

export interface EdrServer {
  readonly url: string;
  readonly chainId: bigint;
  readonly accounts: readonly `0x${string}`[];
  /** Journal entries replayed at start. */
  readonly replayed: number;
  /** One JSON-RPC call straight to the provider (set-up and tests); throws on an error answer. */
  request(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

interface JournalEntry {
  block: number;
  method: string;
  params: unknown[];
}

let context: EdrContext | undefined;

/**
 * A reverted `eth_call` or `eth_estimateGas` answered the way geth and the other public nodes do:
 * code 3, "execution reverted", the revert data as `data`. EDR answers -32000 with the data nested
 * (`data.data`), which clients read as a bad request and lose the vault's custom error (viem:
 * "Missing or invalid parameters"); with `bailOnCallFailure` off instead, it answers the revert data
 * as the call's result, so a client would take a refused call for a successful one.
 */
function asNodeRevert(answer: { result?: unknown; error?: unknown }): { result?: unknown; error?: unknown } {
  const error = answer.error as { data?: { data?: unknown; reason?: Record<string, unknown> } } | undefined;
  const reverted = error?.data?.reason !== undefined && 'Revert' in error.data.reason;
  const data = error?.data?.data;
  if (!reverted || typeof data !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(data)) return answer;
  return { error: { code: 3, message: 'execution reverted', data } };
}

async function createProvider(chainId: bigint): Promise<Provider> {
  if (context === undefined) {
    context = new EdrContext();
    await context.registerProviderFactory(GENERIC_CHAIN_TYPE, genericChainProviderFactory());
  }
  return context.createProvider(
    GENERIC_CHAIN_TYPE,
    {
      allowBlocksWithSameTimestamp: false,
      allowUnlimitedContractSize: false,
      bailOnCallFailure: true,
      bailOnTransactionFailure: false,
      chainId,
      coinbase: new Uint8Array(20),
      defaultTransactionGasLimit: 16_000_000n,
      genesisState: [
        ...l1GenesisState(l1HardforkLatest()),
        ...EDR_ACCOUNT_KEYS.map((key) => ({
          address: Buffer.from(privateKeyToAccount(key).address.slice(2), 'hex'),
          balance: 10n ** 24n,
        })),
      ],
      hardfork: l1HardforkToString(l1HardforkLatest()),
      initialBaseFeePerGas: 1_000_000_000n,
      minGasPrice: 0n,
      mining: { autoMine: true, memPool: { order: MineOrdering.Priority } },
      network: { genesisBlockGasLimit: 60_000_000n, genesisBlockTime: 1_767_225_600n } as never,
      networkId: chainId,
      observability: {},
      ownedAccounts: [...EDR_ACCOUNT_KEYS],
      precompileOverrides: [],
    },
    { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} },
    { subscriptionCallback: () => {} },
    new ContractDecoder(),
  );
}

function readJournal(file: string): JournalEntry[] {
  if (!existsSync(file)) return [];
  const entries: JournalEntry[] = [];
  for (const [index, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      throw new EdrServerError('BAD_JOURNAL', `${file} line ${index + 1} is not JSON`);
    }
    if (!Number.isSafeInteger(entry.block) || !JOURNALED.has(entry.method) || !Array.isArray(entry.params)) {
      throw new EdrServerError('BAD_JOURNAL', `${file} line ${index + 1} is not a journal entry`);
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * @example const evm = await startEdrServer({ port: 8545, blockIntervalMs: 1000, journal: 'evm/journal.jsonl' });
 * @throws EdrServerError BAD_JOURNAL / REPLAY_DIVERGED when the journal cannot be replayed
 */
export async function startEdrServer(options: EdrServerOptions = {}): Promise<EdrServer> {
  const chainId = options.chainId ?? EDR_DEFAULT_CHAIN_ID;
  const provider = await createProvider(chainId);
  const call = async (body: Record<string, unknown>): Promise<{ result?: unknown; error?: unknown }> => {
    const response = await provider.handleRequest(
      JSON.stringify({ jsonrpc: '2.0', id: 1, params: [], ...body }),
    );
    return typeof response.data === 'string' ? JSON.parse(response.data) : response.data;
  };
  const request = async (method: string, params: unknown[] = []) => {
    const data = await call({ method, params });
    if (data.error !== undefined)
      throw new Error(`${method}: ${(data.error as { message: string }).message}`);
    return data.result;
  };
  const head = async () => Number(BigInt((await request('eth_blockNumber')) as string));

  // Replay, with no interval mining yet: every block of the journal lands where it did.
  const journal = options.journal;
  const entries = journal === undefined ? [] : readJournal(journal);
  for (const entry of entries) {
    const gap = entry.block - 1 - (await head());
    if (gap < 0)
      throw new EdrServerError('REPLAY_DIVERGED', `entry for block ${entry.block} is behind the head`);
    if (gap > 0) await request('hardhat_mine', [`0x${gap.toString(16)}`]);
    await request(entry.method, entry.params);
    const now = await head();
    if (now !== entry.block) {
      throw new EdrServerError(
        'REPLAY_DIVERGED',
        `${entry.method} landed in block ${now}, not ${entry.block}`,
      );
    }
  }

  // State-changing calls run one at a time, so the journal's order is the chain's.
  let serial: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const next = serial.then(work, work);
    serial = next.catch(() => undefined);
    return next;
  };
  const mutating = async (body: { method: string; params: unknown[] }) =>
    serialized(async () => {
      const answer = await call(body);
      if (answer.error === undefined && journal !== undefined) {
        let block = await head();
        if (body.method !== 'evm_mine' && typeof answer.result === 'string') {
          const receipt = (await request('eth_getTransactionReceipt', [answer.result])) as {
            blockNumber: string;
          } | null;
          if (receipt !== null) block = Number(BigInt(receipt.blockNumber));
        }
        appendFileSync(journal, `${JSON.stringify({ block, method: body.method, params: body.params })}\n`);
      }
      return answer;
    });

  let miner: NodeJS.Timeout | undefined;
  if (options.blockIntervalMs !== undefined) {
    const intervalMs = options.blockIntervalMs;
    // Empty blocks are not journaled: replay re-creates them from the entries' block numbers.
    miner = setInterval(() => {
      serialized(() => call({ method: 'evm_mine', params: [] })).catch(() => undefined);
    }, intervalMs);
    miner.unref();
  }

  const answerOf = async (text: string): Promise<{ id: unknown; answer: object }> => {
    let id: unknown = null;
    try {
      // EDR requires `params`, which JSON-RPC 2.0 lets a client omit (viem does for no arguments).
      const body = JSON.parse(text) as { id?: unknown; method?: unknown; params?: unknown };
      id = body.id ?? null;
      const method = typeof body.method === 'string' ? body.method : '';
      const params = Array.isArray(body.params) ? body.params : [];
      if (journal !== undefined && UNREPLAYABLE.test(method)) {
        return {
          id,
          answer: { error: { code: -32601, message: `${method} is not served by the devnet's EVM node` } },
        };
      }
      const answer = JOURNALED.has(method)
        ? await mutating({ method, params })
        : await call({ ...body, method, params });
      return { id, answer: asNodeRevert(answer) };
    } catch (error) {
      return { id, answer: { error: { code: -32700, message: String(error) } } };
    }
  };

  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > REQUEST_BYTES_MAX) incoming.destroy();
      else chunks.push(chunk);
    });
    incoming.on('end', async () => {
      const { id, answer } = await answerOf(Buffer.concat(chunks).toString('utf8'));
      outgoing
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, ...answer }));
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    chainId,
    accounts: EDR_ACCOUNT_KEYS,
    replayed: entries.length,
    request,
    close: () =>
      new Promise<void>((resolveClose) => {
        if (miner !== undefined) clearInterval(miner);
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}
