// The BridgeError a call throws, for tests that look at its code, status and message.
import { BridgeError } from '../../../proxy/filters/bridge/bridge-errors.js';

export function bridgeError(call: () => unknown): BridgeError {
  try {
    call();
  } catch (error) {
    if (error instanceof BridgeError) return error;
    throw error;
  }
  throw new Error('expected a BridgeError');
}
