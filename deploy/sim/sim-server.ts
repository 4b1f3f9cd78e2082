// One simulated vLLM server over HTTP: the OpenAI-compatible routes on a SimEngine, /metrics,
// /v1/models, /health, and PUT /sim/faults to change failure injection while running. A client
// that goes away cancels its sequence (slot and KV space freed at once), as vLLM aborts it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimatedPromptTokens, OPENAI_ROUTES, OpenAiBodyError, readOpenAiBody, routePath, type OpenAiRequest } from '../../proxy/filters/inference/openai-body.js';
import { promptBlockHashes } from './prefix-cache.js';
import { seededRandom } from './seeded-random.js';
import { realClock, type SimClock } from './sim-clock.js';
import { SimEngine, type Sequence } from './sim-engine.js';
import { SimMetrics } from './sim-metrics.js';
import { validateFaults, type FaultParams, type ServerParams } from './sim-profile.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const WORDS = ['the', 'model', 'answers', 'with', 'simulated', 'tokens', 'at', 'a', 'measured', 'pace'];
/** The operations the simulator serves (embeddings and responses are not simulated). */
type Endpoint = 'chat' | 'completions';
const isServed = (operation: string | undefined): operation is Endpoint => operation === 'chat' || operation === 'completions';

class BadRequest extends Error {}

function stringHash(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { error: { message, type, param: null, code: status } });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest(`the body exceeds ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
}

export class SimServer {
  readonly engine: SimEngine;
  readonly metrics: SimMetrics;
  private faults: FaultParams;
  private readonly random: () => number;
  private readonly server: Server;
  private nextId = 0;

  constructor(readonly params: ServerParams, private readonly clock: SimClock = realClock) {
    this.engine = new SimEngine(params, clock);
    this.metrics = new SimMetrics(params, this.engine);
    this.faults = params.faults;
    this.random = seededRandom(params.seed);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (error instanceof BadRequest || error instanceof OpenAiBodyError) sendError(res, 400, 'BadRequestError', error.message);
        else if (!res.headersSent) sendError(res, 500, 'InternalServerError', (error as Error).message);
        else res.destroy();
      });
    });
  }

  async listen(host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.params.port, host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private modelsServed(): string[] {
    return [this.params.model, ...this.params.loras];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Routed as vLLM behind uvicorn routes: on the decoded path.
    const path = routePath(req.url ?? '/');
    if (req.method === 'GET' && path === '/metrics') {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(text);
    } else if (req.method === 'GET' && path === '/health') {
      res.writeHead(200).end();
    } else if (req.method === 'GET' && path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      sendJson(res, 200, {
        object: 'list',
        data: this.modelsServed().map((id) => ({
          id,
          object: 'model',
          created,
          owned_by: 'vllm',
          root: id,
          parent: id === this.params.model ? null : this.params.model,
          max_model_len: this.params.kvCacheTokens,
        })),
      });
    } else if (req.method === 'PUT' && path === '/sim/faults') {
      const update = await readJson(req);
      if (!validateFaults(update)) throw new BadRequest(`faults: ${validateFaults.errors?.map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ')}`);
      this.faults = { ...this.faults, ...(update as Partial<FaultParams>) };
      sendJson(res, 200, this.faults);
    } else if (req.method === 'POST' && isServed(OPENAI_ROUTES.get(path))) {
      const operation = OPENAI_ROUTES.get(path) as Endpoint;
      this.complete(operation, readOpenAiBody(operation, await readJson(req)), res);
    } else {
      sendError(res, 404, 'NotFoundError', `no route ${req.method} ${path}`);
    }
  }

  private complete(endpoint: Endpoint, request: OpenAiRequest, res: ServerResponse): void {
    const { params } = this;
    if (!this.modelsServed().includes(request.model)) {
      sendError(res, 404, 'NotFoundError', `The model \`${request.model}\` does not exist.`);
      return;
    }
    if (this.random() < this.faults.errorRate) {
      sendError(res, this.faults.errorStatus, 'InjectedFault', `injected fault ${this.faults.errorStatus}`);
      return;
    }
    const promptTokens = Math.max(1, estimatedPromptTokens(request, params.charsPerToken));
    const maxTokens = request.maxTokens ?? params.defaultMaxTokens;
    // Without ignore_eos the EOS token falls at a length fixed by the prompt, at most max_tokens.
    const outputTokens = request.ignoreEos ? maxTokens : 1 + (stringHash(request.promptText) % maxTokens);
    if (!this.engine.fits({ promptTokens, outputTokens: maxTokens })) {
      sendError(res, 400, 'BadRequestError', `This model's maximum context length is ${params.kvCacheTokens} tokens; ${promptTokens} prompt tokens and max_tokens ${maxTokens} exceed it.`);
      return;
    }
    const lora = request.model === params.model ? undefined : request.model;
    const blockHashes = promptBlockHashes(request.promptText, params.blockSize * params.charsPerToken, request.cacheSalt ?? '', request.model);
    const writer = new CompletionWriter(endpoint, request, res, `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${params.name}-${(this.nextId += 1)}`);
    const abortAfterFirst = request.stream && this.random() < this.faults.abortRate;
    let lastTokenAt = 0;
    // Token callbacks run on later timers, after `sequence` is assigned.
    const sequence: Sequence = this.engine.submit(
      { promptTokens, blockHashes, outputTokens, lora },
      {
        token: (index) => {
          const now = this.clock.now();
          if (index === 0) this.metrics.firstToken((now - sequence.enqueuedAt) / 1000);
          else this.metrics.interTokenGap((now - lastTokenAt) / 1000);
          lastTokenAt = now;
          writer.token(index);
          if (abortAfterFirst) {
            this.engine.cancel(sequence);
            writer.cut();
          }
        },
        finished: () => writer.finish(outputTokens === maxTokens ? 'length' : 'stop', { prompt_tokens: promptTokens, completion_tokens: outputTokens, cached_tokens: sequence.cachedTokens }),
      },
    );
    res.on('close', () => {
      if (!res.writableFinished) this.engine.cancel(sequence);
    });
  }
}

interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly cached_tokens: number;
}

/** Writes one completion in OpenAI's shapes: SSE chunks as tokens come, or one JSON at the end. */
class CompletionWriter {
  private readonly created = Math.floor(Date.now() / 1000);
  private text = '';

  constructor(
    private readonly endpoint: Endpoint,
    private readonly request: OpenAiRequest,
    private readonly res: ServerResponse,
    private readonly id: string,
  ) {
    // As vLLM behind uvicorn: a streamed answer's head goes out at once, before the request
    // waits for a slot (Starlette sends http.response.start before the first chunk).
    if (request.stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).flushHeaders();
  }

  token(index: number): void {
    const piece = `${index === 0 ? '' : ' '}${WORDS[index % WORDS.length]}`;
    if (!this.request.stream) {
      this.text += piece;
      return;
    }
    const choice = this.endpoint === 'chat'
      ? { index: 0, delta: index === 0 ? { role: 'assistant', content: piece } : { content: piece }, logprobs: null, finish_reason: null }
      : { index: 0, text: piece, logprobs: null, finish_reason: null };
    this.event({ ...this.envelope(), choices: [choice] });
  }

  /** Drops the connection once what was written is out: a stream that dies mid-answer. */
  cut(): void {
    this.res.write('', () => this.res.destroy());
  }

  finish(reason: 'stop' | 'length', counts: Usage): void {
    const usage = {
      prompt_tokens: counts.prompt_tokens,
      completion_tokens: counts.completion_tokens,
      total_tokens: counts.prompt_tokens + counts.completion_tokens,
      prompt_tokens_details: { cached_tokens: counts.cached_tokens },
    };
    if (!this.request.stream) {
      const choice = this.endpoint === 'chat'
        ? { index: 0, message: { role: 'assistant', content: this.text }, logprobs: null, finish_reason: reason }
        : { index: 0, text: this.text, logprobs: null, finish_reason: reason };
      sendJson(this.res, 200, { ...this.envelope(), choices: [choice], usage });
      return;
    }
    const last = this.endpoint === 'chat'
      ? { index: 0, delta: {}, logprobs: null, finish_reason: reason }
      : { index: 0, text: '', logprobs: null, finish_reason: reason };
    this.event({ ...this.envelope(), choices: [last] });
    if (this.request.includeUsage) this.event({ ...this.envelope(), choices: [], usage });
    this.res.end('data: [DONE]\n\n');
  }

  private envelope(): Record<string, unknown> {
    const object = this.endpoint === 'chat' ? (this.request.stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    return { id: this.id, object, created: this.created, model: this.request.model };
  }

  private event(data: unknown): void {
    this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }
}
