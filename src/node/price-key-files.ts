/**
 * The price keyset's key files on a validator's disk: `price-keyset-<epoch>.key` in the data
 * directory, each written mode 0600 to a temporary file, fsynced, then renamed into place, so a
 * crash leaves the previous file or the new one and never half of one. The contents are sealed by
 * src/node/price-signing.ts (src/crypto/keystore.ts's version-2 threshold key file); this module
 * only stores text.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { PriceKeyStore } from './price-signing.ts';

const KEY_FILE = /^price-keyset-(\d+)\.key$/;

function keyFilePath(dataDirectory: string, epoch: number): string {
  return join(dataDirectory, `price-keyset-${epoch}.key`);
}

/**
 * @example const prices = createPriceSigner({ ...options, keyStore: createFilePriceKeyStore('data/0') });
 */
export function createFilePriceKeyStore(dataDirectory: string): PriceKeyStore {
  return {
    epochs() {
      let entries: string[];
      try {
        entries = readdirSync(dataDirectory);
      } catch {
        return [];
      }
      return entries
        .map((name) => KEY_FILE.exec(name)?.[1])
        .filter((epoch): epoch is string => epoch !== undefined)
        .map(Number)
        .filter(Number.isSafeInteger);
    },
    read(epoch) {
      try {
        return readFileSync(keyFilePath(dataDirectory, epoch), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    write(epoch, text) {
      const path = keyFilePath(dataDirectory, epoch);
      const temporary = `${path}.tmp`;
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    },
    remove(epoch) {
      try {
        unlinkSync(keyFilePath(dataDirectory, epoch));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    },
  };
}
