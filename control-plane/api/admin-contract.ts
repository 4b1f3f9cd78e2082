// The admin API's wire contract (HTTP/JSON on loopback): its paths, the credential it asks for,
// and the bodies it takes and answers. The server (control-plane/admin/), `weft apply|get|delete|status`
// and any dashboard share these types.
/** One reason a change is refused (control-plane/errors.ts `Problem` on the wire). */
export interface AdminProblem {
  code: string;
  file: string;
  path?: string;
  line?: number;
  col?: number;
  message: string;
  regoCode?: string;
  sourceLine?: string;
}

/** Endpoints; `open` ones need no credential, `read` ones a read or write token, `write` ones a write token. */
export const ADMIN_ROUTES = {
  'GET /healthz': 'open',
  'GET /metrics': 'read',
  'GET /v1/status': 'read',
  'GET /v1/resources': 'read',
  'POST /v1/apply': 'write',
  'POST /v1/delete': 'write',
} as const;

export type AdminRoute = keyof typeof ADMIN_ROUTES;
export type AdminScope = 'read' | 'write';

/**
 * The bearer tokens the control plane creates in its state directory (mode 0600) on first start:
 * `Authorization: Bearer <the file's contents, trimmed>`. A write token also reads.
 */
/** Where the control plane keeps its state (CA, tokens, admin token files) unless told otherwise. */
export const DEFAULT_STATE_DIR = '.weft/control-plane';

export const ADMIN_TOKEN_FILES: Readonly<Record<AdminScope, string>> = { read: 'admin-read.token', write: 'admin-write.token' };

/** `POST /v1/apply`: YAML (and Rego) files by path; the change is validated whole. */
export interface ApplyRequest {
  files: Record<string, string>;
  dryRun?: boolean;
}

/** `POST /v1/delete`: keys `Kind/namespace/name`. */
export interface DeleteRequest {
  keys: string[];
  dryRun?: boolean;
}

/** The answer to apply and delete. */
export interface ChangeAnswer {
  dryRun: boolean;
  revision: { number: number; hash: string };
  changes: { key: string; action: string }[];
}

/** `GET /v1/resources?kind=&name=&namespace=` */
export interface ResourcesAnswer {
  resources: {
    key: string;
    source: { file: string; line: number };
    document: { metadata: { name: string; namespace: string }; spec?: Record<string, unknown> } & Record<string, unknown>;
  }[];
}

/** `GET /v1/status` */
export interface StatusAnswer {
  revision: { number: number; hash: string; createdAt: string };
  convergence: { revision: number; converged: boolean; last?: { revision: number; ms: number } };
  lastRefusal: { at: number; problems: readonly AdminProblem[] } | null;
  sidecars: {
    identity: string;
    workload: string;
    inbound: string | null;
    connectedAt: string;
    lastSeenMsAgo: number;
    sentVersion: string | null;
    ackedVersion: string | null;
    ackedRevision: number | null;
    lastNack: { version: string; code: string; message: string; at: string } | null;
  }[];
}

/** Every error answer; `problems` on a refused change (422 CHANGE_REFUSED). */
export interface AdminErrorBody {
  error: { code: string; message: string; problems?: readonly AdminProblem[] };
}
