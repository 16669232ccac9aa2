/**
 * A local EVM JSON-RPC node for tests: Hardhat's EDR (`@nomicfoundation/edr`, the Rust EVM node
 * that Hardhat 3 runs, from the registry with its prebuilt native module) behind a small HTTP
 * server on 127.0.0.1. EDR itself is a provider object (`handleRequest`), not a server; Hardhat 3
 * puts the same object behind `hardhat node`, which needs a Hardhat project around it, so the test
 * does the serving itself in a few lines. Starts in well under a second; supports `evm_mine`,
 * `evm_snapshot` / `evm_revert` (reorgs), and the standard `eth_*` reads the follower uses.
 */
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

export interface EdrNode {
  readonly url: string;
  readonly chainId: bigint;
  /** Secret keys of the funded accounts, 0x-prefixed. */
  readonly accounts: readonly `0x${string}`[];
  /** One JSON-RPC call straight to the provider (for test set-up). */
  request(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

let context: EdrContext | undefined;

/** Test-only keys from public strings; never for a real network. */
const ACCOUNT_KEYS = [1, 2, 3, 4, 5, 6, 7, 8].map(
  (i) => `0x${i.toString(16).padStart(64, '0')}` as `0x${string}`,
);

export async function startEdrNode(options: { chainId?: bigint } = {}): Promise<EdrNode> {
  const chainId = options.chainId ?? 31337n;
  if (context === undefined) {
    context = new EdrContext();
    await context.registerProviderFactory(GENERIC_CHAIN_TYPE, genericChainProviderFactory());
  }
  const hardfork = l1HardforkToString(l1HardforkLatest());
  const provider: Provider = await context.createProvider(
    GENERIC_CHAIN_TYPE,
    {
      allowBlocksWithSameTimestamp: false,
      allowUnlimitedContractSize: false,
      bailOnCallFailure: false,
      bailOnTransactionFailure: false,
      chainId,
      coinbase: new Uint8Array(20),
      defaultTransactionGasLimit: 16_000_000n,
      genesisState: [
        ...l1GenesisState(l1HardforkLatest()),
        ...ACCOUNT_KEYS.map((key) => ({
          address: Buffer.from(privateKeyToAccount(key).address.slice(2), 'hex'),
          balance: 10n ** 24n,
        })),
      ],
      hardfork,
      initialBaseFeePerGas: 1_000_000_000n,
      minGasPrice: 0n,
      mining: { autoMine: true, memPool: { order: MineOrdering.Priority } },
      network: { genesisBlockGasLimit: 60_000_000n, genesisBlockTime: 1_767_225_600n } as never,
      networkId: chainId,
      observability: {},
      ownedAccounts: ACCOUNT_KEYS,
      precompileOverrides: [],
    },
    { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} },
    { subscriptionCallback: () => {} },
    new ContractDecoder(),
  );
  const request = async (method: string, params: unknown[] = []) => {
    const response = await provider.handleRequest(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
    const data = typeof response.data === 'string' ? JSON.parse(response.data) : response.data;
    if (data.error !== undefined) throw new Error(`${method}: ${data.error.message}`);
    return data.result;
  };
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      // EDR answers `{result}` or `{error}`; a JSON-RPC 2.0 server also echoes the id.
      let id: unknown = null;
      let answer: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        // EDR requires `params`, which JSON-RPC 2.0 lets a client omit (viem does for no arguments).
        const body = JSON.parse(text) as { id?: unknown; params?: unknown };
        id = body.id ?? null;
        const response = await provider.handleRequest(JSON.stringify({ params: [], ...body }));
        answer = typeof response.data === 'string' ? JSON.parse(response.data) : response.data;
      } catch (error) {
        answer = { error: { code: -32700, message: String(error) } };
      }
      outgoing
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, ...(answer as object) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    chainId,
    accounts: ACCOUNT_KEYS,
    request,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
