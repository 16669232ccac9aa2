/**
 * `palisade evm-node`: the devnet's local EVM JSON-RPC node (src/interop/evm/edr-server.ts,
 * Hardhat's EDR) on 127.0.0.1, mining a block every --block-ms and, with --journal, replaying and
 * appending the journal that lets a devnet's EVM chain survive a restart. Prints one JSON ready
 * line `{"event":"ready","rpc":URL,"chainId":N,"replayed":K}` on stdout; SIGTERM or SIGINT stops it.
 * The devnet runs it as a child process (src/node/devnet/evm.ts); it is also usable by hand.
 * Exit codes: 1 it could not start (port in use, a journal that does not replay), 2 bad usage.
 */

import { EDR_DEFAULT_CHAIN_ID, EdrServerError, startEdrServer } from '../../interop/evm/edr-server.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';

export const usage = `usage: palisade evm-node [--port PORT] [--chain-id ID] [--block-ms MS] [--journal FILE]
  defaults: port 8545, chain id ${EDR_DEFAULT_CHAIN_ID} (Hardhat's), a block every 1000 ms, no journal`;

function integer(name: string, value: string | boolean | undefined, min: number, max: number): number {
  const parsed = numberOption(name, value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}]`);
  return parsed;
}

/**
 * @example process.exitCode = await run(['--port', '26900', '--journal', 'evm/journal.jsonl']);
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    port: { type: 'string', default: '8545' },
    'chain-id': { type: 'string', default: String(EDR_DEFAULT_CHAIN_ID) },
    'block-ms': { type: 'string', default: '1000' },
    journal: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const port = integer('port', values.port, 0, 65_535);
  const chainId = integer('chain-id', values['chain-id'], 1, 2 ** 32);
  const blockMs = integer('block-ms', values['block-ms'], 50, 3_600_000);
  let server: Awaited<ReturnType<typeof startEdrServer>>;
  try {
    server = await startEdrServer({
      port,
      chainId: BigInt(chainId),
      blockIntervalMs: blockMs,
      ...(values.journal === undefined ? {} : { journal: values.journal as string }),
    });
  } catch (error) {
    if (error instanceof EdrServerError || (error as NodeJS.ErrnoException).syscall !== undefined) {
      console.error(`palisade evm-node: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
  console.log(JSON.stringify({ event: 'ready', rpc: server.url, chainId, replayed: server.replayed }));
  await new Promise<void>((resolveStop) => {
    process.once('SIGTERM', resolveStop);
    process.once('SIGINT', resolveStop);
  });
  await server.close();
  return 0;
}
