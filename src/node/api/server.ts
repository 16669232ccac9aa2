/**
 * The node's HTTP and WebSocket API (Fastify), over a `NodeView`.
 *
 *   POST /v1/transactions                  submit: {"transaction":"0x…"} or raw octet-stream bytes
 *   POST /v1/envelopes                     submit an encrypted order: {"envelope":"0x…"} or raw bytes
 *   GET  /v1/transactions/:id              pending, or finalized with its outcome
 *   GET  /v1/status                        height, finalized hash, view, validators and connections
 *   GET  /v1/blocks?from&limit             finalized blocks, ascending (latest page without `from`)
 *   GET  /v1/blocks/:height                one block, its finality certificate and its encoding
 *   GET  /v1/accounts/:publicKey?proof     balance, positions, margin, open orders (+ state proof)
 *   GET  /v1/markets                       listed series with marks
 *   GET  /v1/markets/:seriesId/book?depth  aggregated order book
 *   GET  /v1/fills?seriesId&limit          recent fills seen by this server, newest first
 *   GET  /v1/oracle/prices                 latest aggregated price per asset
 *   GET  /v1/oracle/certificates           latest price certificate per asset, with the keyset
 *   GET  /v1/keys                          keyset epoch, group key, signers, handover chain (keys.ts)
 *   GET  /v1/eon                           the eon keyset orders are encrypted to, with its attestations (eon.ts)
 *   GET  /v1/evidence                      equivocation evidence
 *   GET  /v1/bridge/checkpoints/latest|:height, /v1/bridge/withdrawals/:id   withdrawals (bridge.ts)
 *   GET  /v1/privacy/checkpoints/:height   account tree record, state proof, opening (privacy.ts)
 *   GET  /v1/privacy/accounts/:key/witness a registered account's leaf inputs and Merkle path
 *   GET  /v1/validators/boundaries/:height the validator-set record at a boundary, proven (validators.ts)
 *   GET  /v1/stream (WebSocket)            blocks, fills, prices (see stream.ts)
 *   GET  /v1/openapi.json                  this API as an OpenAPI 3.1 document
 *   GET  /v1/docs                          the same document as a browsable page (Swagger UI)
 *   GET  /metrics                          Prometheus text format
 *
 * Every route declares JSON Schemas for its parameters, query, body and every response: Ajv
 * refuses unknown fields (Fastify's default silently strips them; we turn that off) and
 * fast-json-stringify writes only declared fields. Errors are `{error:{code,message,field?}}` with
 * the codes of `errors.ts`. Nothing reaches the node that has not passed its schema, and a
 * submitted transaction is still decoded and checked in full by the mempool. The OpenAPI document
 * is generated from those same schemas (`@fastify/swagger`), so it cannot describe a route other
 * than the one that runs.
 *
 * Bounds: request bodies (`bodyBytes`), path parameters (100 characters), pages of blocks and
 * fills, book depth, the time a request may take (slow clients are cut off), WebSocket
 * subscribers and their unsent backlog.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import { fromHex } from '../../crypto/bytes.ts';
import {
  type FillJson,
  type NodeEventTopic,
  type NodeView,
  type PriceCertificateEntry,
  priceWithDecimals,
  type SubmitResult,
} from '../view.ts';
import { registerAuditLog } from './audit-log.ts';
import { splitFramedTransactions } from './batch.ts';
import { registerBridge } from './bridge.ts';
import { registerEon } from './eon.ts';
import { API_ERRORS, ApiError, errorBody } from './errors.ts';
import { registerFindings } from './findings.ts';
import { registerKeys } from './keys.ts';
import { createApiMetrics } from './metrics.ts';
import { type NetworkInfo, registerNetwork } from './network.ts';
import { registerPrivacy } from './privacy.ts';
import {
  accountReadSchema,
  BYTES32_PATTERN,
  blockDetailSchema,
  blockSummarySchema,
  bookSchema,
  errorSchema,
  evidenceEntrySchema,
  fillSchema,
  keysetSchema,
  marketSchema,
  object,
  priceCertificateEntrySchema,
  priceSchema,
  statusSchema,
  submitAcceptedSchema,
  submitBatchRequestSchema,
  submitBatchResultSchema,
  submitEnvelopeAcceptedSchema,
  submitEnvelopeRequestSchema,
  submitRequestSchema,
  transactionLookupSchema,
} from './schemas.ts';
import { createStreamHub, DEFAULT_STREAM_LIMITS, parseTopics, type StreamLimits } from './stream.ts';
import { registerValidators } from './validators.ts';

export interface ApiLimits {
  /** Largest request body: a transaction is at most ~4.3 KB, ~8.7 KB as JSON hex. */
  bodyBytes: number;
  /** Largest body of `POST /v1/transactions/batch`, and the most transactions one batch carries. */
  batchBodyBytes: number;
  maxBatchTransactions: number;
  defaultBlocksPerPage: number;
  maxBlocksPerPage: number;
  defaultBookDepth: number;
  maxBookDepth: number;
  /** Fills remembered for `/v1/fills`, and the most one page returns. */
  recentFills: number;
  maxFillsPerPage: number;
  /** A request (headers and body) must arrive within this; it stops slow-loris clients. */
  requestTimeoutMs: number;
  stream: StreamLimits;
}

