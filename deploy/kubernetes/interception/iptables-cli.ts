// `weft iptables`: sets up (or with --cleanup removes) the transparent interception of a pod's
// TCP traffic, like istio-iptables. Runs as root with NET_ADMIN in the pod's network namespace
// (the injected weft-interception init container), once, before the app starts.
import { parseArgs } from 'node:util';
import { IPTABLES_BACKENDS, restoreNat, saveNat } from './iptables-backend.js';
import { interceptionRules, natTableWith, natTableWithout } from './iptables-rules.js';
import { DEFAULT_PLAN, interceptionPlan, InterceptionPlanError } from './interception-plan.js';

export const usage = `usage: weft iptables [options]

Redirects this network namespace's inbound TCP to the sidecar's inbound port and its outbound
TCP to the sidecar's outbound port (nat table, chains WEFT_*), except: the sidecar's own UID,
loopback, the excluded inbound ports (the admin port always) and the excluded outbound ports
and CIDRs. Installing twice leaves one set of rules. IPv4 only.

options:
  --inbound-port PORT           default ${DEFAULT_PLAN.inboundPort}
  --outbound-port PORT          default ${DEFAULT_PLAN.outboundPort}
  --proxy-uid UID               the sidecar's UID, never redirected (default ${DEFAULT_PLAN.proxyUid})
  --exclude-inbound-ports LIST  comma-separated ports (${DEFAULT_PLAN.excludeInboundPorts.join(',')} always)
  --exclude-outbound-ports LIST comma-separated ports
  --exclude-outbound-cidrs LIST comma-separated IPv4 CIDRs
  --backend NAME                default (iptables-restore), legacy or nft
  --dry-run                     print the rules (iptables-restore input); change nothing
  --cleanup                     remove weft's chains and rules (with --dry-run: print the nat
                                table that would remain)`;

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'inbound-port': { type: 'string' },
      'outbound-port': { type: 'string' },
      'proxy-uid': { type: 'string' },
      'exclude-inbound-ports': { type: 'string' },
      'exclude-outbound-ports': { type: 'string' },
      'exclude-outbound-cidrs': { type: 'string' },
      backend: { type: 'string', default: 'default' },
      'dry-run': { type: 'boolean', default: false },
      cleanup: { type: 'boolean', default: false },
    },
  });
  const { backend: backendName, 'dry-run': dryRun, cleanup, ...planText } = values;
  const backend = Object.hasOwn(IPTABLES_BACKENDS, backendName) ? IPTABLES_BACKENDS[backendName] : undefined;
  if (backend === undefined) throw usageError(`--backend must be one of ${Object.keys(IPTABLES_BACKENDS).join(', ')}, not ${JSON.stringify(backendName)}`);
  let plan;
  try {
    plan = interceptionPlan(planText);
  } catch (error) {
    if (error instanceof InterceptionPlanError) throw usageError(error.message);
    throw error;
  }
  if (dryRun && !cleanup) {
    process.stdout.write(interceptionRules(plan));
    return 0;
  }
  const saved = await saveNat(backend);
  const table = cleanup ? natTableWithout(saved) : natTableWith(saved, plan);
  if (dryRun) {
    process.stdout.write(table);
    return 0;
  }
  await restoreNat(backend, table);
  process.stdout.write(cleanup ? 'weft iptables: removed\n' : `weft iptables: inbound -> ${plan.inboundPort}, outbound -> ${plan.outboundPort}, uid ${plan.proxyUid} exempt\n`);
  return 0;
}
