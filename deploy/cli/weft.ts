#!/usr/bin/env node
// The `weft` command: a table of subcommands, each a module loaded only when named, so that
// `weft proxy` never loads the control plane and the other way round.
import { runCommand, type CommandTable } from './run-command.js';

const commands: CommandTable = {
  proxy: { summary: 'run one sidecar proxy', load: () => import('../../proxy/cli.js') },
  'control-plane': {
    summary: 'run the control plane',
    load: () => import('../../control-plane/cli.js'),
  },
  apply: {
    summary: 'apply resources to the control plane (whole change or nothing)',
    load: () => import('../../control-plane/cli/apply-cli.js'),
  },
  get: { summary: 'show resources the control plane runs', load: () => import('../../control-plane/cli/get-cli.js') },
  delete: { summary: 'delete resources from the control plane', load: () => import('../../control-plane/cli/delete-cli.js') },
  status: {
    summary: 'show connected sidecars, their revisions and NACKs',
    load: () => import('../../control-plane/cli/status-cli.js'),
  },
  policy: {
    summary: 'evaluate, test and check Rego policies',
    load: () => import('../../policies/cli.js'),
  },
  token: {
    summary: 'mint bootstrap tokens for new sidecars',
    load: () => import('../../control-plane/ca/token-cli.js'),
  },
  injector: {
    summary: 'the Kubernetes admission webhook that injects sidecars, and its certificate',
    load: () => import('../kubernetes/injection/injector-cli.js'),
  },
  inject: { summary: 'inject the sidecar into Kubernetes YAML offline', load: () => import('../kubernetes/injection/inject-cli.js') },
  iptables: { summary: "redirect a pod's TCP through its sidecar (the injected init container)", load: () => import('../kubernetes/interception/iptables-cli.js') },
  up: { summary: 'run a whole mesh on this machine', load: () => import('../local/up-cli.js') },
  sim: { summary: 'simulate model servers (vllm) for inference routing', load: () => import('../sim/sim-cli.js') },
};

process.exitCode = await runCommand('weft', commands, process.argv.slice(2));
