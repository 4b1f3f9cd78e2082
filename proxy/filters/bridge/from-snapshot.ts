// The bridge filter's part of a control-plane snapshot: one bridge per LegacyBridge resource the
// control plane sent this sidecar (those whose hosts name its workload). A sidecar cannot read
// the control plane's files, so a WSDL given as a relative location is the app's own: it is read
// from the app behind this sidecar (`CustomerService?wsdl` -> http://127.0.0.1:<app port>/CustomerService?wsdl).
import type { Snapshot } from '../../xds/snapshot.js';
import type { InboundListenerFacts } from '../http-filter.js';

const ABSOLUTE = /^([a-z][a-z0-9+.-]*:|\/)/i;

export function bridgeConfigFromSnapshot(snapshot: Snapshot, inbound: InboundListenerFacts): Record<string, unknown> | undefined {
  if (snapshot.legacyBridges.length === 0) return undefined;
  return {
    bridges: snapshot.legacyBridges.map(({ metadata, spec }) => ({
      name: metadata.name,
      ...spec,
      ...(spec.soap === undefined || ABSOLUTE.test(spec.soap.wsdl) ? {} : { soap: { ...spec.soap, wsdl: `http://127.0.0.1:${inbound.appPort}/${spec.soap.wsdl}` } }),
    })),
  };
}
