// The echo gRPC server of test/helpers/grpc-echo.ts on its own thread, so that the benchmark's
// load client does not share an event loop with the server it measures. Posts its port.
import { parentPort } from 'node:worker_threads';
import { startEchoServer } from '../helpers/grpc-echo.js';

const server = await startEchoServer();
parentPort!.postMessage(server.port);
