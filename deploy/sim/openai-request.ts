// What the simulator reads from an OpenAI-compatible request body: the model, the prompt as one
// text (chat messages flattened as a chat template would), the output cap and the vLLM extras
// (ignore_eos, cache_salt). Every problem is a 400 with OpenAI's error shape.

export type Endpoint = 'chat' | 'completions';

export interface SimRequest {
  readonly model: string;
  readonly prompt: string;
  readonly maxTokens: number | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly ignoreEos: boolean;
  readonly cacheSalt: string;
}

export class BadRequest extends Error {}

function textOfContent(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown, i) => {
        const { type, text } = (part ?? {}) as { type?: unknown; text?: unknown };
        if (type !== 'text' || typeof text !== 'string') throw new BadRequest(`${where}[${i}]: only text parts are simulated`);
        return text;
      })
      .join('');
  }
  throw new BadRequest(`${where}: must be a string or an array of text parts`);
}

function promptOf(endpoint: Endpoint, body: Record<string, unknown>): string {
  if (endpoint === 'completions') {
    const { prompt } = body;
    if (typeof prompt === 'string') return prompt;
    if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
    throw new BadRequest('prompt: must be a string (one prompt per request)');
  }
  const { messages } = body;
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest('messages: must be a non-empty array');
  return messages
    .map((message: unknown, i) => {
      const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
      if (typeof role !== 'string') throw new BadRequest(`messages[${i}].role: must be a string`);
      return `<|${role}|>\n${textOfContent(content, `messages[${i}].content`)}\n`;
    })
    .join('');
}

function optional<T>(body: Record<string, unknown>, field: string, check: (value: unknown) => value is T, what: string): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!check(value)) throw new BadRequest(`${field}: must be ${what}`);
  return value;
}

const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseSimRequest(endpoint: Endpoint, text: string): SimRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
  if (!isObject(body)) throw new BadRequest('the body must be a JSON object');
  const model = optional(body, 'model', isString, 'a string');
  if (model === undefined) throw new BadRequest('model: is required');
  const maxTokens = optional(body, 'max_completion_tokens', isPositiveInt, 'a positive integer') ?? optional(body, 'max_tokens', isPositiveInt, 'a positive integer');
  const streamOptions = optional(body, 'stream_options', isObject, 'an object');
  return {
    model,
    prompt: promptOf(endpoint, body),
    maxTokens,
    stream: optional(body, 'stream', isBoolean, 'a boolean') ?? false,
    includeUsage: streamOptions === undefined ? false : (optional(streamOptions, 'include_usage', isBoolean, 'a boolean') ?? false),
    ignoreEos: optional(body, 'ignore_eos', isBoolean, 'a boolean') ?? false,
    cacheSalt: optional(body, 'cache_salt', isString, 'a string') ?? '',
  };
}
