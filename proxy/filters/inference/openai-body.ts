// The one reading of an OpenAI-compatible request body: which operation a path is, the model,
// the prompt as text (what prefix affinity hashes and token estimates count), the output cap and
// the sequences generated (read from the fields the engine itself reads for that operation, so
// what a budget reserves is what the engine may generate), streaming and the vLLM extras. The
// inference filter routes on it; the simulator serves by it.
// Every problem is an OpenAiBodyError with a message for a 400.

export type OpenAiOperation = 'chat' | 'completions' | 'embeddings' | 'responses';

export const OPENAI_ROUTES: ReadonlyMap<string, OpenAiOperation> = new Map([
  ['/v1/chat/completions', 'chat'],
  ['/v1/completions', 'completions'],
  ['/v1/embeddings', 'embeddings'],
  ['/v1/responses', 'responses'],
]);

const MAX_MODEL_CHARS = 256;

/** Prompt characters per token, and the output tokens of a request that sets no cap, unless a filter's config says otherwise. */
export const DEFAULT_CHARS_PER_TOKEN = 4;
export const DEFAULT_MAX_TOKENS = 256;

export interface OpenAiRequest {
  readonly operation: OpenAiOperation;
  readonly model: string;
  /** The prompt's text in order: chat messages with their roles, as a chat template lays them out. */
  readonly promptText: string;
  /** Prompt tokens given as token ids rather than text. */
  readonly promptTokenIds: number;
  readonly maxTokens: number | undefined;
  /** Sequences the engine generates, each up to maxTokens: per prompt of a batch, `n` (or `best_of` when larger); 1 when the operation has none. */
  readonly sequences: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly ignoreEos: boolean;
  readonly cacheSalt: string | undefined;
}

export class OpenAiBodyError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((t) => Number.isInteger(t));

function optional<T>(body: Record<string, unknown>, field: string, check: (value: unknown) => value is T, what: string): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!check(value)) throw new OpenAiBodyError(`${field}: must be ${what}`);
  return value;
}

