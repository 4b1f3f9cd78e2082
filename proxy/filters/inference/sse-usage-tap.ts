// Watches an OpenAI-style SSE response as it streams through: finds the usage chunk (the last
// `data:` event whose JSON has `usage` and no choices) to settle a token budget, and, when the
// sidecar asked for `stream_options.include_usage` on the client's behalf, removes that event so
// the client sees the stream it asked for. Events pass on as soon as they are complete, never a
// part of one, so a stream that fails midway can still end with a whole error event after them.
// It also counts the events that carry generated output (one token each, as vLLM streams), so a
// stream's spending is known before its usage chunk, for budgets that end streams, and its pace
// for the picker. An event with choices but no output (OpenAI's first chunk with only the role,
// its last with only `finish_reason`) is not a token: counted, the last one shortens a six-token
// answer's measured time between tokens by a sixth.

export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Past this, an event is passed on unread (and a usage chunk in it not stripped). */
const MAX_EVENT_BYTES = 1 << 20;

function usageOf(value: unknown): TokenUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const usage = (value as { usage?: unknown }).usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { prompt_tokens: prompt, completion_tokens: completion, input_tokens: input, output_tokens: output } = usage as Record<string, unknown>;
  const promptTokens = prompt ?? input;
  const completionTokens = completion ?? output ?? 0;
  if (!Number.isInteger(promptTokens) || !Number.isInteger(completionTokens)) return undefined;
  return { promptTokens: promptTokens as number, completionTokens: completionTokens as number };
}

const nonEmpty = (value: unknown): boolean => (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0);

/**
 * Whether a streamed event carries generated output: a choice with text (completions) or a delta
 * with content, a refusal, reasoning or tool calls (chat), or a Responses API `*.delta` event.
 */
function carriesOutput(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { choices, type, delta } = value as { choices?: unknown; type?: unknown; delta?: unknown };
  if (typeof type === 'string' && type.startsWith('response.') && type.endsWith('.delta')) return nonEmpty(delta);
  if (!Array.isArray(choices)) return false;
  return choices.some((choice: unknown) => {
    if (typeof choice !== 'object' || choice === null) return false;
    const { text, delta: choiceDelta } = choice as { text?: unknown; delta?: unknown };
    if (nonEmpty(text)) return true;
    if (typeof choiceDelta !== 'object' || choiceDelta === null) return false;
    const { content, refusal, reasoning_content: reasoningContent, reasoning, tool_calls: toolCalls } = choiceDelta as Record<string, unknown>;
    return nonEmpty(content) || nonEmpty(refusal) || nonEmpty(reasoningContent) || nonEmpty(reasoning) || nonEmpty(toolCalls);
  });
}

/** The usage of a whole JSON response body (a non-streamed completion), if it has one. */
export function usageOfJsonBody(body: Buffer): TokenUsage | undefined {
  try {
    return usageOf(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}

/** The end of the first complete event in `buffer` (after its blank line), or -1. */
function eventEnd(buffer: Buffer): number {
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (lf === -1) return crlf === -1 ? -1 : crlf + 4;
  return crlf === -1 || lf < crlf ? lf + 2 : crlf + 4;
}

export class SseUsageTap {
  // Bytes, not text: a chunk may end inside a multi-byte character, and '\n' never occurs inside one.
  private pending: Buffer = Buffer.alloc(0);
  private oversized = false;
  usage: TokenUsage | undefined;
  /** Events passed on that carry generated output: the stream's completion tokens so far, about. */
  outputEvents = 0;

  constructor(private readonly stripUsageEvent: boolean) {}

  /** Bytes of the response to pass on now. */
  push(chunk: Buffer): Buffer {
    if (this.oversized) return chunk;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    for (let end = eventEnd(this.pending); end !== -1; end = eventEnd(this.pending)) {
      const event = this.pending.subarray(0, end);
      this.pending = this.pending.subarray(end);
      if (!this.readEvent(event.toString('utf8')) || !this.stripUsageEvent) out.push(event);
    }
    if (this.pending.length > MAX_EVENT_BYTES) {
      this.oversized = true;
      out.push(this.pending);
      this.pending = Buffer.alloc(0);
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** What is left to pass on at the end of the response (an unterminated last event). */
  end(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** Reads one event (its usage, whether it carries output); true when it is the usage-only chunk. */
  private readEvent(event: string): boolean {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
    if (data === '' || data === '[DONE]') return false;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return false;
    }
    if (carriesOutput(value)) this.outputEvents += 1;
    // A Responses API stream reports usage in its `response.completed` event's response; that
    // event is the stream's end, never stripped.
    const completed = (value as { type?: unknown } | null)?.type === 'response.completed';
    const usage = usageOf(completed ? (value as { response?: unknown }).response : value);
    if (usage === undefined) return false;
    this.usage = usage;
    const choices = (value as { choices?: unknown } | null)?.choices;
    return Array.isArray(choices) && choices.length === 0;
  }
}
