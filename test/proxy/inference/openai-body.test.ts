// The one reading of an OpenAI-compatible body: each operation's prompt, model, output cap (from
// the fields its engine reads) and sequences, streaming options, and a clear error for each bad input.
import { describe, expect, it } from 'vitest';
import { estimatedPromptTokens, OPENAI_ROUTES, OpenAiBodyError, openAiOperationOf, readOpenAiBody, routePath, tokenEstimate } from '../../../proxy/filters/inference/openai-body.js';

describe('OpenAI request body', () => {
  it('maps the four OpenAI routes to operations, read as the engine routes them (escapes decoded, the query aside), POST only', () => {
    expect([...OPENAI_ROUTES]).toEqual([
      ['/v1/chat/completions', 'chat'],
      ['/v1/completions', 'completions'],
      ['/v1/embeddings', 'embeddings'],
      ['/v1/responses', 'responses'],
    ]);
    expect(openAiOperationOf('POST', '/v1/chat%2Fcompletions?stream=1')).toBe('chat');
    expect(openAiOperationOf('POST', '/v1%2fembeddings')).toBe('embeddings');
    expect(openAiOperationOf('GET', '/v1/chat/completions')).toBeUndefined();
    expect(openAiOperationOf('POST', '/v1/chat/completions/')).toBeUndefined();
    expect(routePath('/v1/models%3F?a=b')).toBe('/v1/models?');
    expect(routePath('/v1/%zz')).toBe('/v1/%zz');
  });

  it('reads a streaming chat request: messages with roles in order, text parts only, usage asked', () => {
    const request = readOpenAiBody('chat', {
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'look: ' }, { type: 'image_url', image_url: { url: 'data:' } }, { type: 'text', text: 'cat' }] },
      ],
      max_completion_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
      cache_salt: 's',
    });
    expect(request).toEqual({
      operation: 'chat',
      model: 'm',
      promptText: '<|system|>\nbe brief\n<|user|>\nlook: cat\n',
      promptTokenIds: 0,
      maxTokens: 64,
      sequences: 1,
      stream: true,
      includeUsage: true,
      ignoreEos: false,
      cacheSalt: 's',
    });
  });

  it('reads completions and embeddings given as text, texts or token ids, and responses input', () => {
    expect(readOpenAiBody('completions', { model: 'm', prompt: 'abcd', max_tokens: 5, ignore_eos: true })).toMatchObject({ promptText: 'abcd', maxTokens: 5, ignoreEos: true });
    const ids = readOpenAiBody('completions', { model: 'm', prompt: [1, 2, 3] });
    expect(ids).toMatchObject({ promptText: '', promptTokenIds: 3, maxTokens: undefined, stream: false });
    expect(estimatedPromptTokens(readOpenAiBody('embeddings', { model: 'e', input: ['abcd', 'efgh'] }))).toBe(2);
    expect(estimatedPromptTokens(readOpenAiBody('embeddings', { model: 'e', input: [[1, 2], [3]] }))).toBe(3);
    expect(readOpenAiBody('responses', { model: 'm', instructions: 'terse', input: 'hi', max_output_tokens: 9 })).toMatchObject({ promptText: '<|system|>\nterse\nhi', maxTokens: 9 });
    expect(readOpenAiBody('responses', { model: 'm', input: [{ role: 'user', content: 'hi' }] }).promptText).toBe('<|user|>\nhi\n');
  });

  it('reads what a chat template would: no role is the user, null content and parts without text are empty', () => {
    const request = readOpenAiBody('chat', { model: 'm', messages: [{ content: null }, { role: 'tool', content: [null, 'x', { type: 'text', text: 7 }, { text: 'ok' }] }], max_tokens: 1, stream_options: {} });
    expect(request).toMatchObject({ promptText: '<|user|>\n\n<|tool|>\nok\n', maxTokens: 1, includeUsage: false });
    expect(readOpenAiBody('chat', { model: 'x'.repeat(256), messages: [{ content: 'x' }] }).model).toHaveLength(256);
    expect(readOpenAiBody('chat', { model: 'm', messages: [{ content: 'x' }], best_of: 3 }).sequences).toBe(3);
    expect(readOpenAiBody('embeddings', { model: 'e', input: ['a', 'b', 'c'] }).sequences).toBe(1);
    // An assistant turn that only called tools has no content.
    const toolCall = { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] };
    expect(readOpenAiBody('chat', { model: 'm', messages: [toolCall], stream: true })).toMatchObject({ promptText: '<|assistant|>\n\n', includeUsage: false });
  });

  it("reads the output cap and the sequences from the fields the engine reads for the operation, so a reservation covers what it may generate", () => {
    // Chat: max_completion_tokens over the deprecated max_tokens (vLLM's order); n and best_of.
    expect(readOpenAiBody('chat', { model: 'm', messages: [{ content: 'x' }], max_tokens: 500, max_completion_tokens: 5 }).maxTokens).toBe(5);
    expect(readOpenAiBody('chat', { model: 'm', messages: [{ content: 'x' }], max_tokens: 500, max_completion_tokens: null }).maxTokens).toBe(500);
    expect(readOpenAiBody('chat', { model: 'm', messages: [{ content: 'x' }], max_tokens: 500, max_output_tokens: 5 }).maxTokens).toBe(500);
    // Completions have only max_tokens: a max_completion_tokens beside it caps nothing there.
    expect(readOpenAiBody('completions', { model: 'm', prompt: 'x', max_tokens: 500, max_completion_tokens: 5 }).maxTokens).toBe(500);
    expect(readOpenAiBody('responses', { model: 'm', input: 'x', max_output_tokens: 7, max_tokens: 500 }).maxTokens).toBe(7);
    const several = readOpenAiBody('completions', { model: 'm', prompt: 'abcd', max_tokens: 10, n: 2, best_of: 3 });
    expect(several.sequences).toBe(3);
    expect(tokenEstimate(several, 4, 256)).toEqual({ promptTokens: 1, outputTokens: 30 });
    expect(tokenEstimate(readOpenAiBody('chat', { model: 'm', messages: [{ content: 'x' }], n: 4 }), 4, 100).outputTokens).toBe(400);
    expect(readOpenAiBody('responses', { model: 'm', input: 'x', n: 9 }).sequences).toBe(1);
    // A batch of prompts answers each: 3 prompts x n 2.
    expect(readOpenAiBody('completions', { model: 'm', prompt: ['a', 'b', 'c'], n: 2 }).sequences).toBe(6);
    expect(readOpenAiBody('completions', { model: 'm', prompt: [[1, 2], [3]] }).sequences).toBe(2);
    expect(tokenEstimate(readOpenAiBody('embeddings', { model: 'e', input: ['abcd', 'efgh'], n: 3 }), 4, 100)).toEqual({ promptTokens: 2, outputTokens: 0 });
  });

  it('refuses each bad input with a message naming the field', () => {
    const cases: [Parameters<typeof readOpenAiBody>[0], unknown, RegExp][] = [
      ['chat', [], /JSON object/],
      ['chat', { messages: [{ role: 'user', content: 'x' }] }, /model: is required/],
      ['chat', { model: '', messages: [{ role: 'user', content: 'x' }] }, /model: is required/],
      ['completions', { model: 'm', prompt: [] }, /prompt: must be a string/],
      ['completions', { model: 'm', prompt: [[1, 2], 'a'] }, /prompt: must be a string/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], stream_options: [] }, /stream_options: must be an object/],
      ['responses', { model: 'm', input: [] }, /input: must be a non-empty array/],
      ['chat', { model: 7, messages: [] }, /model: must be a string/],
      ['chat', { model: 'x'.repeat(300), messages: [{ content: 'x' }] }, /longer than 256/],
      ['chat', { model: 'm', messages: [] }, /messages: must be a non-empty array/],
      ['chat', { model: 'm', messages: ['hi'] }, /messages\[0\]: must be an object/],
      ['chat', { model: 'm', messages: [{ role: 'user', content: 5 }] }, /messages\[0\]\.content/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], max_tokens: 0 }, /max_tokens: must be a positive integer/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], stream: 'yes' }, /stream: must be a boolean/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], ignore_eos: 'yes' }, /ignore_eos: must be a boolean/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], cache_salt: 5 }, /cache_salt: must be a string/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], n: 0 }, /n: must be a positive integer/],
      ['completions', { model: 'm', prompt: 'x', best_of: 1.5 }, /best_of: must be a positive integer/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], max_completion_tokens: -1, max_tokens: 5 }, /max_completion_tokens: must be a positive integer/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], stream_options: { include_usage: 1 } }, /include_usage: must be a boolean/],
      ['completions', { model: 'm', prompt: [1, 'a'] }, /prompt: must be a string/],
      ['embeddings', { model: 'm' }, /input: must be/],
    ];
    for (const [operation, body, message] of cases) {
      expect(() => readOpenAiBody(operation, body), JSON.stringify(body).slice(0, 60)).toThrow(OpenAiBodyError);
      expect(() => readOpenAiBody(operation, body)).toThrow(message);
    }
  });
});
