/**
 * Four validators (`palisade node`, one OS process each) in their own Linux network namespaces,
 * for the network-fault tests (netfaults.test.ts). The test process builds the network itself
 * with `ip` and tears it down in `close()`:
 *
 *   namespace <id>h (hub): bridges `bridge-a` and `bridge-b`; validator i's data link `<id>h<i>`
 *                           is a port of `bridge-a`
 *   namespace <id>v<i>:     `eth0` = 10.250.0.(i+1)/24, the data link (peer to peer traffic)
 *                           `mgmt` = a /30 to the test's own namespace, for the API and the relays
 *
 * Every validator listens for peers on 0.0.0.0:26600 and serves its API on its `mgmt` address.
 * `peers` in each config names every other validator's address, so genesis addresses are unused:
 *   - direct: the peer's data address, 10.250.0.(j+1):26600 (partitions and clock skew);
 *   - relay: a TCP relay in the test process on the dialer's `mgmt` link, which forwards to the
 *     peer's `mgmt` address and can delay what it forwards (see `createDelayRelay`).
 * A partition moves data links from `bridge-a` to `bridge-b`: frames no longer cross between the
 * sides, as when a switch is split; nothing is refused, packets are lost and TCP times out.
 *
 * `namespacesUnavailable()` says why this cannot run here (not root, no `ip`, no namespaces);
 * the tests then skip. Namespaces and links left by a test process that died are removed by the
 * next run (their names carry the pid of the process that made them).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PALISADE_BIN } from '../../src/node/devnet/network.ts';
import type { BlockSummary, NodeStatus } from '../../src/node/view.ts';

const run = promisify(execFile);
const ORPHAN_GUARD = new URL('../../src/node/devnet/orphan-guard.ts', import.meta.url).pathname;
const P2P_PORT = 26_600;
const API_PORT = 26_700;
const RELAY_BASE_PORT = 27_000;
const PASSWORD = 'netfaults-password';
const PREFIX = 'pf';

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args);
  return stdout;
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export async function namespacesUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (this process is not)';
  const probe = `${PREFIX}${process.pid}p`;
  try {
    await ip('netns', 'add', probe);
  } catch (error) {
    return `cannot create a network namespace: ${(error as Error).message.split('\n')[0]}`;
  }
  try {
    await ip('netns', 'exec', probe, 'ip', 'link', 'add', 'probe', 'type', 'bridge');
    return undefined;
  } catch (error) {
    return `cannot create a bridge in a namespace: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    await ip('netns', 'del', probe).catch(() => {});
  }
}

/** Whether the kernel has `tc netem` (probed once in a scratch namespace). */
export async function netemAvailable(): Promise<boolean> {
  const probe = `${PREFIX}${process.pid}q`;
  try {
    await ip('netns', 'add', probe);
    await run('ip', [
      'netns',
      'exec',
      probe,
      'tc',
      'qdisc',
      'add',
      'dev',
      'lo',
      'root',
      'netem',
      'delay',
      '1ms',
    ]);
    return true;
  } catch {
    return false;
  } finally {
    await ip('netns', 'del', probe).catch(() => {});
  }
}

/** Removes namespaces a dead test process left (named `pf<pid>…`). */
async function removeStale(): Promise<void> {
  const listing = await ip('netns', 'list').catch(() => '');
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = /^pf(\d+)[hvpq]\d*$/.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive || pid === process.pid) await ip('netns', 'del', name).catch(() => {});
  }
}

/** A delay profile of the relays: each chunk waits `delayMs ± jitterMs`, and `lossRate` of them an RTO more. */
export interface LinkProfile {
  delayMs: number;
  jitterMs: number;
  lossRate: number;
  retransmitMinMs: number;
  retransmitMaxMs: number;
}

export const NO_DELAY: LinkProfile = Object.freeze({
  delayMs: 0,
  jitterMs: 0,
  lossRate: 0,
  retransmitMinMs: 0,
  retransmitMaxMs: 0,
});

