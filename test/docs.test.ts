/**
 * The documentation lists the same API error codes, with the same statuses, as the code: a client
 * author reads docs/api.md, and a code the docs do not mention is a code nobody handles.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { API_ERRORS } from '../src/node/api/errors.ts';

const apiDoc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');

test('docs/api.md lists exactly the error codes and statuses of src/node/api/errors.ts', () => {
  const errorsSection = apiDoc.slice(apiDoc.indexOf('## Errors'));
  const documented = Object.fromEntries(
    [...errorsSection.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((row) => [
      row[1],
      Number(row[2]),
    ]),
  );
  const inCode = Object.fromEntries(Object.entries(API_ERRORS).map(([code, entry]) => [code, entry.status]));
  assert.deepEqual(documented, inCode);
});

test('docs/api.md lists every route the server registers', () => {
  const server = readFileSync(new URL('../src/node/api/server.ts', import.meta.url), 'utf8');
  const routes = [...server.matchAll(/'(\/(?:v1|metrics)[^']*)'/g)].map((match) => match[1]);
  assert.ok(routes.length > 5, 'the route scan found the server routes');
  for (const route of new Set(routes)) {
    assert.ok(apiDoc.includes(route as string), `route ${route} is not documented in docs/api.md`);
  }
});
