// Every builtin family, registered explicitly. Operators are builtins too, under OPA's names
// (`x + y` is `plus`, `x == y` is `equal`, `a | b` is `or`), so the evaluator calls them here.
import { aggregateBuiltins } from './aggregates.js';
import { arithmeticBuiltins } from './arithmetic.js';
import { arrayBuiltins } from './arrays.js';
import { awsSignBuiltins } from './aws-sign.js';
import { bitBuiltins } from './bits.js';
import { comparisonBuiltins } from './comparison.js';
import { conversionBuiltins } from './conversions.js';
import { cryptoBuiltins } from './crypto.js';
import { deprecatedBuiltins } from './deprecated.js';
import { encodingBuiltins } from './encoding.js';
import { globBuiltins } from './glob.js';
import { graphBuiltins } from './graph.js';
import { graphqlBuiltins } from './graphql.js';
import { jsonDocumentBuiltins } from './json-documents.js';
import { netBuiltins } from './net.js';
import { numberBuiltins } from './numbers.js';
import { jsonSchemaBuiltins } from './json-schema.js';
import { jwtBuiltins } from './jwt.js';
import { jwtSignBuiltins } from './jwt-sign.js';
import { objectBuiltins } from './objects.js';
import { privateKeyBuiltins } from './private-keys.js';
import { BuiltinRegistry } from './registry.js';
import { regexBuiltins } from './regex.js';
import { semverBuiltins } from './semver.js';
import { setBuiltins } from './sets.js';
import { sprintfBuiltins } from './sprintf.js';
import { stringBuiltins } from './strings.js';
import { templateBuiltins } from './template.js';
import { timeBuiltins } from './time.js';
import { tracingBuiltins } from './tracing.js';
import { typeBuiltins } from './types.js';
import { unitBuiltins } from './units.js';
import { uuidBuiltins } from './uuid.js';
import { x509Builtins } from './x509.js';
import { x509RequestBuiltins } from './x509-requests.js';

export { deprecatedBuiltinNames } from './deprecated.js';

export interface StandardBuiltinOptions {
  /**
   * Also register OPA's deprecated v0 builtins (any, all, set_diff, cast_*, net.cidr_overlap).
   * Off by default: Rego v1 must not see them, so a registry shared by v1 modules needs the
   * compiler to refuse `deprecatedBuiltinNames` in v1 modules before this is turned on.
   */
  readonly deprecated?: boolean;
}

export function createStandardBuiltins(options: StandardBuiltinOptions = {}): BuiltinRegistry {
  const registry = new BuiltinRegistry()
    .register(...comparisonBuiltins)
    .register(...arithmeticBuiltins)
    .register(...numberBuiltins)
    .register(...aggregateBuiltins)
    .register(...arrayBuiltins)
    .register(...setBuiltins)
    .register(...objectBuiltins)
    .register(...jsonDocumentBuiltins)
    .register(...jsonSchemaBuiltins)
    .register(...stringBuiltins)
    .register(...sprintfBuiltins)
    .register(...templateBuiltins)
    .register(...regexBuiltins)
    .register(...globBuiltins)
    .register(...timeBuiltins)
    .register(...encodingBuiltins)
    .register(...cryptoBuiltins)
    .register(...jwtBuiltins)
    .register(...jwtSignBuiltins)
    .register(...x509Builtins)
    .register(...x509RequestBuiltins)
    .register(...awsSignBuiltins)
    .register(...privateKeyBuiltins)
    .register(...netBuiltins)
    .register(...unitBuiltins)
    .register(...semverBuiltins)
    .register(...uuidBuiltins)
    .register(...typeBuiltins)
    .register(...graphBuiltins)
    .register(...graphqlBuiltins)
    .register(...bitBuiltins)
    .register(...tracingBuiltins)
    .register(...conversionBuiltins)
    .refuse('http.send', 'http.send is not offered in the sidecar: policies must decide from input and data alone')
    .refuse('net.lookup_ip_addr', 'net.lookup_ip_addr is not offered in the sidecar: policies must not depend on DNS')
    .refuse('opa.runtime', "opa.runtime is not offered in the sidecar: its environment and configuration are not policy input");
  return options.deprecated === true ? registry.register(...deprecatedBuiltins) : registry;
}
