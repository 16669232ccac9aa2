/**
 * `palisade withdraw`: moves quote collateral out of Palisade to an address on the bridge's EVM
 * chain (src/node/withdraw-evm.ts). It signs the `Withdraw` transaction with the trader's
 * keystore, waits for its block and for the validators' certified checkpoint that holds it, then
 * submits the checkpoint (unless the vault already has it) and the claim to the vault over
 * JSON-RPC, paying gas from the relayer key. Without `--rpc`, it stops after the checkpoint and
 * prints what a relayer submits.
 */
import { readFileSync } from 'node:fs';
import type { Hex } from 'viem';
import { createEd25519Signer } from '../../crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../crypto/keystore.ts';
import { parseOptions, UsageError } from '../args.ts';
import { createClient } from '../client.ts';
import { withdrawToEvm } from '../withdraw-evm.ts';
import { PASSWORD_ENVIRONMENT_VARIABLE } from './genesis.ts';

export const usage =
  'usage: palisade withdraw --url URL --keystore KEY [--password-file F] --amount BASE_UNITS --recipient 0xADDRESS --token 0xADDRESS\n' +
  '                         [--rpc URL --vault 0xADDRESS --relayer-key-file F] [--timeout-ms 60000] [--json]\n' +
  '  without --rpc: prints the certified checkpoint and proof for a relayer; the keystore password\n' +
  `  comes from --password-file or $${PASSWORD_ENVIRONMENT_VARIABLE}`;

const spec = {
  url: { type: 'string' },
  keystore: { type: 'string' },
  'password-file': { type: 'string' },
  amount: { type: 'string' },
  recipient: { type: 'string' },
  token: { type: 'string' },
  rpc: { type: 'string' },
  vault: { type: 'string' },
  'relayer-key-file': { type: 'string' },
  'timeout-ms': { type: 'string', default: '60000' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function address(value: string | undefined, name: string): Hex {
  if (value === undefined || !ADDRESS.test(value))
    throw new UsageError(`--${name} must be a 0x-prefixed 20-byte address`);
  return value.toLowerCase() as Hex;
}

/**
 * @example await run(['--url', 'http://127.0.0.1:8080', '--keystore', 'me.json', '--amount', '5000000', '--recipient', '0x…', '--token', '0x…']);
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, spec);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.url === undefined) throw new UsageError('--url is required');
  if (values.keystore === undefined) throw new UsageError('--keystore is required');
  if (values.amount === undefined || !/^[1-9][0-9]{0,15}$/.test(values.amount))
    throw new UsageError('--amount must be a positive integer of base units');
  const recipient = address(values.recipient, 'recipient');
  const token = address(values.token, 'token');
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new UsageError('--timeout-ms must be positive');
  const relaying = values.rpc !== undefined;
  if (relaying && (values.vault === undefined || values['relayer-key-file'] === undefined))
    throw new UsageError('--rpc needs --vault and --relayer-key-file');
  const password =
    values['password-file'] !== undefined
      ? (readFileSync(values['password-file'], 'utf8').split(/\r?\n/)[0] ?? '')
      : (process.env[PASSWORD_ENVIRONMENT_VARIABLE] ?? '');
  const pair = await loadEd25519Keystore(readFileSync(values.keystore, 'utf8'), password);
  const client = createClient({ url: values.url });
  const trader = client.trader(createEd25519Signer(pair.secretKey));
  const amount = BigInt(values.amount);
  if (relaying) {
    const relayerKey = readFileSync(values['relayer-key-file']!, 'utf8').trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(relayerKey))
      throw new UsageError('the relayer key file holds no 0x 32-byte key');
    const evm = { rpcUrl: values.rpc!, privateKey: relayerKey as Hex, vault: address(values.vault, 'vault') };
    const result = await withdrawToEvm({ client, trader, amount, recipient, token, evm, timeoutMs });
    if (values.json) console.log(JSON.stringify(result));
    else
      console.log(
        `withdrawal ${result.withdrawalId} in checkpoint ${result.checkpointHeight}: ${result.paid ? 'paid' : 'queued for the vault delay'} (claim ${result.claimTransaction})`,
      );
    return 0;
  }
  const { id } = await trader.withdraw(amount, { recipient, token });
  const outcome = await client.waitForTransaction(id, { timeoutMs });
  if (outcome.status !== 'OK' || outcome.withdrawalId === undefined) {
    console.error(`the engine refused the withdrawal: ${outcome.status}`);
    return 1;
  }
  const read = await client.waitForWithdrawal(outcome.withdrawalId, { timeoutMs });
  console.log(JSON.stringify(read, null, values.json ? undefined : 2));
  return 0;
}
