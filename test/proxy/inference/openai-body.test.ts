// The one reading of an OpenAI-compatible body: each operation's prompt, model, output cap and
// streaming options, and a clear error for each bad input.
import { describe, expect, it } from 'vitest';
import { estimatedPromptTokens, OPENAI_ROUTES, OpenAiBodyError, readOpenAiBody } from '../../../proxy/filters/inference/openai-body.js';

describe('OpenAI request body', () => {
  it('maps the four OpenAI routes to operations', () => {
    expect([...OPENAI_ROUTES]).toEqual([
      ['/v1/chat/completions', 'chat'],
      ['/v1/completions', 'completions'],
      ['/v1/embeddings', 'embeddings'],
      ['/v1/responses', 'responses'],
    ]);
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

  it('refuses each bad input with a message naming the field', () => {
    const cases: [Parameters<typeof readOpenAiBody>[0], unknown, RegExp][] = [
      ['chat', [], /JSON object/],
      ['chat', { messages: [{ role: 'user', content: 'x' }] }, /model: is required/],
      ['chat', { model: 7, messages: [] }, /model: must be a string/],
      ['chat', { model: 'x'.repeat(300), messages: [{ content: 'x' }] }, /longer than 256/],
      ['chat', { model: 'm', messages: [] }, /messages: must be a non-empty array/],
      ['chat', { model: 'm', messages: ['hi'] }, /messages\[0\]: must be an object/],
      ['chat', { model: 'm', messages: [{ role: 'user', content: 5 }] }, /messages\[0\]\.content/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], max_tokens: 0 }, /max_tokens: must be a positive integer/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], stream: 'yes' }, /stream: must be a boolean/],
      ['chat', { model: 'm', messages: [{ content: 'x' }], stream_options: { include_usage: 1 } }, /include_usage/],
      ['completions', { model: 'm', prompt: [1, 'a'] }, /prompt: must be a string/],
      ['embeddings', { model: 'm' }, /input: must be/],
    ];
    for (const [operation, body, message] of cases) {
      expect(() => readOpenAiBody(operation, body), JSON.stringify(body).slice(0, 60)).toThrow(OpenAiBodyError);
      expect(() => readOpenAiBody(operation, body)).toThrow(message);
    }
  });
});
