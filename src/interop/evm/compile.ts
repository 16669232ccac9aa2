/**
 * Compiles `contracts/` with the `solc` package pinned in the lock file (its WebAssembly build,
 * no download), through Solidity's standard JSON interface. Imports of `@openzeppelin/contracts`
 * resolve to the pinned npm package; nothing else is read, so a build is a function of the
 * repository and the lock file. The input names every source by a repository-relative path and
 * fixes every setting (optimizer, EVM version, metadata), so two builds give identical bytecode;
 * a test holds that, and `sourceDigest` names the exact input.
 *
 * `contracts/artifacts.json` is a committed build: `compiledContracts()` uses it only when its
 * `sourceDigest` equals the digest of the input built from the sources now present and its solc
 * version is the installed one, and compiles otherwise. A test compiles afresh and requires the
 * committed file to be identical; `node src/interop/evm/compile.ts --write` rewrites it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const artifactsPath = join(contractsRoot, 'artifacts.json');

interface ArtifactsFile {
  solcVersion: string;
  sourceDigest: string;
  contracts: Record<string, { source: string; abi: unknown[]; bytecode: string; deployedBytecode: string }>;
}

/** The committed-artifacts document of a build (sorted by name, hex bytecode). */
export function artifactsDocument(output: CompileOutput): string {
  const contracts: ArtifactsFile['contracts'] = {};
  for (const name of [...output.contracts.keys()].sort()) {
    const artifact = output.contracts.get(name)!;
    contracts[name] = {
      source: artifact.source,
      abi: [...artifact.abi],
      bytecode: Buffer.from(artifact.bytecode).toString('hex'),
      deployedBytecode: Buffer.from(artifact.deployedBytecode).toString('hex'),
    };
  }
  const document: ArtifactsFile = {
    solcVersion: output.solcVersion,
    sourceDigest: output.sourceDigest,
    contracts,
  };
  return `${JSON.stringify(document, null, 1)}\n`;
}

/** The committed build, or undefined when absent or not built from the present sources. */
export function committedArtifacts(): CompileOutput | undefined {
  if (!existsSync(artifactsPath)) return undefined;
  const document = JSON.parse(readFileSync(artifactsPath, 'utf8')) as ArtifactsFile;
  const installed = (require('solc/package.json') as { version: string }).version;
  if (!document.solcVersion.startsWith(`${installed}+`) || installed !== SOLC_VERSION) return undefined;
  const digest = createHash('sha256').update(standardJsonInput()).digest('hex');
  if (document.sourceDigest !== digest) return undefined;
  const contracts = new Map<string, ContractArtifact>();
  for (const [name, artifact] of Object.entries(document.contracts)) {
    contracts.set(name, {
      name,
      source: artifact.source,
      abi: artifact.abi,
      bytecode: hexToBytes(artifact.bytecode),
      deployedBytecode: hexToBytes(artifact.deployedBytecode),
    });
  }
  return { contracts, sourceDigest: document.sourceDigest, solcVersion: document.solcVersion };
}

let memo: CompileOutput | undefined;

/** The committed build when it matches the sources, else {@link compileContracts}; once per process. */
export function compiledContracts(): CompileOutput {
  memo ??= committedArtifacts() ?? compileContracts();
  return memo;
}

if (import.meta.main && process.argv.includes('--write')) {
  writeFileSync(artifactsPath, artifactsDocument(compileContracts()));
  console.log(`wrote ${relative(repositoryRoot, artifactsPath)}`);
}
