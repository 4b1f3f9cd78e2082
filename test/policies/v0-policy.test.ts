import { describe, expect, it } from 'vitest';
import { compile } from '../../policies/index.js';

// An admission policy in the style of many real v0 policies: partial sets of messages, imports
// with aliases, else chains, functions with several bodies, comprehensions and `not`.
const admission = `package kubernetes.admission

import data.kubernetes.namespaces
import input.request.object as obj

deny[msg] {
  input.request.kind.kind == "Pod"
  image := obj.spec.containers[_].image
  not startswith(image, "hooli.com/")
  msg := sprintf("image '%v' comes from untrusted registry", [image])
}

deny[msg] {
  some i
  c := obj.spec.containers[i]
  not c.resources.limits.memory
  msg = sprintf("container %v has no memory limit", [c.name])
}

warn[msg] { count(deny) > 1; msg := "many problems" }

labels[k] = v { v := obj.metadata.labels[k]; k != "secret" }

is_admin(user) { user == "root" }
is_admin(user) { data.admins[user] }

allowed_user = true { is_admin(input.user) } else = false { true }

ns_ok { namespaces[obj.metadata.namespace] }

default score = 0
score = s { s := sum([x | x := obj.spec.containers[_].weight]) }

violation[{"msg": m, "details": d}] { m := deny[_]; d := {"n": count(deny)} }

q[x] { x := input.list[_]; not exclude[x] }
exclude["b"]

contains(xs, x) { xs[_] == x }
has_a { contains(input.list, "a") }
`;

describe('a v0 admission policy', () => {
  it('evaluates the whole package document as OPA does', () => {
    const policy = compile([{ file: 'admission.rego', source: admission, regoVersion: 0 }]);
    const input = {
      user: 'root',
      list: ['a', 'b', 'c'],
      request: {
        kind: { kind: 'Pod' },
        object: {
          metadata: { namespace: 'prod', labels: { app: 'x', secret: 'y' } },
          spec: {
            containers: [
              { name: 'a', image: 'evil.com/x', weight: 2 },
              { name: 'b', image: 'hooli.com/y', resources: { limits: { memory: '1Gi' } }, weight: 3 },
            ],
          },
        },
      },
    };
    const data = { kubernetes: { namespaces: { prod: {} } }, admins: { alice: true } };
    const deny = ['container a has no memory limit', "image 'evil.com/x' comes from untrusted registry"];
    expect(policy.evaluate('data.kubernetes.admission', { input, data, strict: true }).value).toEqual({
      deny,
      warn: ['many problems'],
      labels: { app: 'x' },
      allowed_user: true,
      ns_ok: true,
      score: 5,
      violation: deny.map((msg) => ({ msg, details: { n: 2 } })),
      q: ['a', 'c'],
      exclude: ['b'],
      has_a: true,
    });
    const other = { ...input, user: 'eve', list: [], request: { ...input.request, object: { ...input.request.object, metadata: { namespace: 'dev' } } } };
    const result = policy.evaluate('data.kubernetes.admission', { input: other, data, strict: true }).value as Record<string, unknown>;
    expect(result['allowed_user']).toBe(false);
    expect(result['ns_ok']).toBeUndefined();
    expect(result['has_a']).toBeUndefined();
  });
});
