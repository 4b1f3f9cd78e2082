// The authorization filter: matches the request to the workload's most specific asset, then
// evaluates the policies targeting that asset, then those targeting the workload, in-process
// with the policy sets compiled when the snapshot was built. Every enforcing policy must allow;
// a dry-run policy's denial is logged and counted only. Anything that prevents a decision (an
// evaluation error, a result of the wrong shape or none, a policy past the decision budget)
// denies: authorization fails closed. For an asset with `requestBody`, the body is read first
// (up to its cap) and put in the input; that path is asynchronous, every other stays synchronous.
// A body a policy reads but the sidecar cannot read as the app will (body-input.ts) denies with
// AUTHZ_BODY_UNREADABLE; a gRPC request to such an asset is refused with it before any policy
// runs (its messages are framed protobuf, which policies do not see) unless the asset says
// `decideGrpcWithoutBody`.
import { compileCached, type EvaluationResult, type PolicySet, type RuleDecision } from '../../../policies/index.js';
import { matchesLabels, type Labels } from '../../../control-plane/api/resource-types.js';
import { DecisionLog, type DecisionOutcome, type DecisionRecord } from '../../telemetry/decision-log.js';
import type { BodyData, FilterBuildContext, FilterExchange, FilterOutcome, HeadersOutcome, HttpFilter, HttpFilterFactory, LocalReplyOutcome } from '../http-filter.js';
import { bufferBody, CONTINUE } from '../http-filter.js';
import { headerValue, removeHeader } from '../../http/headers.js';
import { AssetMatcher } from './asset-matcher.js';
import { authzConfigSchema, type AuthzAssetConfig, type AuthzConfig, type AuthzPolicyConfig } from './authz-config.js';
import { authzDecisionCounter, type DecisionCounts } from './authz-metrics.js';
import { buildInput, type InputContext } from './input-document.js';
import { BodyUnreadableError, bodyInput } from './body-input.js';
import { isGrpcContentType } from '../../grpc/grpc-wire.js';
import { DecisionShapeError, readDecision, type PolicyDecision } from './policy-decision.js';

interface CompiledPolicy {
  readonly name: string;
  readonly entrypoint: string;
  /** `[entrypoint]`, made once: the decision log's rules when the policy names none. */
  readonly entrypointRules: readonly string[];
  readonly dryRun: boolean;
  readonly policySet: PolicySet;
}

/** What a request matched to one asset (or to none) evaluates. */
interface Plan {
  readonly asset: AuthzAssetConfig | undefined;
  readonly policies: readonly CompiledPolicy[];
  /** The metric's children for each of `policies`, in order. */
  readonly counts: readonly DecisionCounts[];
  readonly defaultDenyCounts: DecisionCounts;
  /** Set when the request is denied unless an enforcing policy allows it: why, in the log and reply. */
  readonly defaultDenyReason: string | undefined;
}

export const DEFAULT_DENY_POLICY = 'default-deny';
const grpcBodyUnreadable = 'gRPC request bodies are not read by policies: the asset reads request bodies';
export const deniedByHeader = 'x-weft-denied-by';

