/**
 * The `palisade` command line. Each subcommand lives in its own module under `commands/` and is
 * loaded only when it runs, so `palisade --help` stays fast and one command's dependencies never
 * slow down another.
 */
import { UsageError } from './args.ts';

export interface CommandModule {
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
  /** Printed after a {@link UsageError}, which every command leaves to `main`. */
  usage?: string;
}

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

/** Every subcommand, in the order `palisade --help` lists them. */
const commands: Record<string, CommandEntry> = {
  help: { summary: 'print this help', load: async () => ({ run: async () => printHelp() }) },
  price: { summary: 'option price and greeks (fixed-point BSM)', load: () => import('./commands/price.ts') },
  iv: { summary: 'implied volatility of an option price', load: () => import('./commands/iv.ts') },
  keygen: { summary: 'new Ed25519 key in an EIP-2335 keystore', load: () => import('./commands/keygen.ts') },
  genesis: {
    summary: 'keys, genesis.json and one config per validator for a new network',
    load: () => import('./commands/genesis.ts'),
  },
  node: {
    summary: 'run one validator: palisade node --config FILE',
    load: () => import('./commands/node.ts'),
  },
  devnet: {
    summary: 'a whole network on this machine: validators, bots, dashboard (npm start)',
    load: () => import('./commands/devnet.ts'),
  },
  'evm-node': {
    summary: "the devnet's local EVM JSON-RPC node (Hardhat's EDR): palisade evm-node --port PORT",
    load: () => import('./commands/evm-node.ts'),
  },
  bench: { summary: 'run a benchmark (bench/<name>.ts)', load: () => import('./commands/bench.ts') },
  sim: {
    summary: 'deterministic consensus simulator: seeds, fault profiles, invariants',
    load: () => import('./commands/sim.ts'),
  },
  redteam: {
    summary:
      'red-team catalogue: historical exploits replayed against the simulated venue, certificates and network',
    load: () => import('./commands/redteam.ts'),
  },
  'oracle-sim': {
    summary: 'oracle aggregation under named manipulation scenarios',
    load: () => import('./commands/oracle-sim.ts'),
  },
  stress: {
    summary: 'replay volatility regimes (calm, March 2020, 2022 cascade): EWMA, bands, margins, halts',
    load: () => import('./commands/stress.ts'),
  },
  fuzz: {
    summary: 'fuzz engine: every action with hostile inputs; finds throws and value leaks',
    load: () => import('./commands/fuzz.ts'),
  },
  risk: {
    summary: 'live security assessment of a running network: dispersion, finality, oracle, expected loss',
    load: () => import('./commands/risk.ts'),
  },
  conformance: {
    summary: 'check a running network against the security specification (docs/spec/)',
    load: () => import('./commands/conformance.ts'),
  },
  'prove-margin': {
    summary: 'zero-knowledge proof that an account of yours has equity ≥ k × maintenance',
    load: () => import('./commands/prove-margin.ts'),
  },
  'audit-log': {
    summary: "fetch the engine's hash-chained audit log; --verify checks it against the committed head",
    load: () => import('./commands/audit-log.ts'),
  },
  governance: {
    summary: 'build, sign and submit an m-of-n governance proposal',
    load: () => import('./commands/governance.ts'),
  },
  'verify-margin': {
    summary: 'check a margin proof against your challenge, ratio and trusted account root',
    load: () => import('./commands/verify-margin.ts'),
  },
  withdraw: {
    summary: 'withdraw to an EVM address: the transaction, the certified checkpoint, the vault claim',
    load: () => import('./commands/withdraw.ts'),
  },
};

function printHelp(): number {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = [
    'palisade — BFT ordering, a deterministic options engine and threshold-signed prices for a derivatives venue',
    '',
    'usage: palisade <command> [options]   (palisade <command> --help for its options)',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`),
  ];
  console.log(lines.join('\n'));
  return 0;
}

/**
 * Dispatches `argv` (without the node and script paths) to a subcommand.
 * @example process.exitCode = await main(['price', '--type', 'call', '--spot', '42']);
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return printHelp();
  const entry = commands[name];
  if (entry === undefined) {
    console.error(`palisade: unknown command '${name}'. Run 'palisade --help' for the list.`);
    return 2;
  }
  const module = await entry.load();
  try {
    return await module.run(rest);
  } catch (error) {
    // Bad options are the caller's mistake: say which, show the usage, exit 2 (as getopt tools do).
    if (!(error instanceof UsageError)) throw error;
    console.error(
      `palisade ${name}: ${error.message}${module.usage === undefined ? '' : `\n${module.usage}`}`,
    );
    return 2;
  }
}