const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** Text of a message's content: a string, or the text of its text parts (other parts carry none). */
function contentText(content: unknown, where: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new OpenAiBodyError(`${where}: must be a string or an array of content parts`);
  return content.map((part: unknown) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function messagesText(messages: unknown, field: string): string {
  if (!Array.isArray(messages) || messages.length === 0) throw new OpenAiBodyError(`${field}: must be a non-empty array`);
  return messages
    .map((message: unknown, i) => {
      if (!isObject(message)) throw new OpenAiBodyError(`${field}[${i}]: must be an object`);
      const role = typeof message.role === 'string' ? message.role : 'user';
      return `<|${role}|>\n${contentText(message.content, `${field}[${i}].content`)}\n`;
    })
    .join('');
}

/** A request's prompt: its text, its tokens given as ids, and how many prompts it holds (a batch answers each). */
interface Prompt {
  readonly text: string;
  readonly ids: number;
  readonly count: number;
}

/** A completions `prompt` or embeddings `input`: a text, texts, ids or lists of ids. */
function textsOrIds(value: unknown, field: string): Prompt {
  if (typeof value === 'string') return { text: value, ids: 0, count: 1 };
  if (isTokenIds(value) && value.length > 0) return { text: '', ids: value.length, count: 1 };
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return { text: value.join(''), ids: 0, count: value.length };
  if (Array.isArray(value) && value.length > 0 && value.every(isTokenIds)) return { text: '', ids: value.reduce((n, ids) => n + ids.length, 0), count: value.length };
  throw new OpenAiBodyError(`${field}: must be a string, an array of strings, or token ids`);
}

function promptOf(operation: OpenAiOperation, body: Record<string, unknown>): Prompt {
  switch (operation) {
    case 'chat':
      return { text: messagesText(body.messages, 'messages'), ids: 0, count: 1 };
    case 'completions':
      return textsOrIds(body.prompt, 'prompt');
    case 'embeddings':
      return textsOrIds(body.input, 'input');
    case 'responses': {
      const instructions = typeof body.instructions === 'string' ? `<|system|>\n${body.instructions}\n` : '';
      if (typeof body.input === 'string') return { text: `${instructions}${body.input}`, ids: 0, count: 1 };
      return { text: `${instructions}${messagesText(body.input, 'input')}`, ids: 0, count: 1 };
    }
  }
}

/**
 * The fields that cap an operation's output, first one set wins, as vLLM reads them (chat:
 * `max_completion_tokens` over the deprecated `max_tokens`; completions: `max_tokens` only;
 * responses: `max_output_tokens`). A field the engine ignores for the operation is ignored here:
 * counted, it would let a request reserve less than it may generate.
 */
const OUTPUT_CAP_FIELDS: Readonly<Record<OpenAiOperation, readonly string[]>> = {
  chat: ['max_completion_tokens', 'max_tokens'],
  completions: ['max_tokens'],
  embeddings: [],
  responses: ['max_output_tokens'],
};

/** The fields that ask for several sequences (chat and completions: `n` returned, `best_of` generated). */
const SEQUENCE_FIELDS: Readonly<Record<OpenAiOperation, readonly string[]>> = {
  chat: ['n', 'best_of'],
  completions: ['n', 'best_of'],
  embeddings: [],
  responses: [],
};

/** Reads a parsed JSON body of `operation`; throws OpenAiBodyError naming the first problem. */
export function readOpenAiBody(operation: OpenAiOperation, body: unknown): OpenAiRequest {
  if (!isObject(body)) throw new OpenAiBodyError('the body must be a JSON object');
  const model = optional(body, 'model', isString, 'a string');
  if (model === undefined || model === '') throw new OpenAiBodyError('model: is required');
  if (model.length > MAX_MODEL_CHARS) throw new OpenAiBodyError(`model: longer than ${MAX_MODEL_CHARS} characters`);
  const prompt = promptOf(operation, body);
  let maxTokens: number | undefined;
  for (const field of OUTPUT_CAP_FIELDS[operation]) maxTokens ??= optional(body, field, isPositiveInt, 'a positive integer');
  let perPrompt = 1;
  for (const field of SEQUENCE_FIELDS[operation]) perPrompt = Math.max(perPrompt, optional(body, field, isPositiveInt, 'a positive integer') ?? 1);
  const streamOptions = optional(body, 'stream_options', isObject, 'an object');
  return {
    operation,
    model,
    promptText: prompt.text,
    promptTokenIds: prompt.ids,
    maxTokens,
    // Embeddings generate nothing, whatever their batch.
    sequences: operation === 'embeddings' ? 1 : perPrompt * prompt.count,
    stream: optional(body, 'stream', isBoolean, 'a boolean') ?? false,
    includeUsage: streamOptions === undefined ? false : (optional(streamOptions, 'include_usage', isBoolean, 'a boolean') ?? false),
    ignoreEos: optional(body, 'ignore_eos', isBoolean, 'a boolean') ?? false,
    cacheSalt: optional(body, 'cache_salt', isString, 'a string'),
  };
}

/** Prompt tokens as a router can estimate them without the model's tokenizer. */
export function estimatedPromptTokens(request: OpenAiRequest, charsPerToken = 4): number {
  return Math.ceil(request.promptText.length / charsPerToken) + request.promptTokenIds;
}

/**
 * What a request is counted as, by its caller's sidecar and by its model server's alike (each
 * caller subtracts its own from the server's count): the prompt estimate and the output cap of
 * every sequence it asks for.
 */
export function tokenEstimate(request: OpenAiRequest, charsPerToken: number, defaultMaxTokens: number): { promptTokens: number; outputTokens: number } {
  return { promptTokens: estimatedPromptTokens(request, charsPerToken), outputTokens: outputTokenCap(request.operation, request.maxTokens, defaultMaxTokens) * request.sequences };
}

/** The tokens an answer may generate: none for embeddings, else `max_tokens` or the default. */
export function outputTokenCap(operation: OpenAiOperation, maxTokens: number | undefined, defaultMaxTokens: number): number {
  return operation === 'embeddings' ? 0 : (maxTokens ?? defaultMaxTokens);
}

/**
 * The path a request target routes to at an OpenAI-compatible server: the query aside, every
 * escape decoded, `%2F` included, as uvicorn decodes the path vLLM's router matches (so
 * `/v1/chat%2Fcompletions` is a chat completion there, and here). A malformed escape is left as
 * is (the sidecar's path normalization refused it before any filter).
 */
export function routePath(target: string): string {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The operation a request target names (see routePath) when the method is POST. */
export function openAiOperationOf(method: string, target: string): OpenAiOperation | undefined {
  return method === 'POST' ? OPENAI_ROUTES.get(routePath(target)) : undefined;
}