export const DEFAULT_API_LIMITS: ApiLimits = Object.freeze({
  bodyBytes: 16 * 1024,
  batchBodyBytes: 1024 * 1024,
  maxBatchTransactions: 1024,
  defaultBlocksPerPage: 20,
  maxBlocksPerPage: 100,
  defaultBookDepth: 20,
  maxBookDepth: 100,
  recentFills: 1000,
  maxFillsPerPage: 200,
  requestTimeoutMs: 10_000,
  stream: DEFAULT_STREAM_LIMITS,
});

export interface ApiServerOptions {
  view: NodeView;
  /** A pino logger; without one the server logs nothing. */
  logger?: FastifyBaseLogger;
  limits?: Partial<Omit<ApiLimits, 'stream'>> & { stream?: Partial<StreamLimits> };
  /** What genesis says about the network, served at `GET /v1/network` (network.ts). */
  network?: NetworkInfo;
}

export interface StartApiServerOptions extends ApiServerOptions {
  /** Default 127.0.0.1: the API is for the operator's machine unless they choose otherwise. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

export interface RunningApiServer {
  readonly app: FastifyInstance;
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_HEIGHT = Number.MAX_SAFE_INTEGER;

/** The version of this API's contract (the `v1` of its paths), as the OpenAPI document states it. */
export const API_VERSION = '1.0.0';
const errorResponses = { '4xx': errorSchema, '5xx': errorSchema };

function heightParam(maximum = MAX_HEIGHT) {
  return { type: 'integer', minimum: 0, maximum };
}

/** The request field at fault in an Ajv error, as "<part>/<pointer>" (e.g. "body/transaction"). */
function fieldOf(
  context: string | undefined,
  error: { instancePath: string; params: Record<string, unknown> },
) {
  let pointer = error.instancePath;
  const extra = error.params.additionalProperty ?? error.params.missingProperty;
  if (typeof extra === 'string') pointer = `${pointer}/${extra}`;
  return `${context ?? 'request'}${pointer}`;
}

/**
 * Builds the API over `view`; call `listen` (or use {@link startApiServer}) to serve it.
 * @example const app = createApiServer({ view }); const response = await app.inject('/v1/status');
 */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const limits: ApiLimits = {
    ...DEFAULT_API_LIMITS,
    ...options.limits,
    stream: { ...DEFAULT_API_LIMITS.stream, ...options.limits?.stream },
  };
  const { view } = options;
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: limits.bodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    routerOptions: { maxParamLength: 100 },
    // Malformed URLs and over-long path parameters are answered before routing; give them the
    // same error shape as everything else.
    frameworkErrors: (error, _request, frameworkReply) => {
      const reply = frameworkReply as unknown as FastifyReply;
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        reply.code(414).send(errorBody('URI_TOO_LONG', 'a path parameter is over 100 characters'));
      } else {
        reply.code(400).send(errorBody('INVALID_REQUEST', 'the URL is malformed'));
      }
    },
    return503OnClosing: true,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }) as unknown as FastifyInstance;

  // Only JSON and raw transaction bytes are bodies we read; anything else is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  const hub = createStreamHub(limits.stream);
  const metrics = createApiMetrics(view, hub);
  const fills: FillJson[] = [];
  const unsubscribe = view.subscribe((event) => {
    if (event.topic === 'blocks' && event.finalityLatencyMs !== null)
      metrics.observeFinality(event.finalityLatencyMs);
    if (event.topic === 'fills') {
      fills.push(...event.fills);
      if (fills.length > limits.recentFills) fills.splice(0, fills.length - limits.recentFills);
    }
    hub.publish(
      event.topic === 'prices'
        ? { ...event, prices: event.prices.map((price) => priceWithDecimals(price)) }
        : event,
    );
  });
  app.addHook('onClose', async () => {
    unsubscribe();
    hub.close();
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).send(error.body());
    if (error.validation !== undefined && error.validation.length > 0) {
      const first = error.validation[0]!;
      const field = fieldOf(error.validationContext, first);
      return reply
        .code(400)
        .send(errorBody('INVALID_REQUEST', `${field} ${first.message ?? 'is invalid'}`, field));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply
          .code(413)
          .send(errorBody('BODY_TOO_LARGE', `the body is over ${limits.bodyBytes} bytes`));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply
          .code(415)
          .send(errorBody('UNSUPPORTED_MEDIA_TYPE', 'send application/json or application/octet-stream'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send(errorBody('INVALID_REQUEST', 'the JSON body is empty', 'body'));
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return reply.code(400).send(errorBody('MALFORMED_JSON', 'the body is not valid JSON', 'body'));
    }
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return reply.code(400).send(errorBody('MALFORMED_JSON', error.message, 'body'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody('INVALID_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'API request failed');
    return reply.code(500).send(errorBody('INTERNAL', 'internal error'));
  });

  // Registered before the routes: the swagger plugin records each route's schemas as it is added.
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Palisade node API',
        version: API_VERSION,
        description:
          'Every validator serves this API. Integers: money is a decimal string of base units, every ' +
          'other integer a JSON number below 2^53 (docs/api.md, "Numbers").',
      },
    },
  });
  app.register(swaggerUi, { routePrefix: '/v1/docs', staticCSP: true });
  app.register(websocket, { options: { maxPayload: limits.stream.maxClientFrameBytes } });
  // @fastify/websocket hides its routes from the document; the stream is part of the API, so it is
  // listed (as the GET that upgrades), with its query schema.
  app.addHook('onRoute', (route) => {
    if (route.url === '/v1/stream' && route.schema !== undefined) route.schema.hide = false;
  });

  app.register(async (api) => {
    api.post<{ Body: { transaction: string } | Buffer }>(
      '/v1/transactions',
      {
        schema: {
          body: {
            content: {
              'application/json': { schema: submitRequestSchema },
              'application/octet-stream': { schema: {} },
            },
          },
          response: { 202: submitAcceptedSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const bytes = Buffer.isBuffer(body)
          ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
          : fromHex(body.transaction);
        if (bytes === undefined)
          throw new ApiError('INVALID_REQUEST', 'transaction is not hex', 'body/transaction');
        const result = await view.submitTransaction(bytes);
        if (result.status === 'accepted') return reply.code(202).send({ id: result.id, status: 'accepted' });
        return reply.code(API_ERRORS[result.code].status).send(errorBody(result.code, result.reason));
      },
    );

    // An encrypted order (issue 14): its public envelope and ciphertext, for the envelope pool.
    api.post<{ Body: { envelope: string } | Buffer }>(
      '/v1/envelopes',
      {
        schema: {
          body: {
            content: {
              'application/json': { schema: submitEnvelopeRequestSchema },
              'application/octet-stream': { schema: {} },
            },
          },
          response: { 202: submitEnvelopeAcceptedSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const bytes = Buffer.isBuffer(body)
          ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
          : fromHex(body.envelope);
        if (bytes === undefined)
          throw new ApiError('INVALID_REQUEST', 'envelope is not hex', 'body/envelope');
        if (view.submitEnvelope === undefined)
          throw new ApiError('FAIR_ORDERING_DISABLED', 'this node takes no encrypted orders');
        const result = await view.submitEnvelope(bytes);
        if (result.status === 'accepted') return reply.code(202).send(result);
        return reply.code(API_ERRORS[result.code].status).send(errorBody(result.code, result.reason));
      },
    );

    // Many transactions in one request: a market maker requoting a book sends its orders together,
    // and the node pays one request's parsing and routing for all of them. Each is admitted exactly
    // as a single submission is (same checks, same relay) and answered in order.
    api.post<{ Body: { transactions: string[] } | Buffer }>(
      '/v1/transactions/batch',
      {
        bodyLimit: limits.batchBodyBytes,
        schema: {
          body: {
            content: {
              'application/json': { schema: submitBatchRequestSchema(limits.maxBatchTransactions) },
              'application/octet-stream': { schema: {} },
            },
          },
          response: { 200: submitBatchResultSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const body = request.body;
        let list: Uint8Array[];
        if (Buffer.isBuffer(body)) {
          const framed = splitFramedTransactions(body, limits.maxBatchTransactions);
          if (typeof framed === 'string') throw new ApiError('INVALID_REQUEST', framed, 'body');
          list = framed;
        } else {
          list = [];
          for (const [index, text] of body.transactions.entries()) {
            const bytes = fromHex(text);
            if (bytes === undefined)
              throw new ApiError('INVALID_REQUEST', 'transaction is not hex', `body/transactions/${index}`);
            list.push(bytes);
          }
        }
        const answers: SubmitResult[] = [];
        if (view.submitTransactions !== undefined) answers.push(...(await view.submitTransactions(list)));
        else for (const bytes of list) answers.push(await view.submitTransaction(bytes));
        const results = answers.map((result) =>
          result.status === 'accepted'
            ? { id: result.id, status: 'accepted' as const }
            : { status: 'refused' as const, code: result.code, reason: result.reason },
        );
        return reply.code(200).send({ results });
      },
    );

    api.get<{ Params: { id: string } }>(
      '/v1/transactions/:id',
      {
        schema: {
          params: object({ id: { type: 'string', pattern: BYTES32_PATTERN } }),
          response: { 200: transactionLookupSchema, ...errorResponses },
        },
      },
      async (request) => {
        const found = await view.transaction(request.params.id.toLowerCase());
        if (found === undefined) throw new ApiError('TRANSACTION_NOT_FOUND', 'no such transaction');
        return found;
      },
    );

    api.get('/v1/status', { schema: { response: { 200: statusSchema, ...errorResponses } } }, async () =>
      view.status(),
    );

    api.get<{ Querystring: { from?: number; limit?: number } }>(
      '/v1/blocks',
      {
        schema: {
          querystring: object(
            { from: heightParam(), limit: { type: 'integer', minimum: 1, maximum: limits.maxBlocksPerPage } },
            ['from', 'limit'],
          ),
          response: {
            200: object({ blocks: { type: 'array', items: blockSummarySchema } }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? limits.defaultBlocksPerPage;
        let from = request.query.from;
        if (from === undefined) {
          const { height } = await view.status();
          from = Math.max(1, height - limit + 1);
        }
        return { blocks: await view.blocks(Math.max(1, from), limit) };
      },
    );

    api.get<{ Params: { height: number } }>(
      '/v1/blocks/:height',
      {
        schema: {
          params: object({ height: { type: 'integer', minimum: 1, maximum: MAX_HEIGHT } }),
          response: { 200: blockDetailSchema, ...errorResponses },
        },
      },
      async (request) => {
        const block = await view.block(request.params.height);
        if (block === undefined)
          throw new ApiError('BLOCK_NOT_FOUND', `no finalized block at height ${request.params.height}`);
        return block;
      },
    );

    api.get<{ Params: { publicKey: string }; Querystring: { proof?: boolean } }>(
      '/v1/accounts/:publicKey',
      {
        schema: {
          params: object({ publicKey: { type: 'string', pattern: BYTES32_PATTERN } }),
          querystring: object({ proof: { type: 'boolean' } }, ['proof']),
          response: { 200: accountReadSchema, ...errorResponses },
        },
      },
      async (request) => {
        const publicKey = fromHex(request.params.publicKey);
        if (publicKey === undefined)
          throw new ApiError('INVALID_REQUEST', 'publicKey is not hex', 'params/publicKey');
        const proof = request.query.proof === true;
        const read = await view.account(publicKey, { proof });
        if (read === undefined || (read.account === null && !proof)) {
          throw new ApiError('ACCOUNT_NOT_FOUND', 'the engine has never seen this account');
        }
        return read;
      },
    );

    api.get(
      '/v1/markets',
      {
        schema: {
          response: { 200: object({ markets: { type: 'array', items: marketSchema } }), ...errorResponses },
        },
      },
      async () => ({ markets: await view.markets() }),
    );

    api.get<{ Params: { seriesId: number }; Querystring: { depth?: number } }>(
      '/v1/markets/:seriesId/book',
      {
        schema: {
          params: object({ seriesId: { type: 'integer', minimum: 0, maximum: 0xffff_ffff } }),
          querystring: object({ depth: { type: 'integer', minimum: 1, maximum: limits.maxBookDepth } }, [
            'depth',
          ]),
          response: { 200: bookSchema, ...errorResponses },
        },
      },
      async (request) => {
        const book = await view.book(request.params.seriesId, request.query.depth ?? limits.defaultBookDepth);
        if (book === undefined)
          throw new ApiError('SERIES_NOT_FOUND', `no series ${request.params.seriesId}`);
        return book;
      },
    );

    api.get<{ Querystring: { seriesId?: number; limit?: number } }>(
      '/v1/fills',
      {
        schema: {
          querystring: object(
            {
              seriesId: { type: 'integer', minimum: 0, maximum: 0xffff_ffff },
              limit: { type: 'integer', minimum: 1, maximum: limits.maxFillsPerPage },
            },
            ['seriesId', 'limit'],
          ),
          response: { 200: object({ fills: { type: 'array', items: fillSchema } }), ...errorResponses },
        },
      },
      async (request) => {
        const { seriesId } = request.query;
        const limit = request.query.limit ?? 50;
        const out: FillJson[] = [];
        for (let i = fills.length - 1; i >= 0 && out.length < limit; i--) {
          const fill = fills[i]!;
          if (seriesId === undefined || fill.seriesId === seriesId) out.push(fill);
        }
        return { fills: out };
      },
    );

    api.get(
      '/v1/oracle/prices',
      {
        schema: {
          response: { 200: object({ prices: { type: 'array', items: priceSchema } }), ...errorResponses },
        },
      },
      async () => ({ prices: (await view.prices()).map((price) => priceWithDecimals(price)) }),
    );

    api.get<{ Querystring: { asset?: string; height?: number; time?: number } }>(
      '/v1/oracle/certificates',
      {
        schema: {
          querystring: object(
            {
              asset: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,32}$' },
              height: heightParam(),
              time: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            },
            ['asset', 'height', 'time'],
          ),
          response: {
            200: object({
              keyset: { anyOf: [{ type: 'null' }, keysetSchema] },
              certificates: { type: 'array', items: priceCertificateEntrySchema },
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { asset, height, time } = request.query;
        if (height !== undefined && time !== undefined)
          throw new ApiError('INVALID_REQUEST', 'ask by height or by time, not both', 'querystring/time');
        if (asset !== undefined && !(await view.prices()).some((price) => price.symbol === asset))
          throw new ApiError('ASSET_NOT_FOUND', `no oracle asset ${asset}`, 'querystring/asset');
        let certificates: PriceCertificateEntry[];
        if (height === undefined && time === undefined) certificates = await view.priceCertificates();
        else if (view.priceCertificatesAt === undefined)
          throw new ApiError('NO_HISTORY', 'this node keeps only the latest certificates');
        else
          certificates = await view.priceCertificatesAt(height !== undefined ? { height } : { time: time! });
        return {
          keyset: (await view.keyset()) ?? null,
          certificates: asset === undefined ? certificates : certificates.filter((c) => c.symbol === asset),
        };
      },
    );

    api.get(
      '/v1/evidence',
      {
        schema: {
          response: {
            200: object({ evidence: { type: 'array', items: evidenceEntrySchema } }),
            ...errorResponses,
          },
        },
      },
      async () => ({ evidence: await view.evidence() }),
    );

    api.get<{ Querystring: { topics?: string } }>(
      '/v1/stream',
      {
        websocket: true,
        schema: {
          description:
            'WebSocket upgrade: blocks, fills and prices as they finalize (docs/api.md, stream.ts)',
          querystring: object({ topics: { type: 'string', pattern: '^[a-z,]{0,40}$' } }, ['topics']),
        },
        preValidation: async (_request, reply) => {
          if (!hub.hasRoom()) {
            return reply.code(503).send(errorBody('TOO_MANY_SUBSCRIBERS', 'the stream is full; retry later'));
          }
        },
      },
      (socket, request) => {
        const topics = parseTopics(request.query.topics ?? '');
        if (topics === undefined) {
          socket.close(1008, 'unknown topic');
          return;
        }
        hub.accept(socket, topics as NodeEventTopic[]);
      },
    );

    api.get(
      '/v1/openapi.json',
      { schema: { response: { 200: { type: 'object', additionalProperties: true } } } },
      async () => app.swagger(),
    );

    registerFindings(api, view, metrics.registry);
    registerAuditLog(api, view);
    registerKeys(api, view);
    registerEon(api, view);
    registerPrivacy(api, view);
    registerBridge(api, view);
    registerValidators(api, view);
    registerNetwork(api, options.network);

    // Prometheus text exposition, not JSON: there is no JSON Schema to give it.
    api.get('/metrics', async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  });

  return app;
}

/**
 * Builds the API and listens on `host:port` (127.0.0.1 and a free port by default).
 * @example const api = await startApiServer({ view, port: 8080 }); console.log(api.url); await api.close();
 */
export async function startApiServer(options: StartApiServerOptions): Promise<RunningApiServer> {
  const app = createApiServer(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shownHost}:${port}`, close: () => app.close() };
}
