/**
 * `palisade keygen --out DIR [--password-file F] [--kdf scrypt|pbkdf2] [--json]`: makes an Ed25519
 * key and writes it as an EIP-2335 keystore (file mode 0600, in a directory of mode 0700), then
 * prints the public key. The password comes from `--password-file` (its first line), else the
 * environment variable `PALISADE_KEYSTORE_PASSWORD`, else an interactive prompt with echo off when
 * standard input is a terminal; with none of them the command fails rather than use no password.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toHex } from '../../crypto/bytes.ts';
import { generateEd25519KeyPair } from '../../crypto/ed25519.ts';
import { createEd25519Keystore, KeystoreError } from '../../crypto/keystore.ts';
import { parseOptions, UsageError } from '../args.ts';

export const PASSWORD_ENVIRONMENT_VARIABLE = 'PALISADE_KEYSTORE_PASSWORD';
export const usage =
  'usage: palisade keygen --out DIR [--password-file FILE] [--kdf scrypt|pbkdf2] [--label TEXT] [--json]\n' +
  `password: --password-file, else $${PASSWORD_ENVIRONMENT_VARIABLE}, else a prompt on a terminal`;

/** Reads a line from the terminal without echoing it. */
async function promptPassword(question: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolvePassword, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolvePassword(typed);
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n') return finish();
        if (character === '\u0003') return finish(new UsageError('cancelled'));
        if (character === '\u007f' || character === '\b') typed = typed.slice(0, -1);
        // A password is short; refusing pasted megabytes keeps the prompt bounded.
        else if (typed.length < 1024) typed += character;
      }
    };
    input.on('data', onData);
  });
}

async function readPassword(passwordFile: string | undefined): Promise<string> {
  if (passwordFile !== undefined) {
    const text = await readFile(passwordFile, 'utf8');
    return text.split(/\r?\n/)[0] ?? '';
  }
  const fromEnvironment = process.env[PASSWORD_ENVIRONMENT_VARIABLE];
  if (fromEnvironment !== undefined) return fromEnvironment;
  if (process.stdin.isTTY) {
    const first = await promptPassword('keystore password: ');
    const second = await promptPassword('repeat password: ');
    if (first !== second) throw new UsageError('the passwords differ');
    return first;
  }
  throw new UsageError(
    `no password: pass --password-file, set ${PASSWORD_ENVIRONMENT_VARIABLE}, or run on a terminal`,
  );
}

/**
 * Runs `palisade keygen`.
 * @example await run(['--out', 'keys', '--password-file', 'pw.txt', '--json']);
 */
export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseOptions(args, {
      out: { type: 'string' },
      'password-file': { type: 'string' },
      kdf: { type: 'string', default: 'scrypt' },
      label: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (typeof values.out !== 'string') throw new UsageError('--out DIR is required');
    if (values.kdf !== 'scrypt' && values.kdf !== 'pbkdf2') throw new UsageError('--kdf is scrypt or pbkdf2');
    const password = await readPassword(values['password-file']);
    const { secretKey, publicKey } = generateEd25519KeyPair();
    const keystore = await createEd25519Keystore(secretKey, password, {
      kdf: values.kdf,
      ...(values.label === undefined ? {} : { label: values.label }),
    });
    secretKey.fill(0);
    const directory = resolve(values.out);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const path = join(directory, `keystore-ed25519-${toHex(publicKey).slice(0, 16)}.json`);
    // 'wx' refuses to overwrite an existing key; the mode applies at creation, before any byte is written.
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(keystore, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    if (values.json) {
      console.log(
        JSON.stringify({ publicKey: toHex(publicKey), keystore: path, kdf: values.kdf, uuid: keystore.uuid }),
      );
    } else {
      console.log(`public key ${toHex(publicKey)}\nkeystore   ${path}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof KeystoreError || (error as NodeJS.ErrnoException).syscall !== undefined) {
      console.error(`palisade keygen: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