function compilePolicy(policy: AuthzPolicyConfig): CompiledPolicy {
  try {
    const policySet = compileCached(
      policy.modules.map((m) => ({ file: m.name, source: m.rego })),
      { data: policy.data },
    );
    return { name: policy.name, entrypoint: policy.entrypoint, entrypointRules: [policy.entrypoint], dryRun: policy.mode === 'dry-run', policySet };
  } catch (error) {
    throw new Error(`authz policy ${policy.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

const noRules: readonly RuleDecision[] = Object.freeze([]);

/** The rules that decided a denial, from a second evaluation with explain; none if it fails. */
function explain(policy: CompiledPolicy, input: Record<string, unknown>, budgetMs: number): readonly RuleDecision[] {
  try {
    return policy.policySet.evaluate(policy.entrypoint, { input, timeoutMs: budgetMs, explain: true }).decisions ?? noRules;
  } catch {
    return noRules;
  }
}

function targetsAsset(policy: AuthzPolicyConfig, asset: AuthzAssetConfig): boolean {
  const { assets, assetSelector } = policy.targets;
  return assets?.includes(asset.name) === true || (assetSelector !== undefined && matchesLabels(assetSelector, asset.labels));
}

function targetsWorkload(policy: AuthzPolicyConfig, workload: string, labels: Labels): boolean {
  const { workloads, workloadSelector } = policy.targets;
  return workloads?.includes(workload) === true || (workloadSelector !== undefined && matchesLabels(workloadSelector, labels));
}

class AuthzFilter implements HttpFilter {
  private readonly matcher: AssetMatcher<AuthzAssetConfig>;
  private readonly plans = new Map<AuthzAssetConfig, Plan>();
  private readonly unmatched: Plan;
  private readonly inputContext: InputContext;
  private readonly log: DecisionLog;
  private readonly responseHeadersToAdd = new WeakMap<FilterExchange, readonly string[]>();

  constructor(
    private readonly config: AuthzConfig,
    context: FilterBuildContext,
  ) {
    const compiled = new Map(config.policies.map((p) => [p, compilePolicy(p)]));
    const counter = authzDecisionCounter(context.metrics);
    // As Istio applies ALLOW policies: once the workload is STRICT (defaultDeny) or any enforcing
    // policy selects it or its assets, what no enforcing policy allowed is denied, a request that
    // matches no asset included. A dry-run policy never allows.
    const denyByDefault = config.defaultDeny || config.policies.some((p) => p.mode !== 'dry-run');
    const plan = (asset: AuthzAssetConfig | undefined, policies: CompiledPolicy[]): Plan => {
      const label = asset?.name ?? '';
      const denies = denyByDefault && !policies.some((p) => !p.dryRun);
      return {
        asset,
        policies,
        counts: policies.map((p) => counter.forPolicy(p.name, label)),
        defaultDenyCounts: counter.forPolicy(DEFAULT_DENY_POLICY, label),
        defaultDenyReason: !denies ? undefined : asset === undefined ? 'no asset matches this request' : 'no policy targets this asset',
      };
    };
    const forWorkload = config.policies.filter((p) => targetsWorkload(p, context.workload, config.workloadLabels));
    for (const asset of config.assets) {
      const own = config.policies.filter((p) => targetsAsset(p, asset));
      this.plans.set(asset, plan(asset, [...own, ...forWorkload.filter((p) => !own.includes(p))].map((p) => compiled.get(p)!)));
    }
    this.unmatched = plan(undefined, forWorkload.map((p) => compiled.get(p)!));
    this.matcher = new AssetMatcher(config.assets);
    this.inputContext = {
      destinationPrincipal: context.localPrincipal,
      workload: { name: context.workload, namespace: context.namespace, labels: config.workloadLabels },
    };
    this.log = new DecisionLog(context.logOut, config.decisionLogSampleRate, context.metrics.recentDecisions);
  }

  private assetOf(exchange: FilterExchange): AuthzAssetConfig | undefined {
    const path = exchange.path;
    const queryAt = path.indexOf('?');
    return this.matcher.match(exchange.method, queryAt === -1 ? path : path.slice(0, queryAt), exchange.authority);
  }

  decodeHeaders(exchange: FilterExchange): HeadersOutcome {
    const asset = this.assetOf(exchange);
    const plan = asset === undefined ? this.unmatched : this.plans.get(asset)!;
    if (plan.policies.length === 0) return this.defaultDecision(exchange, plan);
    const buffering = asset?.requestBody;
    if (buffering === undefined) return this.decide(exchange, plan, buildInput(exchange, this.inputContext, asset));
    // gRPC bodies are not buffered: their messages are framed protobuf, not what policies parse.
    if (!isGrpcContentType(headerValue(exchange.requestHeaders, 'content-type'))) {
      // The chain holds the request until decodeData decided on the body (or answers 413).
      return bufferBody(buffering.maxBytes, buffering.allowPartial);
    }
    if (buffering.decideGrpcWithoutBody) return this.decide(exchange, plan, buildInput(exchange, this.inputContext, asset));
    plan.defaultDenyCounts.inc('deny');
    this.write(exchange, plan, DEFAULT_DENY_POLICY, 'deny', [], noRules, grpcBodyUnreadable, 0);
    return { code: 'AUTHZ_BODY_UNREADABLE', detail: grpcBodyUnreadable };
  }

  /** Only for an asset that buffers the body: decodeHeaders asked for it. */
  decodeData(exchange: FilterExchange, data: BodyData): FilterOutcome {
    // Nothing ran between decodeHeaders and this call: the match is the same.
    const asset = this.assetOf(exchange)!;
    const body = bodyInput({ bytes: data.bytes, complete: data.end }, asset.requestBody!.maxBytes, exchange.requestHeaders);
    return this.decide(exchange, this.plans.get(asset)!, buildInput(exchange, this.inputContext, asset, body));
  }

  private decide(exchange: FilterExchange, plan: Plan, input: Record<string, unknown>): FilterOutcome {
    const budgetMs = this.config.decisionBudgetMs;
    for (let i = 0; i < plan.policies.length; i++) {
      const policy = plan.policies[i]!;
      const counts = plan.counts[i]!;
      // Explained (which rules decided) only when logged: a sampled allow asks up front; a denial
      // is evaluated once more with explain when its log line is written, after the reply.
      const logAllow = this.log.sampleAllow();
      const started = performance.now();
      let result: EvaluationResult;
      let decision: PolicyDecision;
      try {
        // The engine cancels an evaluation at the budget (eval_cancel_error), checked as it runs.
        result = policy.policySet.evaluate(policy.entrypoint, logAllow ? { input, timeoutMs: budgetMs, explain: true } : { input, timeoutMs: budgetMs });
        if (!result.defined) throw new DecisionShapeError(`${policy.entrypoint} is undefined`);
        decision = readDecision(result.value);
      } catch (error) {
        const elapsedUs = (performance.now() - started) * 1000;
        const reason = error instanceof Error ? error.message : String(error);
        counts.inc('error');
        this.write(exchange, plan, policy.name, 'error', policy.entrypointRules, noRules, reason, elapsedUs);
        if (policy.dryRun) continue;
        if (error instanceof BodyUnreadableError) return { code: 'AUTHZ_BODY_UNREADABLE', detail: reason, overrides: this.deniedByHeaders(policy.name, undefined) };
        return { code: 'AUTHZ_ERROR', overrides: this.deniedByHeaders(policy.name, undefined) };
      }
      const elapsedUs = (performance.now() - started) * 1000;
      const rules = decision.rules.length === 0 ? policy.entrypointRules : [policy.entrypoint, ...decision.rules];
      if (!decision.allowed) {
        const outcome = policy.dryRun ? 'dry_run_deny' : 'deny';
        counts.inc(outcome);
        this.write(exchange, plan, policy.name, outcome, rules, result.decisions ?? (() => explain(policy, input, budgetMs)), decision.reason, elapsedUs);
        if (policy.dryRun) continue;
        return this.denial(policy.name, decision, decision.reason);
      }
      counts.inc('allow');
      if (logAllow) this.write(exchange, plan, policy.name, 'allow', rules, result.decisions ?? noRules, decision.reason, elapsedUs);
      if (!policy.dryRun) this.applyAllow(exchange, decision);
    }
    return this.defaultDecision(exchange, plan);
  }

  /** What a request gets that no enforcing policy decided: the plan's default-deny, or through. */
  private defaultDecision(exchange: FilterExchange, plan: Plan): FilterOutcome {
    const reason = plan.defaultDenyReason;
    if (reason === undefined) return CONTINUE;
    plan.defaultDenyCounts.inc('deny');
    this.write(exchange, plan, DEFAULT_DENY_POLICY, 'deny', [], noRules, reason, 0);
    return this.denial(DEFAULT_DENY_POLICY, undefined, reason);
  }

  encodeHeaders(exchange: FilterExchange): FilterOutcome {
    const add = this.responseHeadersToAdd.get(exchange);
    if (add !== undefined) exchange.responseHeaders?.push(...add);
    return CONTINUE;
  }

  private applyAllow(exchange: FilterExchange, decision: PolicyDecision): void {
    const headers = exchange.requestHeaders;
    for (const name of decision.requestHeadersToRemove) removeHeader(headers, name);
    for (let i = 0; i < decision.headers.length; i += 2) {
      removeHeader(headers, decision.headers[i]!);
      headers.push(decision.headers[i]!, decision.headers[i + 1]!);
    }
    if (decision.responseHeadersToAdd.length > 0) {
      const previous = this.responseHeadersToAdd.get(exchange) ?? [];
      this.responseHeadersToAdd.set(exchange, [...previous, ...decision.responseHeadersToAdd]);
    }
  }

  private denial(policy: string, decision: PolicyDecision | undefined, reason: string | undefined): LocalReplyOutcome {
    const status = decision?.httpStatus;
    return {
      code: status === 401 ? 'AUTHZ_UNAUTHENTICATED' : 'AUTHZ_DENIED',
      ...(reason === undefined ? {} : { detail: reason }),
      overrides: {
        ...(status === undefined ? {} : { status }),
        ...(decision?.body === undefined ? {} : { body: decision.body }),
        ...this.deniedByHeaders(policy, decision?.headers),
      },
    };
  }

  private deniedByHeaders(policy: string, headers: readonly string[] | undefined): { headers?: readonly string[] } {
    if (!this.config.deniedByHeader) return headers === undefined ? {} : { headers };
    return { headers: [...(headers ?? []), deniedByHeader, policy] };
  }

  private write(
    exchange: FilterExchange,
    plan: Plan,
    policy: string,
    decision: DecisionOutcome,
    rules: readonly string[],
    decidedBy: DecisionRecord['decidedBy'],
    reason: string | undefined,
    evaluationUs: number,
  ): void {
    this.log.write({
      requestId: exchange.requestId,
      principal: exchange.sourcePrincipal,
      asset: plan.asset?.name,
      policy,
      decision,
      rules,
      decidedBy,
      reason,
      evaluationUs,
    });
  }
}

export const authzFilter: HttpFilterFactory = {
  name: 'authz',
  configSchema: authzConfigSchema,
  terminal: false,
  create: (config, context) => new AuthzFilter(config as unknown as AuthzConfig, context),
};
