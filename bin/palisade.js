#!/usr/bin/env node
// The `palisade` command. Node 24 runs the TypeScript sources directly (type stripping),
// so this launcher only hands over to the CLI module.
import { main } from '../src/node/cli.ts';

process.exitCode = await main(process.argv.slice(2));
