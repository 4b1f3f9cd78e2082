// The aggregated `GET /v1/models` of an inference host: the union of what the pool's endpoints
// serve (base models and LoRA adapters), in OpenAI's list shape. Each healthy endpoint is asked
// over its own connection pool (mesh TLS when it has it), within a deadline, and the models each
// endpoint's config says it serves are added (so one that does not answer still counts). Answers
// are untrusted: bounded in size, only entries with a string id kept, first seen wins, bounded in
// number.
import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

// Only undici's request API, on a cluster's own pool (the pool module alone lacks it; see upstream/cluster.ts).
const require = createRequire(import.meta.url);
const apiRequest = require('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export const MODELS_PATH = '/v1/models';

/** Past this many entries (all endpoints together) the rest are left out. */
const MAX_MODELS = 4096;
/** An endpoint's answer longer than this is not read. */
const MAX_ANSWER_BYTES = 1 << 20;

export interface ModelCard {
  readonly id: string;
  readonly object: 'model';
  readonly [field: string]: unknown;
}

export interface ModelsSource {
  readonly dispatcher: Dispatcher;
  /** What its config says it serves. */
  readonly models: readonly string[];
}

function cardsOf(answer: unknown): ModelCard[] {
  const data = (answer as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data.filter((entry): entry is ModelCard => typeof entry === 'object' && entry !== null && typeof (entry as { id?: unknown }).id === 'string').map((entry) => ({ ...entry, object: 'model' }));
}

async function askEndpoint(source: ModelsSource, authority: string, timeoutMs: number): Promise<ModelCard[]> {
  try {
    const response = await apiRequest.call(source.dispatcher, {
      path: MODELS_PATH,
      method: 'GET',
      headers: { host: authority, accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return [];
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        response.body.destroy();
        return [];
      }
      chunks.push(chunk as Buffer);
    }
    return cardsOf(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch {
    return [];
  }
}

/** OpenAI's model list: `first` (an endpoint's own answer, already read) and every source's, merged by id. */
export async function aggregateModels(first: unknown, sources: readonly ModelsSource[], authority: string, timeoutMs: number): Promise<{ object: 'list'; data: ModelCard[] }> {
  const answers = await Promise.all(sources.map((source) => askEndpoint(source, authority, timeoutMs)));
  const byId = new Map<string, ModelCard>();
  const add = (card: ModelCard): void => {
    if (!byId.has(card.id) && byId.size < MAX_MODELS) byId.set(card.id, card);
  };
  cardsOf(first).forEach(add);
  answers.forEach((cards) => cards.forEach(add));
  for (const source of sources) for (const id of source.models) add({ id, object: 'model', owned_by: 'weft' });
  return { object: 'list', data: [...byId.values()] };
}
