/**
 * A devnet of real validator processes for the end-to-end tests: its own temporary data
 * directory, free loopback ports, short consensus timeouts (so a view change costs ~0.3 s, not a
 * second), no automatic restarts (the tests decide who is down) and no bots unless asked.
 *
 * `close()` stops every validator (SIGTERM, SIGKILL after 10 s) and removes the directory. Should
 * the test process die first, the validators stop themselves (src/node/devnet/orphan-guard.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningDevnet, startDevnet } from '../../src/node/devnet/devnet.ts';
import { freeBasePort } from '../../src/node/devnet/ports.ts';
import type { BlockSummary, NodeStatus } from '../../src/node/view.ts';

/** Consensus leader timeout of test networks. */
export const TEST_LEADER_TIMEOUT_MS = 300;

export { freeBasePort };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs`: a test fails instead of hanging. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface TestDevnet {
  devnet: RunningDevnet;
  dataDirectory: string;
  apiUrls: string[];
  /** `/v1/status` of validator i, or undefined when it does not answer. */
  status(index: number): Promise<NodeStatus | undefined>;
  /** Heights of `indexes` (undefined for a validator that does not answer). */
  heights(indexes: readonly number[]): Promise<Array<number | undefined>>;
  /** Block hashes of validator i at heights from..to (inclusive). */
  hashes(index: number, from: number, to: number): Promise<string[]>;
  /** Asserts that `indexes` report the same hash at every height in from..to. */
  assertSameHashes(indexes: readonly number[], from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a devnet for a test file; call `close()` in `after`. */
export async function startTestDevnet(
  options: {
    validators?: number;
    bots?: boolean;
    leaderTimeoutMs?: number;
    /** Price keyset refresh period and keygen deadlines written into genesis. */
    epochBlocks?: number;
    keygenDealMs?: number;
    keygenComplaintMs?: number;
    /** Declared validator metadata for genesis (palisade genesis --validator-metadata), one per validator. */
    validatorMetadata?: ReadonlyArray<Record<string, string>>;
    /** Funded accounts beyond the bots' (keystores after theirs). */
    extraTraders?: number;
    /** An eon keyset and one encrypted-only market in genesis (the CLI's default; off here). */
    fairOrdering?: boolean;
  } = {},
): Promise<TestDevnet> {
  const validators = options.validators ?? 4;
  const dataDirectory = mkdtempSync(join(tmpdir(), 'palisade-e2e-'));
  let devnet: RunningDevnet;
  let validatorMetadataFile: string | undefined;
  if (options.validatorMetadata !== undefined) {
    validatorMetadataFile = join(dataDirectory, 'validator-metadata.json');
    writeFileSync(validatorMetadataFile, JSON.stringify(options.validatorMetadata));
  }
  try {
    devnet = await startDevnet({
      dataDirectory,
      validators,
      basePort: await freeBasePort(validators),
      dashboardPort: 0,
      bots: options.bots ?? false,
      reset: false,
      leaderTimeoutMs: options.leaderTimeoutMs ?? TEST_LEADER_TIMEOUT_MS,
      epochBlocks: options.epochBlocks,
      keygenDealMs: options.keygenDealMs,
      keygenComplaintMs: options.keygenComplaintMs,
      validatorMetadataFile,
      ...(options.extraTraders === undefined ? {} : { extraTraders: options.extraTraders }),
      ...(options.fairOrdering === undefined ? {} : { fairOrdering: options.fairOrdering }),
      restart: false,
    });
  } catch (error) {
    rmSync(dataDirectory, { recursive: true, force: true });
    throw error;
  }
  const apiUrls = devnet.network.validators.map((validator) => validator.api);

  const status = async (index: number): Promise<NodeStatus | undefined> => {
    try {
      const response = await fetch(`${apiUrls[index]}/v1/status`, { signal: AbortSignal.timeout(2000) });
      return response.ok ? ((await response.json()) as NodeStatus) : undefined;
    } catch {
      return undefined;
    }
  };

  const hashes = async (index: number, from: number, to: number): Promise<string[]> => {
    const out: string[] = [];
    for (let start = from; start <= to; start += 100) {
      const limit = Math.min(100, to - start + 1);
      const response = await fetch(`${apiUrls[index]}/v1/blocks?from=${start}&limit=${limit}`);
      assert.equal(response.status, 200, `validator ${index} serves blocks ${start}..`);
      const page = (await response.json()) as { blocks: BlockSummary[] };
      for (const block of page.blocks) out.push(`${block.height}:${block.hash}`);
    }
    return out;
  };

  return {
    devnet,
    dataDirectory,
    apiUrls,
    status,
    heights: (indexes) => Promise.all(indexes.map(async (index) => (await status(index))?.height)),
    hashes,
    async assertSameHashes(indexes, from, to) {
      const lists = await Promise.all(indexes.map((index) => hashes(index, from, to)));
      assert.equal(lists[0]!.length, to - from + 1, `validator ${indexes[0]} has every block ${from}..${to}`);
      for (const [position, list] of lists.entries()) {
        assert.deepEqual(list, lists[0], `validator ${indexes[position]} agrees with ${indexes[0]}`);
      }
    },
    async close() {
      try {
        await devnet.stop();
      } finally {
        // PALISADE_E2E_KEEP=1 keeps the directory (validator logs, databases) to debug a failure.
        if (process.env.PALISADE_E2E_KEEP === undefined)
          rmSync(dataDirectory, { recursive: true, force: true });
        else console.error(`kept ${dataDirectory}`);
      }
    },
  };
}