/** Small seeded generator, so that a run's delays can be replayed from the seed it prints. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Most bytes a relay direction holds before it stops reading from its source (TCP back-pressure). */
const RELAY_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * A TCP relay that forwards each direction's chunks after the profile's delay. What it emulates,
 * since this kernel may lack `tc netem`: one-way delay with jitter, in order (a chunk never
 * overtakes the one before it, as TCP delivers in order), and packet loss as TCP experiences it:
 * a lost segment is retransmitted after a retransmission timeout, and everything behind it waits
 * (head-of-line blocking). A chunk is what one read returned (up to 64 KiB), not one IP packet.
 */
export function createDelayRelay(options: {
  listen: { host: string; port: number };
  target: { host: string; port: number };
  profile: () => LinkProfile;
  random: () => number;
}): { server: Server; ready: Promise<void>; close(): void } {
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) => {
    let releaseAtMs = 0;
    let buffered = 0;
    from.on('data', (chunk: Buffer) => {
      const profile = options.profile();
      let delayMs = profile.delayMs + (options.random() * 2 - 1) * profile.jitterMs;
      if (profile.lossRate > 0 && options.random() < profile.lossRate)
        delayMs +=
          profile.retransmitMinMs + options.random() * (profile.retransmitMaxMs - profile.retransmitMinMs);
      const nowMs = performance.now();
      releaseAtMs = Math.max(releaseAtMs, nowMs + Math.max(0, delayMs));
      buffered += chunk.length;
      if (buffered > RELAY_BUFFER_BYTES) from.pause();
      const send = () => {
        buffered -= chunk.length;
        if (!to.destroyed) to.write(chunk);
        if (buffered <= RELAY_BUFFER_BYTES) from.resume();
      };
      if (releaseAtMs <= nowMs) send();
      else setTimeout(send, releaseAtMs - nowMs);
    });
    from.once('close', () => setTimeout(() => to.destroy(), Math.max(0, releaseAtMs - performance.now())));
  };
  const server = createServer((inbound) => {
    const outbound = netConnect(options.target);
    for (const socket of [inbound, outbound]) {
      socket.setNoDelay(true);
      socket.on('error', () => {});
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    pipe(inbound, outbound);
    pipe(outbound, inbound);
  });
  const ready = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  return {
    server,
    ready,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

export interface NetnsNode {
  index: number;
  process: ChildProcess | undefined;
  apiUrl: string;
}

export interface NetnsNetwork {
  readonly directory: string;
  readonly nodes: readonly NetnsNode[];
  readonly seed: number;
  /** Whether this kernel has `tc netem`: `setProfile` then shapes the data links themselves. */
  readonly netem: boolean;
  /** Starts validator i (after `stop`), with the given extra environment. */
  start(index: number, environment?: Record<string, string>): Promise<void>;
  stop(index: number): Promise<void>;
  /** Routes validator traffic through the relays (`true`) or over the data links (`false`); restarts nobody. */
  useRelays(relays: boolean): void;
  /**
   * Sets the delay of every link: the relays' profile, and with `netem` also a netem qdisc on
   * each validator's data link (its egress: each one-way hop crosses exactly one), so that
   * whichever route the validators use is delayed.
   */
  setProfile(profile: LinkProfile): Promise<void>;
  /** Moves the data links of `side` to `bridge-b`: they reach each other, and nobody else. */
  partition(side: readonly number[]): Promise<void>;
  heal(): Promise<void>;
  status(index: number): Promise<NodeStatus | undefined>;
  heights(): Promise<Array<number | undefined>>;
  hashes(index: number, from: number, to: number): Promise<BlockSummary[]>;
  /** `palisade_finality_latency_seconds` sum and count from validator i's `/metrics`. */
  finality(index: number): Promise<{ sumSeconds: number; count: number }>;
  close(): Promise<void>;
}

/** Builds the namespaces, a genesis and configs, and starts four validators. */
export async function startNetnsNetwork(options: {
  leaderTimeoutMs: number;
  /** Written into every config (see src/node/config.ts); the node's default when absent. */
  stateSyncThresholdBlocks?: number;
}): Promise<NetnsNetwork> {
  await removeStale();
  const count = 4;
  const id = `${PREFIX}${process.pid}`;
  const hub = `${id}h`;
  const nsOf = (i: number) => `${id}v${i}`;
  // /30 management links in the test's namespace; the third octet depends on the pid so that two
  // test processes on one machine do not collide.
  const managementOctet = (i: number) => ((process.pid % 60) * 4 + i) % 256;
  const managementHost = (i: number) => `10.251.${managementOctet(i)}.1`;
  const managementNode = (i: number) => `10.251.${managementOctet(i)}.2`;
  const dataAddress = (i: number) => `10.250.0.${i + 1}`;
  const directory = mkdtempSync(join(tmpdir(), 'palisade-netfaults-'));
  const seed = Number(process.env.PALISADE_NETFAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = createRandom(seed);
  const relayPort = (i: number, j: number) => RELAY_BASE_PORT + i * 10 + j;
  const netem = await netemAvailable();
  const created: string[] = [];
  const nodes: NetnsNode[] = [];
  const relays: ReturnType<typeof createDelayRelay>[] = [];
  let profile: LinkProfile = NO_DELAY;
  let viaRelays = false;

  const teardown = async () => {
    for (const relay of relays) relay.close();
    for (const name of created.reverse()) await ip('netns', 'del', name).catch(() => {});
  };

  try {
    await ip('netns', 'add', hub);
    created.push(hub);
    await ip('-n', hub, 'link', 'set', 'lo', 'up');
    for (const bridge of ['bridge-a', 'bridge-b']) {
      await ip('-n', hub, 'link', 'add', 'name', bridge, 'type', 'bridge');
      await ip('-n', hub, 'link', 'set', bridge, 'up');
    }
    for (let i = 0; i < count; i += 1) {
      const ns = nsOf(i);
      await ip('netns', 'add', ns);
      created.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `${id}h${i}`, 'netns', hub);
      await ip('-n', ns, 'addr', 'add', `${dataAddress(i)}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', hub, 'link', 'set', `${id}h${i}`, 'master', 'bridge-a');
      await ip('-n', hub, 'link', 'set', `${id}h${i}`, 'up');
      await ip('link', 'add', `${id}m${i}`, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', ns);
      await ip('-n', ns, 'addr', 'add', `${managementNode(i)}/30`, 'dev', 'mgmt');
      await ip('-n', ns, 'link', 'set', 'mgmt', 'up');
      await ip('addr', 'add', `${managementHost(i)}/30`, 'dev', `${id}m${i}`);
      await ip('link', 'set', `${id}m${i}`, 'up');
    }

    // Relays: for the pair i < j (i dials j), one on i's management link forwarding to j's.
    for (let i = 0; i < count; i += 1) {
      for (let j = i + 1; j < count; j += 1) {
        const relay = createDelayRelay({
          listen: { host: managementHost(i), port: relayPort(i, j) },
          target: { host: managementNode(j), port: P2P_PORT },
          profile: () => profile,
          random,
        });
        relays.push(relay);
        await relay.ready;
      }
    }

    writeFileSync(join(directory, 'password.txt'), `${PASSWORD}\n`);
    await run(process.execPath, [
      PALISADE_BIN,
      'genesis',
      '--validators',
      String(count),
      '--out',
      join(directory, 'net'),
      '--password-file',
      join(directory, 'password.txt'),
      '--leader-timeout-ms',
      String(options.leaderTimeoutMs),
      '--fast-kdf',
      '--json',
    ]);
  } catch (error) {
    await teardown();
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }

  const configPath = (i: number) => join(directory, 'net', `validator-${i}`, 'config.json');
  /** Rewrites validator i's config for the current routing (direct or through the relays). */
  const writeConfig = (i: number) => {
    const config = JSON.parse(readFileSync(configPath(i), 'utf8')) as Record<string, unknown>;
    const peers: Record<string, string> = {};
    for (let j = 0; j < count; j += 1) {
      if (j === i) continue;
      // Only the dialer (the lower index) uses the address; the acceptor learns from it which host
      // its peer's connections come from (the relay's side of its own management link).
      peers[String(j)] = viaRelays
        ? `${managementHost(i)}:${relayPort(Math.min(i, j), Math.max(i, j))}`
        : `${dataAddress(j)}:${P2P_PORT}`;
    }
    config.p2pListen = `0.0.0.0:${P2P_PORT}`;
    config.apiListen = `${managementNode(i)}:${API_PORT}`;
    config.peers = peers;
    if (options.stateSyncThresholdBlocks !== undefined)
      config.stateSyncThresholdBlocks = options.stateSyncThresholdBlocks;
    writeFileSync(configPath(i), JSON.stringify(config, null, 2));
  };

  for (let i = 0; i < count; i += 1)
    nodes.push({ index: i, process: undefined, apiUrl: `http://${managementNode(i)}:${API_PORT}` });

  const start = async (index: number, environment: Record<string, string> = {}) => {
    const node = nodes[index]!;
    assert.equal(node.process, undefined, `validator ${index} is already running`);
    writeConfig(index);
    const log = openSync(join(directory, `validator-${index}.log`), 'a');
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsOf(index),
        process.execPath,
        '--import',
        ORPHAN_GUARD,
        PALISADE_BIN,
        'node',
        '--config',
        configPath(index),
      ],
      { stdio: ['pipe', 'pipe', log], env: { ...process.env, ...environment } },
    );
    node.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`validator ${index} not ready after 60 s`)), 60_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"event":"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`validator ${index} exited with ${code}; see ${directory}/validator-${index}.log`));
      });
    });
  };

  const stop = async (index: number) => {
    const node = nodes[index]!;
    const child = node.process;
    if (child === undefined) return;
    node.process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const status = async (index: number): Promise<NodeStatus | undefined> => {
    try {
      const response = await fetch(`${nodes[index]!.apiUrl}/v1/status`, {
        signal: AbortSignal.timeout(2000),
      });
      return response.ok ? ((await response.json()) as NodeStatus) : undefined;
    } catch {
      return undefined;
    }
  };

  const network: NetnsNetwork = {
    directory,
    nodes,
    seed,
    netem,
    start,
    stop,
    useRelays(relaysOn) {
      viaRelays = relaysOn;
    },
    async setProfile(next) {
      profile = next;
      if (!netem) return;
      for (let i = 0; i < count; i += 1) {
        const tc = ['netns', 'exec', nsOf(i), 'tc', 'qdisc'];
        if (next.delayMs === 0 && next.jitterMs === 0 && next.lossRate === 0) {
          await run('ip', [...tc, 'del', 'dev', 'eth0', 'root']).catch(() => {});
          continue;
        }
        // Loss is real here: the kernel's TCP retransmits after its own timeout.
        await run('ip', [
          ...tc,
          'replace',
          'dev',
          'eth0',
          'root',
          'netem',
          'delay',
          `${next.delayMs}ms`,
          `${next.jitterMs}ms`,
          'loss',
          `${next.lossRate * 100}%`,
        ]);
      }
    },
    async partition(side) {
      for (const i of side) await ip('-n', hub, 'link', 'set', `${id}h${i}`, 'master', 'bridge-b');
    },
    async heal() {
      for (let i = 0; i < count; i += 1)
        await ip('-n', hub, 'link', 'set', `${id}h${i}`, 'master', 'bridge-a');
    },
    status,
    heights: () => Promise.all(nodes.map(async (node) => (await status(node.index))?.height)),
    async hashes(index, from, to) {
      const out: BlockSummary[] = [];
      for (let first = from; first <= to; first += 100) {
        const limit = Math.min(100, to - first + 1);
        const response = await fetch(`${nodes[index]!.apiUrl}/v1/blocks?from=${first}&limit=${limit}`);
        assert.equal(response.status, 200, `validator ${index} serves blocks ${first}..`);
        out.push(...((await response.json()) as { blocks: BlockSummary[] }).blocks);
      }
      return out;
    },
    async finality(index) {
      const response = await fetch(`${nodes[index]!.apiUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
      const text = await response.text();
      const value = (name: string) => {
        const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
        assert.ok(match !== null, `${name} in validator ${index}'s /metrics`);
        return Number(match[1]);
      };
      return {
        sumSeconds: value('palisade_finality_latency_seconds_sum'),
        count: value('palisade_finality_latency_seconds_count'),
      };
    },
    async close() {
      await Promise.all(nodes.map((node) => stop(node.index)));
      await teardown();
      // PALISADE_E2E_KEEP=1 keeps the directory (validator logs, databases) to debug a failure.
      if (process.env.PALISADE_E2E_KEEP === undefined) rmSync(directory, { recursive: true, force: true });
      else console.error(`kept ${directory}`);
    },
  };
  try {
    await Promise.all(nodes.map((node) => start(node.index)));
  } catch (error) {
    await network.close();
    throw error;
  }
  return network;
}
