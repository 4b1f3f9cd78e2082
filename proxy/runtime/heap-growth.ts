// How far V8 lets a sidecar's heap grow past what a full collection left live. A busy sidecar
// promotes each request's short-lived objects (their requests are still in flight at a
// scavenge) and V8's default, up to 4x the live heap, then holds that garbage resident: a gRPC
// sidecar in bench:mesh went from about 30 MB of heap to 90 MB before its next full collection.
// 1.3x keeps it near its live set for about the same CPU (proxy/README.md, "Memory").
import v8 from 'node:v8';

export const SIDECAR_HEAP_GROWING_PERCENT = 30;
const FLAG = '--heap-growing-percent';

/**
 * Sets the heap growing factor for this process unless its operator chose one on the command
 * line (Node refuses this V8 flag in NODE_OPTIONS, so `execArgv` is the only other place).
 * Returns the percent in force when it set one.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): number | undefined {
  // V8 reads `_` and `-` in a flag's name alike.
  const chosen = execArgv.some((arg) => {
    const name = arg.split('=')[0]!.replaceAll('_', '-');
    return name === FLAG;
  });
  if (chosen) return undefined;
  v8.setFlagsFromString(`${FLAG}=${SIDECAR_HEAP_GROWING_PERCENT}`);
  return SIDECAR_HEAP_GROWING_PERCENT;
}
