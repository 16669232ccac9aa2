/**
 * Compiles `contracts/` with the `solc` package pinned in the lock file (its WebAssembly build,
 * no download), through Solidity's standard JSON interface. Imports of `@openzeppelin/contracts`
 * resolve to the pinned npm package; nothing else is read, so a build is a function of the
 * repository and the lock file. The input names every source by a repository-relative path and
 * fixes every setting (optimizer, EVM version, metadata), so two builds give identical bytecode;
 * a test holds that, and `sourceDigest` names the exact input for anyone who caches artifacts.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOLC_VERSION = '0.8.37';
/** Cancun: what every chain Palisade targets runs; the contracts need nothing later. */
export const EVM_VERSION = 'cancun';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const contractsRoot = join(repositoryRoot, 'contracts');
const require = createRequire(import.meta.url);
/** The largest source accepted; ours are a few kB, OpenZeppelin's under 40 kB. */
const SOURCE_BYTES_MAX = 256 * 1024;
const IMPORTS_MAX = 256;

export interface ContractArtifact {
  readonly name: string;
  readonly source: string;
  /** The ABI as solc emits it (JSON). */
  readonly abi: readonly unknown[];
  readonly bytecode: Uint8Array;
  readonly deployedBytecode: Uint8Array;
}

export interface CompileOutput {
  /** Artifacts by contract name (names are unique in `contracts/`). */
  readonly contracts: ReadonlyMap<string, ContractArtifact>;
  /** SHA-256 of the standard JSON input: changes whenever a source or a setting does. */
  readonly sourceDigest: string;
  readonly solcVersion: string;
}

export class SolidityCompileError extends Error {
  override readonly name = 'SolidityCompileError';
  readonly code = 'SOLIDITY_COMPILE' as const;
  readonly diagnostics: readonly string[];
  constructor(diagnostics: readonly string[]) {
    super(`SOLIDITY_COMPILE: ${diagnostics.length} error(s)\n${diagnostics.join('\n')}`);
    this.diagnostics = diagnostics;
  }
}

interface SolcModule {
  version(): string;
  compile(
    input: string,
    callbacks?: { import: (path: string) => { contents: string } | { error: string } },
  ): string;
}

function listSolidityFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return listSolidityFiles(path);
      return entry.name.endsWith('.sol') ? [path] : [];
    })
    .sort();
}

function readBounded(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (text.length > SOURCE_BYTES_MAX)
    throw new SolidityCompileError([`${path}: larger than ${SOURCE_BYTES_MAX} bytes`]);
  return text;
}

const IMPORT_PATTERN = /^\s*import\s+(?:\{[^}]*\}\s+from\s+)?"([^"]+)"/gm;

/** Every source the contracts need, by the name solc will see; OpenZeppelin from node_modules. */
function collectSources(): Record<string, { content: string }> {
  const sources: Record<string, { content: string }> = {};
  const queue: string[] = [];
  for (const file of listSolidityFiles(contractsRoot)) {
    const name = relative(repositoryRoot, file).split(sep).join('/');
    sources[name] = { content: readBounded(file) };
    queue.push(name);
  }
  while (queue.length > 0) {
    const name = queue.shift()!;
    const content = sources[name]!.content;
    for (const match of content.matchAll(IMPORT_PATTERN)) {
      const specifier = match[1]!;
      const resolved = specifier.startsWith('.')
        ? new URL(specifier, `file:///${name}`).pathname.slice(1)
        : specifier;
      if (sources[resolved] !== undefined) continue;
      if (Object.keys(sources).length >= IMPORTS_MAX)
        throw new SolidityCompileError([`more than ${IMPORTS_MAX} sources`]);
      if (!resolved.startsWith('@openzeppelin/contracts/'))
        throw new SolidityCompileError([
          `${name}: import '${specifier}' is outside contracts/ and OpenZeppelin`,
        ]);
      const path = require.resolve(resolved);
      sources[resolved] = { content: readBounded(path) };
      queue.push(resolved);
    }
  }
  return sources;
}

/** The standard JSON input: every source and every setting, nothing left to solc's defaults. */
export function standardJsonInput(): string {
  const sources = collectSources();
  const ordered: Record<string, { content: string }> = {};
  for (const name of Object.keys(sources).sort()) ordered[name] = sources[name]!;
  return JSON.stringify({
    language: 'Solidity',
    sources: ordered,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: EVM_VERSION,
      viaIR: true,
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  });
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * Compiles every contract under `contracts/`.
 * @example const { contracts } = compileContracts(); contracts.get('PalisadeVerifier')!.bytecode;
 * @throws SolidityCompileError with solc's diagnostics when a source does not compile, or when
 *   the installed solc is not {@link SOLC_VERSION}
 */
export function compileContracts(): CompileOutput {
  const solc = require('solc') as SolcModule;
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`))
    throw new SolidityCompileError([`solc ${version} installed, ${SOLC_VERSION} pinned`]);
  const input = standardJsonInput();
  const output = JSON.parse(
    solc.compile(input, { import: (path) => ({ error: `unexpected import ${path}` }) }),
  ) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<
      string,
      Record<
        string,
        { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
      >
    >;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error').map((e) => e.formattedMessage);
  if (errors.length > 0) throw new SolidityCompileError(errors);
  const contracts = new Map<string, ContractArtifact>();
  for (const [source, byName] of Object.entries(output.contracts ?? {})) {
    if (!source.startsWith('contracts/')) continue;
    for (const [name, artifact] of Object.entries(byName)) {
      if (contracts.has(name)) throw new SolidityCompileError([`contract name ${name} is defined twice`]);
      contracts.set(name, {
        name,
        source,
        abi: artifact.abi,
        bytecode: hexToBytes(artifact.evm.bytecode.object),
        deployedBytecode: hexToBytes(artifact.evm.deployedBytecode.object),
      });
    }
  }
  return {
    contracts,
    sourceDigest: createHash('sha256').update(input).digest('hex'),
    solcVersion: version,
  };
}

let memo: CompileOutput | undefined;

/** {@link compileContracts} once per process (a build takes seconds in WebAssembly). */
export function compiledContracts(): CompileOutput {
  memo ??= compileContracts();
  return memo;
}
