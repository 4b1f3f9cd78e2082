// admission.k8s.io/v1 AdmissionReview in and out, as the API server sends and expects it
// (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/).
// A review that is not one is refused with a reason (the caller answers 400, and the webhook's
// failurePolicy decides); a pod that asks for what cannot be honoured is denied by uid.
import type { Operation } from 'fast-json-patch';
import { InjectionRefused, type InjectionSettings } from './injection-settings.js';
import { podInjection, type OptIn, type PodLike } from './pod-injection.js';

const API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** The RFC 6902 patch, JSON then base64, as the API requires. */
  readonly patch?: string;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewReply {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

export class MalformedReview extends Error {}

interface ReviewRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  object?: unknown;
}

function reviewRequest(body: unknown): ReviewRequest {
  const review = body as { apiVersion?: unknown; kind?: unknown; request?: Partial<ReviewRequest> } | null;
  if (typeof review !== 'object' || review === null) throw new MalformedReview('the body is not a JSON object');
  if (review.apiVersion !== API_VERSION || review.kind !== 'AdmissionReview') {
    throw new MalformedReview(`expected apiVersion ${API_VERSION}, kind AdmissionReview; got ${JSON.stringify(review.apiVersion)}, ${JSON.stringify(review.kind)}`);
  }
  const request = review.request;
  if (typeof request !== 'object' || request === null || typeof request.uid !== 'string' || request.uid === '') throw new MalformedReview('the review has no request.uid');
  return request as ReviewRequest;
}

function reply(response: AdmissionResponse): AdmissionReviewReply {
  return { apiVersion: API_VERSION, kind: 'AdmissionReview', response };
}

/** The patch the API server applies, as it carries it (base64 of the JSON). */
export function encodePatch(patch: readonly Operation[]): string {
  return Buffer.from(JSON.stringify(patch)).toString('base64');
}

/** Answers one review. Throws MalformedReview when the body is not an AdmissionReview v1. */
export function reviewPod(body: unknown, optIn: OptIn, settings: InjectionSettings): AdmissionReviewReply {
  const request = reviewRequest(body);
  const { uid } = request;
  const isPod = request.kind?.group === '' && request.kind.version === 'v1' && request.kind.kind === 'Pod';
  // The webhook configuration sends only pod creations; anything else passes untouched.
  if (!isPod || request.operation !== 'CREATE') return reply({ uid, allowed: true, warnings: ['weft injector: only pod creations are injected'] });
  if (typeof request.object !== 'object' || request.object === null) throw new MalformedReview('the review has no request.object');
  try {
    const outcome = podInjection(request.object as PodLike, optIn, settings);
    if (!outcome.inject) return reply({ uid, allowed: true });
    return reply({ uid, allowed: true, patchType: 'JSONPatch', patch: encodePatch(outcome.patch) });
  } catch (error) {
    if (!(error instanceof InjectionRefused)) throw error;
    return reply({ uid, allowed: false, status: { code: 400, message: `weft injector: ${error.message}` } });
  }
}
