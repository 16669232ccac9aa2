/**
 * The documentation lists the same API error codes, with the same statuses, as the code: a client
 * author reads docs/api.md, and a code the docs do not mention is a code nobody handles.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { API_ERRORS } from '../src/node/api/errors.ts';
import { createFixtureNode } from '../src/node/api/fixture-node.ts';
import { BASE_UNITS_PATTERN, MONEY_FIELDS, SIGNED_BASE_UNITS_PATTERN } from '../src/node/api/schemas.ts';
import { createApiServer } from '../src/node/api/server.ts';
import { CLIENT_ERRORS } from '../src/node/client.ts';

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

test('docs/api.md and the OpenAPI document agree: routes and their query parameters, error codes, money fields', async () => {
  const app = createApiServer({ view: createFixtureNode({ traders: 1 }).view });
  try {
    const document = (await app.inject('/v1/openapi.json')).json() as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const fromOpenApi = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => {
        const query = (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'query')
          .map((parameter) => parameter.name)
          .sort();
        const route = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
        return query.length === 0 ? route : `${route}?${query.join('&')}`;
      }),
    );
    const routesSection = apiDoc.slice(apiDoc.indexOf('## Routes'), apiDoc.indexOf('## Numbers'));
    const fromDocs = [...routesSection.matchAll(/^\|\s*`([A-Z]+) ([^`?]+)(?:\?([^`]+))?`\s*\|/gm)].map(
      ([, method, path, query]) => {
        const route = `${method} ${path}`;
        return query === undefined ? route : `${route}?${query.split('&').sort().join('&')}`;
      },
    );
    assert.deepEqual([...fromDocs].sort(), [...fromOpenApi].sort());

    const errorCodes = new Set<string>();
    for (const operations of Object.values(document.paths))
      for (const operation of Object.values(operations))
        for (const response of Object.values(operation.responses ?? {}))
          for (const code of response.content?.['application/json']?.schema?.properties?.error?.properties
            ?.code?.enum ?? [])
            errorCodes.add(code);
    assert.deepEqual([...errorCodes].sort(), Object.keys(API_ERRORS).sort());

    const moneySection = apiDoc.slice(
      apiDoc.indexOf('## Numbers'),
      apiDoc.indexOf('## Fills and liquidations'),
    );
    const documentedMoney = [...moneySection.matchAll(/^\|\s*`([a-zA-Z]+)`\s*\|/gm)].map((row) => row[1]);
    assert.deepEqual([...documentedMoney].sort(), [...MONEY_FIELDS].sort());
    const moneyInOpenApi = new Set<string>();
    const collect = (schema: unknown): void => {
      if (schema === null || typeof schema !== 'object') return;
      const node = schema as Record<string, unknown>;
      for (const [name, sub] of Object.entries((node.properties as Record<string, unknown>) ?? {})) {
        const inner = sub as { pattern?: string; anyOf?: Array<{ pattern?: string }> };
        const pattern = inner.pattern ?? inner.anyOf?.[1]?.pattern;
        if (pattern === BASE_UNITS_PATTERN || pattern === SIGNED_BASE_UNITS_PATTERN) moneyInOpenApi.add(name);
      }
      for (const value of Object.values(node)) collect(value);
    };
    collect(document.paths);
    assert.deepEqual([...moneyInOpenApi].sort(), [...MONEY_FIELDS].sort());
  } finally {
    await app.close();
  }
});

test('docs/api.md lists exactly the client’s own error codes, with their meanings', () => {
  const section = apiDoc.slice(apiDoc.indexOf('## Client error codes'));
  const documented = Object.fromEntries(
    [...section.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*([^|]+?)\s*\|$/gm)].map((row) => [row[1], row[2]]),
  );
  assert.deepEqual(documented, { ...CLIENT_ERRORS });
});

interface OpenApiOperation {
  parameters?: Array<{ in: string; name: string }>;
  responses?: Record<
    string,
    {
      content?: Record<
        string,
        { schema?: { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } }
      >;
    }
  >;
}
