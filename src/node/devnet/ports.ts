/**
 * Free loopback ports for a devnet whose ports must not collide with anything running: tests and
 * benchmarks that start several networks on one machine.
 */
import { createServer } from 'node:net';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function devnetPorts(base: number, validators: number): number[] {
  const ports = [base + 200];
  for (let i = 0; i < validators; i++) ports.push(base + i, base + 100 + i);
  return ports;
}

/**
 * Whether the ports a devnet of `validators` at `base` listens on (see freeBasePort) are all free.
 * @example if (!(await basePortFree(33000, 4))) throw new Error('taken');
 */
export async function basePortFree(base: number, validators: number): Promise<boolean> {
  return (await Promise.all(devnetPorts(base, validators).map(portFree))).every(Boolean);
}

/**
 * A base port P with P..P+n-1 (p2p), P+100..P+100+n-1 (API) and P+200 (dashboard) all free on
 * 127.0.0.1, chosen at random so that concurrent callers rarely try the same block; within
 * `PALISADE_PORT_RANGE` ("low-high", every port of the block inside it) when that is set, so that
 * jobs sharing a machine can keep to their own ports.
 * @example const basePort = await freeBasePort(4);
 * @throws Error when 200 random blocks were all taken
 */
export async function freeBasePort(validators: number): Promise<number> {
  const [low, span] = portRange(validators);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * span);
    if (await basePortFree(base, validators)) return base;
  }
  throw new Error('no free block of ports on 127.0.0.1');
}

/** The first base port to try and how many there are (see `freeBasePort`). */
function portRange(validators: number): [number, number] {
  const range = process.env.PALISADE_PORT_RANGE;
  if (range === undefined || range === '')
    // Stay below Linux's ephemeral range (32768 and up): a port found free there can be taken a
    // moment later as the source port of some outgoing connection.
    return [20_000, 12_400];
  const match = /^(\d+)-(\d+)$/.exec(range);
  const low = Number(match?.[1]);
  const high = Number(match?.[2]);
  const span = high - 200 - low + 1;
  if (match === null || low < 1024 || high > 65_535 || span < 1 || validators > 100)
    throw new Error(`PALISADE_PORT_RANGE=${range}: need low-high with room for base + 200`);
  return [low, span];
}
